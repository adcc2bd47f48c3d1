/*
 * The mta process's modules: the process and its routes (mta.c), DNS
 * (mta_dns.c), the SMTP client (mta_session.c) and the reading of
 * remote replies (mta_reply.c).
 */
#ifndef MTA_H
#define MTA_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <time.h>

struct action;
struct tls_config;

/*
 * A reply line may be 512 octets (RFC 5321 4.5.3.1.5); twice that is
 * taken, anything longer ends the session.  A reply of more lines, or
 * more bytes, than these is hostile or broken and ends it too.
 */
#define MTA_REPLY_LINE_MAX	1024
#define MTA_REPLY_LINES_MAX	100
#define MTA_REPLY_TEXT_MAX	256	/* what is kept: ENVELOPE_ERRMAX */

struct mta_reply {
	int		 code;		/* 0 until the first line */
	int		 done;
	size_t		 nlines;
	char		 text[MTA_REPLY_TEXT_MAX];	/* printable only */
};

/* mta_reply.c */
void	mta_reply_reset(struct mta_reply *);
int	mta_reply_line(struct mta_reply *, const char *, size_t);
void	mta_sanitize(char *, size_t, const char *, size_t);

/* One recipient of a transfer, and what became of it. */
struct mta_rcpt {
	uint64_t	 evpid;
	char		 addr[256];
	char		 notify[64];
	char		 orcpt[512];
	int		 status;	/* DELIVERY_*, -1 undecided */
	int		 accepted;	/* RCPT got 2xx in this transaction */
	char		 err[MTA_REPLY_TEXT_MAX];
};

struct mta_route;

/* One message for one destination: recipients that go together. */
struct mta_task {
	TAILQ_ENTRY(mta_task)	 entry;
	struct mta_route	*route;
	uint32_t		 msgid;
	int			 fd;
	off_t			 size;
	char			 sender[256];
	char			 ret[64];
	char			 envid[256];
	struct mta_rcpt		*rcpts;
	size_t			 nrcpts;
};
TAILQ_HEAD(mta_tasklist, mta_task);

/* A host of a route, one address of it. */
struct mta_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 name[256];	/* the MX host's name */
	int			 pref;
};

/* mta_dns.c: a destination's hosts, by preference, or why there are none. */
#define MTA_DNS_OK		0
#define MTA_DNS_TEMPFAIL	1
#define MTA_DNS_PERMFAIL	2
#define MTA_DNS_NULLMX		3
#define MTA_MX_MAX		16

typedef void (*mta_dns_cb)(void *, int, const char *, struct mta_addr *,
    size_t);

void	mta_dns_init(void);
void	mta_dns_resolve(const char *, int, int, in_port_t, mta_dns_cb,
	    void *);

/* mta.c, for sessions */
struct mta_session;
struct mta_task		*mta_route_next_task(struct mta_route *);
const struct mta_addr	*mta_route_next_addr(struct mta_route *, size_t *);
const struct action	*mta_route_action(struct mta_route *);
const char		*mta_route_name(struct mta_route *);
void			 mta_route_gone_addr(struct mta_route *,
			    const struct mta_addr *);
void			 mta_host_failed(const struct mta_addr *, const char *);
void			 mta_host_ok(const struct mta_addr *);
void			 mta_task_done(struct mta_task *, const char *);
void			 mta_session_gone(struct mta_route *,
			    const struct mta_addr *, int, const char *);
const char		*mta_credentials(const struct action *);
struct tls_config	*mta_tls_config(int);

void			 mta_route_idle(struct mta_route *,
			    struct mta_session *, int);

/* mta_session.c */
void	mta_session_start(struct mta_route *);
void	mta_session_wake(struct mta_session *);

#endif
