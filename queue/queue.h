/*
 * The queue: the on-disk store of messages and their envelopes, and
 * the envelope text format.  Linked into smtpd (the queue process) and
 * into the unit tests.  Paths are relative to the spool, which is the
 * queue process's root (chroot) or working directory.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/types.h>

#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define ENVELOPE_VERSION	1
#define ENVELOPE_ADDRMAX	256
#define ENVELOPE_NAMEMAX	64
#define ENVELOPE_HOSTMAX	256
#define ENVELOPE_ERRMAX		256
#define ENVELOPE_ORCPTMAX	512
#define ENVELOPE_TARGETMAX	1024
#define ENVELOPE_SUMMAX		40	/* "SIZE SUM" of the message */

/*
 * The latest creation time an envelope may carry (9999-12-31), so that
 * its age and its expiry can be computed without overflow.
 */
#define ENVELOPE_TIME_MAX	253402300799LL

/* One recipient of one message. */
struct envelope {
	uint64_t	 id;		/* msgid << 32 | per-recipient part */
	char		 sender[ENVELOPE_ADDRMAX];
	char		 rcpt[ENVELOPE_ADDRMAX];
	char		 action[ENVELOPE_NAMEMAX];
	char		 user[ENVELOPE_NAMEMAX];
	/*
	 * "" for the action's own delivery; "/path" or "|command" of an
	 * alias or a ~/.forward, which the agent appends to or runs as
	 * user whatever the action; or the address a member forwards to,
	 * which is then also rcpt.
	 */
	char		 target[ENVELOPE_TARGETMAX];
	char		 helo[ENVELOPE_HOSTMAX];
	char		 client[ENVELOPE_HOSTMAX];
	int64_t		 created;	/* 0 to ENVELOPE_TIME_MAX */
	uint32_t	 tries;
	char		 lasterr[ENVELOPE_ERRMAX];
	/* RFC 3461 parameters, as given at MAIL and RCPT ("" when not). */
	char		 dsn_ret[64];		/* FULL or HDRS */
	char		 dsn_envid[ENVELOPE_ADDRMAX];
	char		 dsn_notify[64];	/* NEVER or SUCCESS,FAILURE,... */
	char		 dsn_orcpt[ENVELOPE_ORCPTMAX];
	uint32_t	 warned;		/* a delay notice went out */
	/* The host whose reply is lasterr, for Remote-MTA ("" none). */
	char		 remote_mta[ENVELOPE_HOSTMAX];
	/*
	 * The message's length and file_sum as the queue committed it,
	 * in decimal and 16 hex digits ("" in an envelope committed before
	 * the queue wrote them, and in one not yet committed).
	 */
	char		 message[ENVELOPE_SUMMAX];
};

/*
 * A running check of a file's bytes, so that a file a crash left half
 * written (new bytes in some blocks, a former file's in others) is told
 * from the one that was committed.  It guards against the disk, not
 * against anyone: it is no MAC.
 */
struct file_sum {
	uint64_t	 h;
	uint64_t	 len;
	uint8_t		 tail[8];
	size_t		 ntail;
};

#define envelope_msgid(id)	((uint32_t)((id) >> 32))

enum target_kind {
	TARGET_NONE,
	TARGET_FILE,
	TARGET_COMMAND,
	TARGET_ADDRESS,
};

/* queue_envelope.c */
int	envelope_dump(const struct envelope *, char *, size_t);
int	envelope_load(struct envelope *, const char *, char *, size_t);
enum target_kind envelope_target_kind(const char *);
char	*envelope_pack(const struct envelope *, size_t *);
int	 envelope_unpack(struct envelope *, const char *, size_t);
int	 envelope_message_sum(const struct envelope *, uint64_t *,
	    uint64_t *);
void	 envelope_set_message_sum(struct envelope *, uint64_t, uint64_t);
int	 envelope_seal(char *, size_t, size_t);
int	 envelope_dump_sealed(const struct envelope *, char *, size_t);
const char *envelope_unseal(const char *, size_t, char *, size_t);
void	 file_sum_init(struct file_sum *);
void	 file_sum_add(struct file_sum *, const void *, size_t);
uint64_t file_sum_end(struct file_sum *);

/* queue_bounce.c */
enum bounce_kind {
	BOUNCE_FAILED,
	BOUNCE_DELAYED,
};

int	bounce_wanted(const struct envelope *, enum bounce_kind);
int	bounce_write(FILE *, const struct envelope *, int, enum bounce_kind,
	    const char *, time_t, time_t, int);

/* queue_store.c */
struct store_commit {
	uint32_t		 msgid;
	struct envelope		*envs;	/* their "message" set here */
	size_t			 nenvs;
	int			 status;	/* 0 or an errno */
};

int	store_init(void);
void	store_commit_batch(struct store_commit *, size_t);
int	store_sync(void);
int	store_recover(void);
int	store_message_create(uint32_t *, int *);
int	store_file_finish(int, off_t);
void	store_message_abort(uint32_t);
int	store_message_open(uint32_t);
int	store_envelope_update(const struct envelope *);
int	store_envelope_remove(uint64_t);
int	store_walk(int (*)(const struct envelope *, void *), void *);

#endif
