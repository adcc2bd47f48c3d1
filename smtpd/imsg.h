/*
 * imsg: framed messages between the processes of smtpd, and between
 * smtpctl and the control process.  A message is a fixed header followed
 * by at most IMSG_MAXPAYLOAD bytes of payload; a file descriptor may ride
 * along with it over SCM_RIGHTS.  Payloads are built with the imsg_add_*
 * writers and read back with the imsg_get_* readers, which check every
 * length; imsg_end() tells whether the whole payload was read exactly.
 * A message sent with a descriptor that the receiver had no room for
 * arrives with IMSGF_HASFD in its header and fd -1: see imsg_fd_lost().
 */
#ifndef IMSG_H
#define IMSG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define IMSG_MAXPAYLOAD		16384
#define IMSG_HDRSIZE		sizeof(struct imsg_hdr)
#define IMSG_MAXFDS		16
#define IMSGF_HASFD		0x1

/* Sent with a descriptor that did not arrive. */
#define imsg_fd_lost(m)	(((m)->hdr.flags & IMSGF_HASFD) && (m)->fd == -1)

struct imsg_hdr {
	uint32_t	type;
	uint32_t	len;		/* payload only */
	uint32_t	peerid;
	uint16_t	flags;
	uint16_t	pad;
	uint32_t	pid;
};

struct imsg {
	struct imsg_hdr	 hdr;
	int		 fd;		/* -1 when none came with it */
	uint8_t		*data;
	size_t		 len;
	size_t		 rpos;
	int		 error;		/* a reader failed */
};

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	uint8_t			*buf;
	size_t			 size;		/* allocated */
	size_t			 len;
	size_t			 wpos;
	int			 fd;
	int			 error;
};

struct imsgbuf {
	int			 fd;
	pid_t			 pid;
	uint8_t			*rbuf;
	size_t			 rlen;
	uint64_t		 roff;		/* stream offset of rbuf[0] */
	int			 fds[IMSG_MAXFDS];
	uint64_t		 fdend[IMSG_MAXFDS];	/* where each came */
	int			 nfds;
	TAILQ_HEAD(, ibuf)	 wq;
	size_t			 wqlen;
};

void	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_clear(struct imsgbuf *);
ssize_t	 imsgbuf_read(struct imsgbuf *);
int	 imsgbuf_flush(struct imsgbuf *);

/* Room for one descriptor in the control data of a sendmsg(2). */
union imsg_fdbuf {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(sizeof(int))];
};
void	 imsg_fd_attach(struct msghdr *, union imsg_fdbuf *, int);
int	 imsgbuf_pending(struct imsgbuf *);
int	 imsg_get(struct imsgbuf *, struct imsg *);
void	 imsg_free(struct imsg *);

struct ibuf	*imsg_create(uint32_t, uint32_t, int);
void	 imsg_add_data(struct ibuf *, const void *, size_t);
void	 imsg_add_u8(struct ibuf *, uint8_t);
void	 imsg_add_u32(struct ibuf *, uint32_t);
void	 imsg_add_u64(struct ibuf *, uint64_t);
void	 imsg_add_string(struct ibuf *, const char *);
int	 imsg_close(struct imsgbuf *, struct ibuf *);
int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, int,
	    const void *, size_t);

uint8_t	 imsg_get_u8(struct imsg *);
uint32_t imsg_get_u32(struct imsg *);
uint64_t imsg_get_u64(struct imsg *);
void	 imsg_get_data(struct imsg *, void *, size_t);
void	 imsg_get_string(struct imsg *, char *, size_t);
int	 imsg_end(struct imsg *);

#endif
