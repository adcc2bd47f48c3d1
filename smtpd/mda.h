/*
 * Local delivery, run by the parent: one delivery agent per envelope,
 * forked and running as the recipient.
 */
#ifndef MDA_H
#define MDA_H

#include <sys/types.h>

#include <stdint.h>

struct imsg;

void	mda_deliver(struct imsg *);
void	mda_reaped(pid_t, int);
void	mda_shutdown(void);

/* What the agent knows of the envelope it delivers. */
struct mda_envelope {
	uint64_t	 evpid;
	int64_t		 created;
	char		 sender[256];
	char		 rcpt[256];
};

/* The agent's half, which runs in the forked child. */
int	mda_maildir_write(const char *, int, const struct mda_envelope *,
	    const char *, char *, size_t);

#endif
