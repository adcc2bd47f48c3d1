/*
 * The users delivery agents become, remembered by the parent for a
 * minute.  Each delivery needs the user's ids, home and groups; asking
 * NSS for them every time (passwd, group, and whatever modules
 * nsswitch.conf names) costs more than writing the message.  A user
 * changed in /etc/passwd is seen within a minute.  The users of a
 * userbase table are not kept: the table is in memory already.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtpd.h"
#include "mda.h"

#define USER_TTL	60
#define USER_CACHE_MAX	1024

struct mda_user_entry {
	RB_ENTRY(mda_user_entry)	 node;
	struct mda_user			 u;
	time_t				 expires;
};

RB_HEAD(mda_users, mda_user_entry);
static int
mda_user_cmp(struct mda_user_entry *a, struct mda_user_entry *b)
{
	return strcmp(a->u.name, b->u.name);
}
RB_GENERATE_STATIC(mda_users, mda_user_entry, node, mda_user_cmp);
static struct mda_users	 users = RB_INITIALIZER(&users);
static size_t		 nusers;

static void
mda_user_flush(void)
{
	struct mda_user_entry	*e;

	while ((e = RB_ROOT(&users)) != NULL) {
		RB_REMOVE(mda_users, &users, e);
		free(e);
	}
	nusers = 0;
}

static struct mda_user_entry *
mda_user_fill(const char *name)
{
	struct mda_user_entry	*e;
	struct passwd		*pw;
	int			 n;

	if ((pw = getpwnam(name)) == NULL)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("calloc");
	if (strlcpy(e->u.name, pw->pw_name, sizeof(e->u.name)) >=
	    sizeof(e->u.name) ||
	    strlcpy(e->u.dir, pw->pw_dir, sizeof(e->u.dir)) >=
	    sizeof(e->u.dir)) {
		free(e);
		return NULL;
	}
	e->u.uid = pw->pw_uid;
	e->u.gid = pw->pw_gid;
	n = MDA_GROUPS_MAX;
	if (getgrouplist(e->u.name, e->u.gid, e->u.groups, &n) == -1) {
		/* More groups than we keep: the first ones will do. */
		n = MDA_GROUPS_MAX;
	}
	e->u.ngroups = n;
	return e;
}

/* The user, from the cache or from NSS; NULL if there is none. */
const struct mda_user *
mda_user_get(const char *name)
{
	static struct mda_user	 spare;
	struct mda_user_entry	 key, *e;
	time_t			 now = time(NULL);

	if (strlcpy(key.u.name, name, sizeof(key.u.name)) >=
	    sizeof(key.u.name))
		return NULL;
	if ((e = RB_FIND(mda_users, &users, &key)) != NULL) {
		if (e->expires > now)
			return &e->u;
		RB_REMOVE(mda_users, &users, e);
		free(e);
		nusers--;
	}
	if ((e = mda_user_fill(name)) == NULL)
		return NULL;
	/* Found by another name (an NSS alias): answered, not kept. */
	if (strcmp(e->u.name, name) != 0) {
		spare = e->u;
		free(e);
		return &spare;
	}
	if (nusers >= USER_CACHE_MAX)
		mda_user_flush();
	e->expires = now + USER_TTL;
	RB_INSERT(mda_users, &users, e);
	nusers++;
	return &e->u;
}

/*
 * A user of userbase table name, who has no account: the table gives
 * the ids and the home, and the only group is the user's own.  The
 * table is read again first if its file changed: lookup may have been
 * told to with smtpctl update table, and whom it accepts now must be
 * known here too.
 * NULL when there is no such user; err is then empty, or says why the
 * entry is refused.
 */
const struct mda_user *
mda_user_userbase(const char *name, const char *user, char *err,
    size_t errlen)
{
	static struct mda_user	 u;
	struct userbase_user	 ub;
	struct table		*t;
	char			 why[256];

	err[0] = '\0';
	if ((t = table_find(&env->tables, name)) == NULL) {
		snprintf(err, errlen, "no userbase table %s", name);
		return NULL;
	}
	if (table_changed(t) && table_reload(t, why, sizeof(why)) == -1)
		log_warnx("mda: userbase %s: %s: keeping what was read "
		    "before", name, why);
	switch (userbase_get(t, user, &ub, why, sizeof(why))) {
	case 0:
		return NULL;
	case -1:
		snprintf(err, errlen, "userbase %s: %s: entry refused", name,
		    why);
		return NULL;
	}
	memset(&u, 0, sizeof(u));
	if (strlcpy(u.name, user, sizeof(u.name)) >= sizeof(u.name))
		return NULL;
	strlcpy(u.dir, ub.home, sizeof(u.dir));
	u.uid = ub.uid;
	u.gid = ub.gid;
	u.groups[0] = ub.gid;
	u.ngroups = 1;
	return &u;
}

/* A struct passwd for the functions that take one, pointing into u. */
void
mda_user_passwd(const struct mda_user *u, struct passwd *pw)
{
	memset(pw, 0, sizeof(*pw));
	pw->pw_name = (char *)u->name;
	pw->pw_dir = (char *)u->dir;
	pw->pw_uid = u->uid;
	pw->pw_gid = u->gid;
	pw->pw_shell = "/bin/sh";
	pw->pw_passwd = "*";
	pw->pw_gecos = "";
}
