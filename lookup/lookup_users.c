/*
 * The system's users, as the lookup process sees them, remembered for
 * a minute: every local recipient is looked up, and asking NSS each
 * time (nsswitch.conf, then /etc/passwd read and parsed whole) costs
 * more than the rest of judging it.  A name that is no user is kept
 * too, so that a client trying names cannot make each one cost that;
 * the cache is emptied when it holds LOOKUP_USERS_MAX names.  A user
 * added or removed is seen within a minute, as the parent sees users
 * at delivery (smtpd/mda_user.c).
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../smtpd/smtpd.h"
#include "lookup_session.h"

#define LOOKUP_USERS_TTL	60
#define LOOKUP_USERS_MAX	4096

struct lookup_user_entry {
	RB_ENTRY(lookup_user_entry)	 node;
	char				 key[ENVELOPE_NAMEMAX];
	struct lookup_user		 u;
	int				 found;
	time_t				 expires;
};

RB_HEAD(lookup_users, lookup_user_entry);
static int
lookup_user_cmp(struct lookup_user_entry *a, struct lookup_user_entry *b)
{
	return strcmp(a->key, b->key);
}
RB_GENERATE_STATIC(lookup_users, lookup_user_entry, node, lookup_user_cmp);
static struct lookup_users	 users = RB_INITIALIZER(&users);
static size_t			 nusers;

static void
lookup_users_flush(void)
{
	struct lookup_user_entry	*e;

	while ((e = RB_ROOT(&users)) != NULL) {
		RB_REMOVE(lookup_users, &users, e);
		free(e);
	}
	nusers = 0;
}

/* The user of that name, or NULL when there is none. */
const struct lookup_user *
lookup_user_get(const char *name)
{
	struct lookup_user_entry	 key, *e;
	struct passwd			*pw;
	time_t				 now = time(NULL);

	if (strlcpy(key.key, name, sizeof(key.key)) >= sizeof(key.key))
		return NULL;
	if ((e = RB_FIND(lookup_users, &users, &key)) != NULL) {
		if (e->expires > now)
			return e->found ? &e->u : NULL;
		RB_REMOVE(lookup_users, &users, e);
		free(e);
		nusers--;
	}
	if (nusers >= LOOKUP_USERS_MAX)
		lookup_users_flush();
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("calloc");
	strlcpy(e->key, name, sizeof(e->key));
	if ((pw = getpwnam(name)) != NULL &&
	    strlcpy(e->u.name, pw->pw_name, sizeof(e->u.name)) <
	    sizeof(e->u.name)) {
		e->u.uid = pw->pw_uid;
		e->found = 1;
	}
	e->expires = now + LOOKUP_USERS_TTL;
	RB_INSERT(lookup_users, &users, e);
	nusers++;
	return e->found ? &e->u : NULL;
}
