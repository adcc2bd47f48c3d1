/*
 * Userbase tables: users who have no system account, each a key (the
 * user name) with the value "UID:GID:HOME".  The same judgement is made
 * by smtpd -n, by lookup before it accepts a recipient and by the
 * parent before it becomes one, so an entry refused by one is never
 * used by another, even after the file changed under a running smtpd.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"

/*
 * A name lookup can reach: recipients are put in lower case first.  It
 * may also stand for %{user.username} in a mailbox path, so it holds no
 * slash and does not begin with a dot.
 */
static const char *
userbase_bad_name(const char *name)
{
	const char	*p;

	if (name[0] == '\0' || strlen(name) >= USERBASE_NAME_MAX)
		return "name empty or too long";
	if (name[0] == '.')
		return "name begins with a dot";
	for (p = name; *p != '\0'; p++) {
		if (isupper((unsigned char)*p))
			return "name not in lower case";
		if (!isalnum((unsigned char)*p) && strchr("._-+=", *p) == NULL)
			return "name holds a character other than "
			    "letters, digits and . _ - + =";
	}
	return NULL;
}

/*
 * A decimal id from s up to the next colon; *end is left after the
 * colon.  strtonum alone would also take a sign or leading blanks.
 */
static int
userbase_id(const char *s, const char **end, long long *id)
{
	char		 buf[16];
	const char	*errstr;
	size_t		 n;

	for (n = 0; isdigit((unsigned char)s[n]); n++)
		;
	if (n == 0 || n >= sizeof(buf) || s[n] != ':')
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* (uid_t)-1 means "no change" to setresuid(2). */
	*id = strtonum(buf, 0, UINT32_MAX - 1, &errstr);
	if (errstr != NULL)
		return -1;
	*end = s + n + 1;
	return 0;
}

/*
 * Judge the entry of user name, fill u and return 0, or say in err why
 * it is refused and return -1.
 */
int
userbase_parse(const char *name, const char *value, struct userbase_user *u,
    char *err, size_t errlen)
{
	const char	*why, *p, *home;
	long long	 uid, gid;

	if ((why = userbase_bad_name(name)) != NULL) {
		snprintf(err, errlen, "user %s: %s", name, why);
		return -1;
	}
	if (value == NULL || userbase_id(value, &p, &uid) == -1 ||
	    userbase_id(p, &home, &gid) == -1) {
		snprintf(err, errlen, "user %s: not UID:GID:HOME", name);
		return -1;
	}
	/* Mail is never delivered with root's powers. */
	if (uid == 0 || gid == 0) {
		snprintf(err, errlen, "user %s: %s 0 is not allowed", name,
		    uid == 0 ? "uid" : "gid");
		return -1;
	}
	if (home[0] != '/') {
		snprintf(err, errlen, "user %s: home must be an absolute path",
		    name);
		return -1;
	}
	for (p = home; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p))
			break;
	if (*p != '\0' || strlcpy(u->home, home, sizeof(u->home)) >=
	    sizeof(u->home)) {
		snprintf(err, errlen, "user %s: bad home", name);
		return -1;
	}
	u->uid = uid;
	u->gid = gid;
	return 0;
}

/*
 * The user name in table t: 1 with u filled, 0 when the table does not
 * hold it, -1 when its entry is refused (err says why).
 */
int
userbase_get(struct table *t, const char *name, struct userbase_user *u,
    char *err, size_t errlen)
{
	const char	*value;

	if ((value = table_get(t, name)) == NULL)
		return 0;
	return userbase_parse(name, value[0] != '\0' ? value : NULL, u, err,
	    errlen) == -1 ? -1 : 1;
}
