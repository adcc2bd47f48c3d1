/*
 * The pure part of the auth process: checking a user name and password
 * against a credentials table, and limiting the rate of failures per
 * client network and per user.  Nothing here does I/O or keeps time itself, so the
 * unit tests can drive it directly.
 */
#ifndef AUTH_CREDS_H
#define AUTH_CREDS_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "../lookup/lookup.h"

#define AUTH_USER_MAX		255	/* bytes, without the NUL */
#define AUTH_PASSWORD_MAX	1024
#define AUTH_WINDOW		(15 * 60)	/* seconds */
#define AUTH_DELAY_STEPS	5	/* the delay stops growing here */
#define AUTH_LIMITER_MAX	10000	/* networks, and users, tracked */

/* What limiter_blocked() says. */
#define LIMITER_OK		0
#define LIMITER_NETWORK		1	/* the client's network failed */
#define LIMITER_USER		2	/* the user's password was guessed */

/* What creds_check() found wrong with an entry. */
enum creds_problem {
	CREDS_BAD_HASH,		/* not bcrypt, yescrypt or sha-crypt */
	CREDS_BAD_USER,		/* empty, too long, or with a ':' */
	CREDS_DUPLICATE,	/* the user has more than one entry */
};

typedef void (*creds_report_fn)(const char *, enum creds_problem, void *);

int	creds_init(struct table *);
int	creds_hash_usable(const char *);
size_t	creds_check(struct table *, creds_report_fn, void *);
int	creds_verify(struct table *, const char *, const char *);

struct auth_limiter;

struct auth_limiter	*limiter_new(size_t, size_t, int, size_t);
void			 limiter_free(struct auth_limiter *);
int			 limiter_blocked(struct auth_limiter *, const char *,
			    const char *, time_t);
int			 limiter_failure(struct auth_limiter *, const char *,
			    const char *, time_t);
void			 limiter_success(struct auth_limiter *, const char *);
size_t			 limiter_net_failures(struct auth_limiter *,
			    const char *, time_t);
size_t			 limiter_user_failures(struct auth_limiter *,
			    const char *, time_t);
size_t			 limiter_count(const struct auth_limiter *);

#endif
