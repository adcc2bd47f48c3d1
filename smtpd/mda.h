/*
 * Local delivery, run by the parent: delivery agents forked as the
 * recipient, each given a batch of one user's envelopes at a time.
 */
#ifndef MDA_H
#define MDA_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

struct imsg;
struct passwd;

void	mda_deliver(struct imsg *);
void	mda_reaped(pid_t, int);
void	mda_shutdown(void);

/* A user as the parent remembers it (mda_user.c). */
#define MDA_GROUPS_MAX	64
struct mda_user {
	char		 name[LOGIN_NAME_MAX];
	uid_t		 uid;
	gid_t		 gid;
	char		 dir[PATH_MAX];
	gid_t		 groups[MDA_GROUPS_MAX];
	int		 ngroups;
};

struct passwd;
const struct mda_user	*mda_user_get(const char *);
const struct mda_user	*mda_user_userbase(const char *, const char *,
			    char *, size_t);
void			 mda_user_passwd(const struct mda_user *,
			    struct passwd *);

/* What the agent knows of the envelope it delivers. */
struct mda_envelope {
	uint64_t	 evpid;
	int64_t		 created;
	char		 sender[256];
	char		 rcpt[256];
};

/*
 * Reads the queued message a line at a time with pread(2) from offset
 * 0, so the descriptor's own offset does not matter.  A line keeps its
 * LF; the last one may lack it.  Lines may be of any length.
 */
struct mda_reader {
	int		 fd;
	off_t		 off;
	size_t		 pos;
	size_t		 len;
	char		*line;
	size_t		 linecap;
	char		 buf[65536];
};

void	mda_reader_init(struct mda_reader *, int);
ssize_t	mda_reader_line(struct mda_reader *, char **);
void	mda_reader_free(struct mda_reader *);

/*
 * The agent's half, which runs in the forked child.  Each returns a
 * sysexits(3) code and, unless it is EX_OK, says why in its buffer.
 */
int	mda_maildir_write(const char *, int, const struct mda_envelope *,
	    const char *, char *, size_t);
int	mda_mbox_write(const char *, int, const struct mda_envelope *,
	    char *, size_t);
void	mda_mbox_create(const char *, uid_t);
int	mda_command_run(const char *, const struct passwd *, int,
	    const struct mda_envelope *, char *, size_t);
int	mda_lmtp_deliver(const char *, const char *, int,
	    const struct mda_envelope *, const char *, char *, size_t);

/*
 * What an agent reports of each envelope, one datagram each on its
 * socket (mda_record.c).  The report of a batch's last envelope also
 * says that an agent of a box waits for more.
 */
struct mda_record {
	uint64_t	 evpid;
	int32_t		 rc;		/* sysexits(3) */
	uint32_t	 len;		/* the error text that follows */
};
#define MDA_ERR_MAX		512

size_t	mda_record_build(char *, size_t, uint64_t, int, const char *);
int	mda_record_send(int, uint64_t, int, const char *);
int	mda_record_parse(const char *, size_t, struct mda_record *, char *);

/* Also used by the parser to check an lmtp destination. */
int	mda_lmtp_split(const char *, char *, size_t, char *, size_t);

#endif
