/*
 * Local delivery, run by the parent: one delivery agent per envelope,
 * forked and running as the recipient.
 */
#ifndef MDA_H
#define MDA_H

#include <sys/types.h>

struct imsg;

void	mda_deliver(struct imsg *);
void	mda_reaped(pid_t, int);
void	mda_shutdown(void);

/* The agent's half, which runs in the forked child. */
int	mda_maildir_write(const char *, int, const char *, const char *,
	    const char *, char *, size_t);

#endif
