/*
 * The lookup process: every policy decision about a client, a sender or
 * a recipient is made here, from the kill file, the match rules and the
 * tables; local users and aliases are resolved here (it is the only role
 * that reads the password database).  The listener's sessions, and the
 * facts they are judged by, are kept in lookup_session.c; this file
 * resolves recipients for them and for the queue's bounces.  It never
 * sees message content.
 *
 * A recipient that leads to local users is answered only once the
 * parent has read their ~/.forward files, which this process may not
 * open: such a question waits in a list of pending ones meanwhile.
 *
 * A table that cannot answer (its file failed to load) or a reverse
 * DNS that gave no answer, where the rules or the routing need them,
 * make the recipient a temporary failure: never "not in the table".
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "../smtpd/session_msg.h"
#include "../smtpd/forward_msg.h"
#include "../queue/queue_msg.h"
#include "lookup_dns.h"
#include "lookup_session.h"

#define ALIAS_DEPTH_MAX		8

/* What the destinations may take in a reply, beside a status and text. */
#define DESTS_REPLY_MAX		(IMSG_MAXPAYLOAD - SMTP_LINE_MAX - 64)

/* The same words whether the user is unknown or merely hidden. */
#define REPLY_UNKNOWN	"550 5.1.1 Recipient address rejected: User unknown"

static struct killfile	*killfile;

/* Who runs the files and commands of aliases: nobody, or ourselves. */
static char		 alias_user[ENVELOPE_NAMEMAX];

/* The directories of the file tables, the only ones we may read. */

/*
 * How members are expanded.  q is NULL for VRFY and EXPN, which list
 * local users only; local users go to action a; files and commands run
 * as runas; owner is the user whose ~/.forward is expanded, if any.
 */
struct expand {
	const struct rcpt_query	*q;
	const struct action	*a;
	const char		*runas;
	const char		*owner;
	struct dests		*dests;
	int			*tempfail;	/* set when a look-up failed */
};

/* A recipient waiting for the parent to read ~/.forward files. */
struct rcpt_pending {
	TAILQ_ENTRY(rcpt_pending)	 entry;
	uint32_t			 id;	/* of our questions */
	enum smtp_proc			 to;	/* who asked us, and how */
	uint32_t			 type;
	uint32_t			 peerid;
	struct rcpt_query		 q;
	struct smtpd_config		*conf;	/* judged under it */
	struct dests			 dests;
	int				 waiting;
	int				 tempfail;	/* a look-up failed */
	char				 user[ENVELOPE_NAMEMAX];
	char				*text;	/* the file coming in */
	size_t				 len;
};
static TAILQ_HEAD(, rcpt_pending)	 pendings =
    TAILQ_HEAD_INITIALIZER(pendings);

static int	alias_expand(struct expand *, struct table *, const char *,
		    int);
static uint32_t	lookup_resolve(const struct rcpt_query *, struct dests *,
		    int, char *, size_t);

static void	lookup_killfile_load(void);

/* The first table that could not answer while the rules were judged. */
struct lookup_ask {
	const char	*table;
	const char	*why;
};

/* The match rules' question: 1, 0, or -1 when the table cannot say. */
static int
lookup_table_has(void *arg, const char *name, enum policy_table_kind kind,
    const void *key)
{
	struct lookup_ask	*ask = arg;
	struct table		*t;
	const char		*at, *why = NULL;
	char			 lower[ENVELOPE_ADDRMAX];
	size_t			 i;

	if ((t = table_find(&env->tables, name)) == NULL)
		why = "no such table";
	else if ((why = table_failure(t)) == NULL &&
	    kind != POLICY_TABLE_ADDR &&
	    strlcpy(lower, key, sizeof(lower)) >= sizeof(lower))
		why = "key too long";
	if (why != NULL) {
		if (ask->table == NULL) {
			ask->table = name;
			ask->why = why;
		}
		return -1;
	}
	if (kind == POLICY_TABLE_ADDR)
		return table_has_addr(t, key);
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = tolower((unsigned char)lower[i]);
	if (table_has(t, lower))
		return 1;
	/* An address is also matched by its @domain. */
	if (kind == POLICY_TABLE_MAILADDR && (at = strrchr(lower, '@')) != NULL)
		return table_has(t, at);
	return 0;
}

int
lookup_domain_is_local(const char *domain)
{
	return domain[0] == '\0' || strcasecmp(domain, "localhost") == 0 ||
	    strcasecmp(domain, env->hostname) == 0;
}

static void
lowercase(char *s)
{
	for (; *s != '\0'; s++)
		*s = tolower((unsigned char)*s);
}

/*
 * A user of the action's userbase table, not of the system.  An entry
 * smtpd -n would refuse (the file may have been reloaded since) is no
 * user at all.
 */
static int
lookup_userbase_user(const struct action *a, const char *name)
{
	struct userbase_user	 u;
	struct table		*t;
	char			 err[256];

	if ((t = table_find(&env->tables, a->userbase_table)) == NULL)
		return -1;
	switch (userbase_get(t, name, &u, err, sizeof(err))) {
	case 0:
		return -1;
	case -1:
		log_warnx("lookup: userbase %s: %s: entry refused", t->name,
		    err);
		return -1;
	}
	if (!smtpd_privileged && u.uid != geteuid())
		return -1;
	return 0;
}

/*
 * The user a local recipient of action a (NULL for VRFY and EXPN) is
 * delivered to: from the action's userbase if it has one, else from
 * the system's.  When smtpd does not run as root, only the user running
 * it can receive mail.
 */
static int
lookup_local_user(const struct action *a, const char *name, char *user,
    size_t len)
{
	const struct lookup_user	*u;

	if (name[0] == '\0' || name[0] == '"' || strlen(name) >= len)
		return -1;
	if (a != NULL && a->userbase_table[0] != '\0') {
		if (lookup_userbase_user(a, name) == -1)
			return -1;
		strlcpy(user, name, len);
		return 0;
	}
	if ((u = lookup_user_get(name)) == NULL)
		return -1;
	if (!smtpd_privileged && u->uid != geteuid())
		return -1;
	strlcpy(user, u->name, len);
	return 0;
}

/* An alias file says "name: a, b"; an inline table "name = a, b". */
static const char *
alias_get(struct table *t, const char *name)
{
	char		 key[ENVELOPE_NAMEMAX + 2];
	const char	*v;

	if ((v = table_get(t, name)) == NULL) {
		if ((size_t)snprintf(key, sizeof(key), "%s:", name) >=
		    sizeof(key))
			return NULL;
		v = table_get(t, key);
	}
	/*
	 * "name : a, b" and "name = a, b" in a file leave the mark here;
	 * the colon of a first member ":include:..." is no mark.
	 */
	if (v != NULL && (*v == ':' || *v == '=') &&
	    (v[1] == '\0' || isspace((unsigned char)v[1])))
		v++;
	while (v != NULL && isspace((unsigned char)*v))
		v++;
	return v;
}

/* Who a member belongs to, for the log: an alias or a ~/.forward. */
static const char *
member_owner(const struct expand *x, const char *name)
{
	static char	 buf[ENVELOPE_NAMEMAX + 32];

	if (x->owner != NULL)
		snprintf(buf, sizeof(buf), "~%s/.forward", x->owner);
	else
		snprintf(buf, sizeof(buf), "alias %s", name);
	return buf;
}

/* array, which has room for *maxp entries of size, with room for more. */
static void *
dests_grow(void *array, int *maxp, size_t size)
{
	void	*p;
	int	 max = *maxp == 0 ? 1 : *maxp * 2;

	if (max > ALIAS_MEMBERS_MAX)
		max = ALIAS_MEMBERS_MAX;
	if ((p = reallocarray(array, max, size)) == NULL)
		fatal("reallocarray");
	*maxp = max;
	return p;
}

/* What ds holds; ds itself goes with its owner. */
static void
dests_free(struct dests *ds)
{
	free(ds->d);
	free(ds->asked);
}

/*
 * Add a destination of action x->a, once.  Returns 1 for a destination
 * found, even when it was there already or there is no room left for
 * it (which is logged), and 0 for one that VRFY and EXPN leave out.
 */
static int
dest_add(struct expand *x, const char *user, const char *target,
    enum dest_forward forward)
{
	struct dests	*ds = x->dests;
	struct dest	*d;
	const char	*action = x->a != NULL ? x->a->name : "";
	size_t		 size;
	int		 i;

	if (x->q == NULL && target[0] != '\0')
		return 0;
	for (i = 0; i < ds->n; i++) {
		d = &ds->d[i];
		if (strcmp(d->action, action) == 0 &&
		    strcmp(d->user, user) == 0 &&
		    strcmp(d->target, target) == 0)
			return 1;
	}
	/* Each string goes as a length and its bytes. */
	size = 3 * sizeof(uint32_t) + strlen(action) + strlen(user) +
	    strlen(target);
	if (strlen(target) >= sizeof(d->target)) {
		log_warnx("lookup: %s: target too long, dropped", user[0] ?
		    user : target);
		return 1;
	}
	if (ds->n == ALIAS_MEMBERS_MAX || ds->size + size > DESTS_REPLY_MAX) {
		log_warnx("lookup: too many destinations, %s%s%s dropped",
		    user, user[0] && target[0] ? " " : "", target);
		return 1;
	}
	if (ds->n == ds->dmax)
		ds->d = dests_grow(ds->d, &ds->dmax, sizeof(*ds->d));
	d = &ds->d[ds->n++];
	strlcpy(d->action, action, sizeof(d->action));
	strlcpy(d->user, user, sizeof(d->user));
	strlcpy(d->target, target, sizeof(d->target));
	d->forward = x->q != NULL ? forward : DEST_FORWARD_NO;
	/* A userbase user has no account, so no ~/.forward to ask for. */
	if (x->a != NULL && x->a->userbase_table[0] != '\0')
		d->forward = DEST_FORWARD_NO;
	ds->size += size;
	return 1;
}

static void
dest_remove(struct dests *ds, int i)
{
	struct dest	*d = &ds->d[i];

	ds->size -= 3 * sizeof(uint32_t) + strlen(d->action) +
	    strlen(d->user) + strlen(d->target);
	memmove(d, d + 1, (ds->n - i - 1) * sizeof(*d));
	ds->n--;
}

/* A local user's mailbox, its ~/.forward read first when forward says. */
static int
user_add(struct expand *x, const char *name, enum dest_forward forward)
{
	char	 user[ENVELOPE_NAMEMAX];

	if (lookup_local_user(x->a, name, user, sizeof(user)) == -1) {
		if (x->owner != NULL)
			log_warnx("lookup: ~%s/.forward: %s is no local user",
			    x->owner, name);
		else
			log_warnx("lookup: alias member %s is no local user",
			    name);
		return 0;
	}
	return dest_add(x, user, "", forward);
}

static int	member_expand(struct expand *, struct table *, const char *,
		    char *, int);

/*
 * ":include:/path": the members of a file, taken as if written in the
 * alias itself, one step further down.  The parent read the file with
 * the table (include.c): nothing is opened here.
 */
static int
include_expand(struct expand *x, struct table *t, const char *name,
    const char *path, int depth)
{
	const struct table_include	*inc;
	const char			*who = member_owner(x, name);
	char				*copy, *p, *m;
	int				 found = 0;

	if (x->owner != NULL) {
		log_warnx("lookup: %s: include %s refused", who, path);
		return 0;
	}
	if (depth >= ALIAS_DEPTH_MAX) {
		log_warnx("lookup: alias %s nests too deep", name);
		return 0;
	}
	if (t == NULL || (inc = table_include_find(t, path)) == NULL) {
		log_warnx("lookup: %s: include %s refused: not in the "
		    "directory of a file table", who, path);
		return 0;
	}
	if (inc->text == NULL) {
		/* Mail waits for the file to be mended and read again. */
		log_warnx("lookup: %s: include %s could not be read with "
		    "table %s", who, path, t->name);
		if (x->tempfail != NULL)
			*x->tempfail = 1;
		return 0;
	}
	if ((copy = strdup(inc->text)) == NULL)
		fatal("strdup");
	p = copy;
	while ((m = member_next(&p)) != NULL)
		found += member_expand(x, t, name, m, depth + 1);
	free(copy);
	return found;
}

/*
 * A member in another domain is sent on: it is judged by the match
 * rules as a new recipient submitted here, from the same sender, and
 * what it leads to is added.
 */
static int
member_forward(struct expand *x, const char *name, const char *addr,
    int depth)
{
	struct rcpt_query	 q;
	char			 text[SMTP_LINE_MAX];

	/* VRFY and EXPN list local users only. */
	if (x->q == NULL)
		return 0;
	if (depth >= ALIAS_DEPTH_MAX) {
		log_warnx("lookup: %s: forwarding to %s nests too deep",
		    member_owner(x, name), addr);
		return 0;
	}
	memset(&q, 0, sizeof(q));
	strlcpy(q.sender, x->q->sender, sizeof(q.sender));
	if (strlcpy(q.rcpt, addr, sizeof(q.rcpt)) >= sizeof(q.rcpt)) {
		log_warnx("lookup: %s: member %s too long",
		    member_owner(x, name), addr);
		return 0;
	}
	q.local = 1;
	switch (lookup_resolve(&q, x->dests, depth + 1, text, sizeof(text))) {
	case LOOKUP_OK:
		return 1;
	case LOOKUP_TEMPFAIL:
		/* Dropping it would lose the mail: the whole recipient waits. */
		if (x->tempfail != NULL)
			*x->tempfail = 1;
		return 0;
	}
	log_warnx("lookup: %s: member %s refused: %s",
	    member_owner(x, name), addr, text);
	return 0;
}

/*
 * One member of alias name (NULL in a ~/.forward): a file, a command,
 * an include, an address elsewhere, or a local name.  Returns how many
 * destinations it leads to.
 */
static int
member_expand(struct expand *x, struct table *t, const char *name,
    char *member, int depth)
{
	char	*at;

	switch (member_kind(member)) {
	case MEMBER_NONE:
		return 0;
	case MEMBER_FILE:
	case MEMBER_COMMAND:
		return dest_add(x, x->runas, member, DEST_FORWARD_NO);
	case MEMBER_INCLUDE:
		return include_expand(x, t, name, member +
		    strlen(MEMBER_INCLUDE_PREFIX), depth);
	case MEMBER_NAME:
		break;
	}
	if ((at = strrchr(member, '@')) != NULL) {
		if (!lookup_domain_is_local(at + 1))
			return member_forward(x, name, member, depth);
		*at = '\0';
	}
	lowercase(member);
	/*
	 * "alice: alice, bob" keeps a copy in alice's own box, and so does
	 * a ~/.forward that names its own user: neither goes round again.
	 */
	if ((name != NULL && strcmp(member, name) == 0) ||
	    (x->owner != NULL && strcasecmp(member, x->owner) == 0))
		return user_add(x, member, DEST_FORWARD_NO);
	return alias_expand(x, t, member, depth + 1);
}

/*
 * Expand name through alias table t (which may be NULL): its members,
 * or the local user of that name.  Chains deeper than ALIAS_DEPTH_MAX
 * are cut, and so are loops with them.  Returns how many destinations
 * it leads to.
 */
static int
alias_expand(struct expand *x, struct table *t, const char *name, int depth)
{
	struct expand	 ax;
	const char	*v;
	char		*list, *p, *m;
	int		 found = 0;

	if (depth > ALIAS_DEPTH_MAX) {
		log_warnx("lookup: alias %s nests too deep", name);
		return 0;
	}
	if (t == NULL || (v = alias_get(t, name)) == NULL)
		return user_add(x, name, DEST_FORWARD_ASK);
	/* An alias reached from a ~/.forward is the admin's, not the user's. */
	ax = *x;
	ax.runas = alias_user;
	ax.owner = NULL;
	if ((list = strdup(v)) == NULL)
		fatal("strdup");
	p = list;
	while ((m = member_next(&p)) != NULL)
		found += member_expand(&ax, t, name, m, depth);
	free(list);
	return found;
}

static void
lookup_rcpt_reply(enum smtp_proc to, uint32_t type, uint32_t id,
    uint32_t status, const char *text, const struct dests *ds)
{
	struct msg_routes	*r;
	int			 i, n = status == LOOKUP_OK ? ds->n : 0;

	if (to == PROC_SMTP) {
		session_rcpt_resolved(id, status, text, ds);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->status = status;
	strlcpy(r->text, text, sizeof(r->text));
	for (i = 0; i < n && i < MSG_ROUTES_MAX; i++) {
		strlcpy(r->d[i].action, ds->d[i].action,
		    sizeof(r->d[i].action));
		strlcpy(r->d[i].user, ds->d[i].user, sizeof(r->d[i].user));
		strlcpy(r->d[i].target, ds->d[i].target,
		    sizeof(r->d[i].target));
	}
	r->n = i;
	msg_routes_write(id, r);
	free(r);
}

/*
 * One local name through an action's tables: an internal alias (only
 * for local or authenticated clients), an alias, or a local user.
 * Returns how many destinations it leads to; 0 for none.
 */
static int
lookup_local_name(struct expand *x, const char *name, int depth)
{
	struct table	*aliases = NULL, *internal = NULL;
	char		 user[ENVELOPE_NAMEMAX];

	if (x->a->alias_table[0] != '\0')
		aliases = table_find(&env->tables, x->a->alias_table);
	if (x->a->internal_table[0] != '\0')
		internal = table_find(&env->tables, x->a->internal_table);
	if (internal != NULL && alias_get(internal, name) != NULL) {
		if (!x->q->local && !x->q->authenticated)
			return 0;
		return alias_expand(x, internal, name, depth);
	}
	if (aliases != NULL && alias_get(aliases, name) != NULL)
		return alias_expand(x, aliases, name, depth);
	if (lookup_local_user(x->a, name, user, sizeof(user)) == 0)
		return dest_add(x, user, "", DEST_FORWARD_ASK);
	return 0;
}

/*
 * A virtual domain: the whole address is the key, then the address
 * without its sub-address, then @domain; its members are expanded as
 * aliases of the same table.
 */
static int
lookup_virtual(struct expand *x, struct table *t, const char *base,
    const char *domain, int depth)
{
	char	 key[ENVELOPE_ADDRMAX];

	if (strlcpy(key, x->q->rcpt, sizeof(key)) >= sizeof(key))
		return 0;
	lowercase(key);
	if (alias_get(t, key) != NULL)
		return alias_expand(x, t, key, depth);
	if (base != NULL && (size_t)snprintf(key, sizeof(key), "%s@%s", base,
	    domain) < sizeof(key)) {
		lowercase(key);
		if (alias_get(t, key) != NULL)
			return alias_expand(x, t, key, depth);
	}
	if ((size_t)snprintf(key, sizeof(key), "@%s", domain) < sizeof(key)) {
		lowercase(key);
		if (alias_get(t, key) != NULL)
			return alias_expand(x, t, key, depth);
	}
	return 0;
}

/*
 * A local recipient: the name as given, and failing that the name
 * without its sub-address (user+tag goes to user).
 */
static int
lookup_rcpt_local(struct expand *x, const char *localpart, int depth)
{
	char		 name[ENVELOPE_NAMEMAX], *delim, *base = NULL;
	const char	*domain;
	struct table	*virt;
	int		 n;

	if (strlcpy(name, localpart, sizeof(name)) >= sizeof(name))
		return 0;
	lowercase(name);
	if (env->subaddr_delim != '\0' &&
	    (delim = strchr(name, env->subaddr_delim)) != NULL &&
	    delim != name) {
		*delim = '\0';
		if ((base = strdup(name)) == NULL)
			fatal("strdup");
		*delim = env->subaddr_delim;
	}
	if (x->a->virtual_table[0] != '\0' &&
	    (virt = table_find(&env->tables, x->a->virtual_table)) != NULL) {
		domain = strrchr(x->q->rcpt, '@');
		n = lookup_virtual(x, virt, base,
		    domain != NULL ? domain + 1 : "", depth);
	} else if ((n = lookup_local_name(x, name, depth)) == 0 &&
	    base != NULL)
		n = lookup_local_name(x, base, depth);
	free(base);
	return n;
}

/*
 * The first table of an action's routing that cannot answer, or NULL:
 * an alias or a user it would miss might well be there.
 */
static struct table *
lookup_action_failed(const struct action *a)
{
	const char	*names[] = { a->alias_table, a->internal_table,
			    a->virtual_table, a->userbase_table };
	struct table	*t;
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i][0] != '\0' &&
		    (t = table_find(&env->tables, names[i])) != NULL &&
		    table_failure(t) != NULL)
			return t;
	return NULL;
}

/* The rules could not be judged: say which table or DNS, and where. */
static void
lookup_rules_failed(const struct rcpt_query *q,
    const struct policy_rule *rule, const struct lookup_ask *ask)
{
	if (ask->table != NULL)
		log_warnx("lookup from=<%s> rcpt=<%s> result=tempfail "
		    "rule=%d table=%s error=\"%s\"", q->sender, q->rcpt,
		    rule->line, ask->table, ask->why);
	else
		log_warnx("lookup from=<%s> rcpt=<%s> result=tempfail "
		    "rule=%d reason=\"reverse DNS failed\"", q->sender,
		    q->rcpt, rule->line);
}

/*
 * Where a recipient goes, by the match rules: LOOKUP_OK with its
 * destinations added to ds, or a refusal with the reply text: a
 * temporary one when a table or the reverse DNS that the decision
 * needs failed.  depth is above 0 for the address an alias or a
 * ~/.forward sends mail on to.
 */
static uint32_t
lookup_resolve(const struct rcpt_query *q, struct dests *ds, int depth,
    char *text, size_t textlen)
{
	struct policy_facts		 facts;
	const struct policy_rule	*rule;
	struct lookup_ask		 ask;
	struct action			*a;
	struct table			*t;
	struct expand			 x;
	char				 localpart[ENVELOPE_ADDRMAX];
	char				 domain[ENVELOPE_ADDRMAX], *at;
	int				 tempfail = 0;

	text[0] = '\0';
	strlcpy(localpart, q->rcpt, sizeof(localpart));
	domain[0] = '\0';
	if ((at = strrchr(localpart, '@')) != NULL) {
		strlcpy(domain, at + 1, sizeof(domain));
		*at = '\0';
	}
	lowercase(domain);

	memset(&facts, 0, sizeof(facts));
	facts.client = q->ss.ss_family == AF_UNSPEC ? NULL :
	    (const struct sockaddr *)&q->ss;
	facts.client_local = q->local;
	facts.rdns = q->rdns[0] != '\0' ? q->rdns : NULL;
	facts.rdns_failed = facts.rdns == NULL && q->rdns_failed;
	facts.authenticated = q->authenticated;
	facts.auth_user = q->auth_user;
	facts.tls = q->tls;
	facts.sender = q->sender;
	facts.rcpt = q->rcpt;
	facts.rcpt_domain = domain;
	facts.rcpt_domain_local = domain[0] != '[' &&
	    lookup_domain_is_local(domain);

	memset(&ask, 0, sizeof(ask));
	switch (policy_match(&env->rules, &facts, lookup_table_has, &ask,
	    &rule)) {
	case POLICY_TEMPFAIL:
		lookup_rules_failed(q, rule, &ask);
		strlcpy(text, REPLY_LOOKUP_TEMPFAIL, textlen);
		return LOOKUP_TEMPFAIL;
	case POLICY_NOMATCH:
		strlcpy(text, facts.rcpt_domain_local ?
		    "550 5.7.1 Delivery not authorized, message refused" :
		    "550 5.7.1 Relaying denied", textlen);
		return LOOKUP_PERMFAIL;
	case POLICY_MATCH:
		break;
	}
	if (rule->reject) {
		snprintf(text, textlen, "550 5.7.1 %s",
		    rule->reject_text[0] ? rule->reject_text : "Rejected");
		return LOOKUP_PERMFAIL;
	}
	if ((a = config_action(env, rule->action)) == NULL)
		fatalx("lookup: rule names unknown action %s", rule->action);
	memset(&x, 0, sizeof(x));
	x.q = q;
	x.a = a;
	x.runas = alias_user;
	x.dests = ds;
	x.tempfail = &tempfail;
	/* Sent on from an alias: the envelope is for the member's address. */
	if (a->type == ACTION_RELAY) {
		dest_add(&x, "", depth > 0 ? q->rcpt : "", DEST_FORWARD_NO);
		return LOOKUP_OK;
	}
	if ((t = lookup_action_failed(a)) != NULL) {
		log_warnx("lookup from=<%s> rcpt=<%s> result=tempfail "
		    "action=%s table=%s error=\"%s\"", q->sender, q->rcpt,
		    a->name, t->name, table_failure(t));
		strlcpy(text, REPLY_LOOKUP_TEMPFAIL, textlen);
		return LOOKUP_TEMPFAIL;
	}
	if (lookup_rcpt_local(&x, localpart, depth) == 0 || tempfail) {
		strlcpy(text, tempfail ? REPLY_LOOKUP_TEMPFAIL :
		    REPLY_UNKNOWN, textlen);
		return tempfail ? LOOKUP_TEMPFAIL : LOOKUP_PERMFAIL;
	}
	return LOOKUP_OK;
}

static int
forward_was_asked(const struct dests *ds, const char *user)
{
	int	 i;

	for (i = 0; i < ds->nasked; i++)
		if (strcmp(ds->asked[i], user) == 0)
			return 1;
	return 0;
}

/*
 * Ask the parent for the ~/.forward of every user not asked yet, then
 * answer once nothing is awaited.  A user whose file was already read
 * for this recipient gets the mailbox: that ends any loop of them.
 */
static void
rcpt_continue(struct rcpt_pending *p)
{
	struct dests	*ds = &p->dests;
	int		 i, j;

	for (i = 0; i < ds->n; i++) {
		if (ds->d[i].forward != DEST_FORWARD_ASK)
			continue;
		if (forward_was_asked(ds, ds->d[i].user) ||
		    ds->nasked == ALIAS_MEMBERS_MAX) {
			ds->d[i].forward = DEST_FORWARD_NO;
			continue;
		}
		if (ds->nasked == ds->askedmax)
			ds->asked = dests_grow(ds->asked, &ds->askedmax,
			    sizeof(*ds->asked));
		strlcpy(ds->asked[ds->nasked++], ds->d[i].user,
		    sizeof(ds->asked[0]));
		for (j = i; j < ds->n; j++)
			if (ds->d[j].forward == DEST_FORWARD_ASK &&
			    strcmp(ds->d[j].user, ds->d[i].user) == 0)
				ds->d[j].forward = DEST_FORWARD_ASKED;
		msg_forward_ask_write(p->id, ds->d[i].user);
		p->waiting++;
	}
	if (p->waiting > 0)
		return;
	if (p->tempfail)
		lookup_rcpt_reply(p->to, p->type, p->peerid, LOOKUP_TEMPFAIL,
		    REPLY_LOOKUP_TEMPFAIL, ds);
	else if (ds->n == 0)
		lookup_rcpt_reply(p->to, p->type, p->peerid, LOOKUP_PERMFAIL,
		    REPLY_UNKNOWN, ds);
	else
		lookup_rcpt_reply(p->to, p->type, p->peerid, LOOKUP_OK, "",
		    ds);
	TAILQ_REMOVE(&pendings, p, entry);
	config_unref(p->conf);
	dests_free(ds);
	free(p->text);
	free(p);
}

/*
 * Resolve a recipient for smtp or the queue, and answer now or, when
 * ~/.forward files are to be read, once the parent has read them.
 */
void
rcpt_start(enum smtp_proc to, uint32_t type, uint32_t peerid,
    const struct rcpt_query *q)
{
	static uint32_t		 ids;
	struct rcpt_pending	*p;
	char			 text[SMTP_LINE_MAX];
	uint32_t		 status;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("calloc");
	if (++ids == 0)
		ids = 1;
	p->id = ids;
	p->to = to;
	p->type = type;
	p->peerid = peerid;
	p->q = *q;
	status = lookup_resolve(&p->q, &p->dests, 0, text, sizeof(text));
	if (status != LOOKUP_OK) {
		lookup_rcpt_reply(to, type, peerid, status, text, &p->dests);
		dests_free(&p->dests);
		free(p);
		return;
	}
	p->conf = env;
	config_ref(p->conf);
	TAILQ_INSERT_TAIL(&pendings, p, entry);
	rcpt_continue(p);
}

/*
 * A user's ~/.forward replaces the user's mailbox, for each action that
 * delivers to it, with its entries.  One that leads nowhere leaves the
 * mailbox: mail is not lost to a broken file.
 */
static void
rcpt_forward(struct rcpt_pending *p, const char *user, char *text)
{
	struct dests	*ds = &p->dests;
	struct expand	 x;
	struct action	*a;
	char		*copy, *s, *m;
	int		 i, found;

	for (;;) {
		for (i = 0; i < ds->n; i++)
			if (ds->d[i].forward == DEST_FORWARD_ASKED &&
			    strcmp(ds->d[i].user, user) == 0)
				break;
		if (i == ds->n)
			return;
		if (text == NULL) {
			ds->d[i].forward = DEST_FORWARD_NO;
			continue;
		}
		if ((a = config_action(env, ds->d[i].action)) == NULL)
			fatalx("lookup: destination of unknown action %s",
			    ds->d[i].action);
		dest_remove(ds, i);
		memset(&x, 0, sizeof(x));
		x.q = &p->q;
		x.a = a;
		x.runas = user;
		x.owner = user;
		x.dests = ds;
		x.tempfail = &p->tempfail;
		if ((copy = strdup(text)) == NULL)
			fatal("strdup");
		found = 0;
		s = copy;
		while ((m = member_next(&s)) != NULL)
			found += member_expand(&x, a->alias_table[0] != '\0' ?
			    table_find(&env->tables, a->alias_table) : NULL,
			    NULL, m, 1);
		free(copy);
		if (found == 0) {
			log_warnx("lookup: ~%s/.forward leads nowhere: "
			    "delivering to the mailbox", user);
			dest_add(&x, user, "", DEST_FORWARD_NO);
		} else
			log_info("lookup: rcpt=<%s> user=%s forward=used",
			    p->q.rcpt, user);
	}
}

/*
 * The parent's answer about a ~/.forward: none, or its text in pieces,
 * the last one marked.
 */
static void
lookup_forward_answer(struct imsg *imsg)
{
	struct rcpt_pending	*p;
	struct msg_forward	 f;
	const char		*user = f.user, *chunk = f.piece;
	uint32_t		 status;
	size_t			 len;

	if (msg_forward_read(imsg, &f) == -1)
		fatalx("lookup: malformed ~/.forward answer from the parent");
	status = f.status;
	TAILQ_FOREACH(p, &pendings, entry)
		if (p->id == imsg->hdr.peerid)
			break;
	if (p == NULL || p->waiting == 0)
		fatalx("lookup: ~/.forward answer for no question");
	env = p->conf;
	if (p->text != NULL && strcmp(p->user, user) != 0)
		fatalx("lookup: pieces of two ~/.forward files mixed");
	if (status == FORWARD_NONE) {
		rcpt_forward(p, user, NULL);
		goto done;
	}
	len = strlen(chunk);
	if (p->len + len > FORWARD_SIZE_MAX)
		fatalx("lookup: ~/.forward answer too long");
	if ((p->text = realloc(p->text, p->len + len + 1)) == NULL)
		fatal("realloc");
	memcpy(p->text + p->len, chunk, len + 1);
	p->len += len;
	strlcpy(p->user, user, sizeof(p->user));
	if (status == FORWARD_MORE)
		return;
	rcpt_forward(p, user, p->text);
	free(p->text);
	p->text = NULL;
	p->len = 0;
done:
	p->waiting--;
	rcpt_continue(p);
}

/*
 * The queue routes a message it makes itself (a bounce): a local
 * submission from the null sender, judged by the same rules.
 */
static void
lookup_queue_rcpt(struct imsg *imsg)
{
	struct rcpt_query	 q;

	memset(&q, 0, sizeof(q));
	if (msg_route_ask_read(imsg, q.rcpt, sizeof(q.rcpt)) == -1)
		fatalx("lookup: bad routing question from the queue");
	q.local = 1;
	rcpt_start(PROC_QUEUE, IMSG_LOOKUP_QUEUE_RCPT, imsg->hdr.peerid, &q);
}

/* The alias table of the first maildir action that has one. */
static struct table *
lookup_alias_table(int internal)
{
	struct action	*a;
	const char	*name;

	TAILQ_FOREACH(a, &env->actions, entry) {
		name = internal ? a->internal_table : a->alias_table;
		if (a->type != ACTION_RELAY && name[0] != '\0')
			return table_find(&env->tables, name);
	}
	return NULL;
}

/*
 * VRFY and EXPN, asked only when the configuration lets this client
 * ask.  Internal aliases stay hidden from clients that are neither
 * local nor authenticated.  Only local users are named: neither files,
 * commands nor other hosts' addresses, nor what a ~/.forward holds.
 */
void
lookup_vrfy_expn(uint32_t id, const char *asked, int privileged, int expn)
{
	char		 name[ENVELOPE_ADDRMAX], *at;
	char		 user[ENVELOPE_NAMEMAX];
	struct table	*aliases, *internal;
	struct dests	*ds;
	struct expand	 x;
	struct msg_users u;
	int		 i;

	strlcpy(name, asked, sizeof(name));
	if ((at = strrchr(name, '@')) != NULL) {
		if (!lookup_domain_is_local(at + 1))
			name[0] = '\0';
		*at = '\0';
	}
	lowercase(name);
	aliases = lookup_alias_table(0);
	internal = lookup_alias_table(1);
	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		fatal("calloc");
	memset(&x, 0, sizeof(x));
	x.runas = alias_user;
	x.dests = ds;

	if (name[0] == '\0' || strlen(name) >= ENVELOPE_NAMEMAX)
		;
	else if (internal != NULL && alias_get(internal, name) != NULL) {
		if (privileged)
			alias_expand(&x, internal, name, 0);
	} else if (aliases != NULL && alias_get(aliases, name) != NULL)
		alias_expand(&x, aliases, name, 0);
	else if (!expn && lookup_local_user(NULL, name, user,
	    sizeof(user)) == 0)
		dest_add(&x, user, "", DEST_FORWARD_NO);

	for (i = 0; i < ds->n && i < MSG_USERS_MAX; i++)
		strlcpy(u.name[i], ds->d[i].user, sizeof(u.name[i]));
	u.n = i;
	msg_users_write(expn ? IMSG_LOOKUP_SMTP_EXPN : IMSG_LOOKUP_SMTP_VRFY,
	    id, &u);
	dests_free(ds);
	free(ds);
}

static int
lookup_is_credentials(const char *name)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &env->listeners, entry)
		if (strcmp(l->auth_table, name) == 0)
			return 1;
	return 0;
}

/*
 * smtpctl update table NAME: read a file table (or the kill file) again.
 * One that cannot be read fails every decision that needs it from now
 * on, which the admin is told along with why.
 */
#define LOOKUP_UPDATE_FAILED	"%s (look-ups in table %s fail until it " \
				"is read well)"

static void
lookup_update_table(struct imsg *imsg)
{
	struct conffiles	*files;
	struct table		*t;
	struct killfile		*kf;
	char			 name[TABLE_NAMESZ], err[256], text[512];
	int			 ok = 0;

	/* The parent's copy of the file is all this may read. */
	files = reload_table_receive(imsg, name, sizeof(name));
	if ((t = table_find(&env->tables, name)) == NULL)
		snprintf(text, sizeof(text), "no such table: %s", name);
	else if (lookup_is_credentials(name))
		snprintf(text, sizeof(text), "table %s holds credentials, "
		    "which the auth process reads at start and at each "
		    "reload: use smtpctl reload", name);
	else if (t->backend != TABLE_FILE)
		snprintf(text, sizeof(text), "table %s is not a file table",
		    name);
	else if (strcmp(name, env->killfile) == 0) {
		kf = killfile;
		if (killfile_load(kf, t->path, err, sizeof(err)) == -1)
			snprintf(text, sizeof(text), LOOKUP_UPDATE_FAILED, err,
			    name);
		else {
			ok = 1;
			snprintf(text, sizeof(text), "table %s: %zu entries",
			    name, killfile_count(kf));
		}
	} else if (table_reload(t, err, sizeof(err)) == -1)
		snprintf(text, sizeof(text), LOOKUP_UPDATE_FAILED, err, name);
	else {
		if (config_alias_table(env, t))
			table_includes_load(t, &env->tables);
		ok = 1;
		snprintf(text, sizeof(text), "table %s: %zu entries", name,
		    t->count);
	}
	conffiles_free(files);
	log_info("lookup: update table %s result=%s%s%s", name,
	    ok ? "ok" : "failed", ok ? "" : " error=", ok ? "" : text);
	proc_close(PROC_CONTROL, msg_ctl_answer_write(ok ? IMSG_CTL_OK :
	    IMSG_CTL_FAIL, imsg->hdr.peerid, -1, text));
}

/*
 * The configuration in force: new sessions and the queue's questions
 * get it; a session's own questions are judged under the one it began
 * under (session_find() switches env to it).
 */
static struct smtpd_config	*lookup_running;

struct smtpd_config *
lookup_config(void)
{
	return lookup_running;
}

/*
 * A new generation: its tables come from the parent's copy of their
 * files, and the kill file is built again from its table.  Until its
 * last session ends, the old generation stays.
 */
static void
lookup_reload(struct imsg *imsg)
{
	struct smtpd_config	*next;

	next = reload_receive(imsg, PARSE_TABLES);
	env = next;
	lookup_killfile_load();
	config_retire(lookup_running);
	lookup_running = env = next;
	log_info("lookup: reload generation=%u", env->generation);
	reload_confirm(env);
}

static void
lookup_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	env = lookup_running;
	switch (from) {
	case PROC_QUEUE:
		switch (imsg->hdr.type) {
		case IMSG_QUEUE_LOOKUP_RCPT:
			lookup_queue_rcpt(imsg);
			return;
		}
		break;
	case PROC_PARENT:
		switch (imsg->hdr.type) {
		case IMSG_PARENT_LOOKUP_FORWARD:
			lookup_forward_answer(imsg);
			return;
		case IMSG_PARENT_RELOAD:
			lookup_reload(imsg);
			return;
		case IMSG_PARENT_UPDATE_TABLE:
			lookup_update_table(imsg);
			return;
		}
		break;
	case PROC_SMTP:
		/* Checked there, message by message: never fatal. */
		session_dispatch(imsg);
		return;
	case PROC_AUTH:
		switch (imsg->hdr.type) {
		case IMSG_AUTH_LOOKUP_RESULT:
			session_auth_result(imsg);
			return;
		}
		break;
	default:
		break;
	}
	proc_bad_imsg(PROC_LOOKUP, from, imsg);
}

struct killfile *
lookup_killfile(void)
{
	return killfile;
}

static int
lookup_killfile_add(const char *key, const char *value, void *arg)
{
	if (killfile_add(killfile, key) == -1)
		fatalx("lookup: killfile: bad entry %s", key);
	return 0;
}

/* Build the kill file from the table the configuration names. */
static void
lookup_killfile_load(void)
{
	struct table		*t;
	char			 err[256];

	killfile_free(killfile);
	killfile = NULL;
	if (env->killfile[0] == '\0')
		return;
	if ((t = table_find(&env->tables, env->killfile)) == NULL)
		fatalx("lookup: no killfile table %s", env->killfile);
	if ((killfile = killfile_new()) == NULL)
		fatal("killfile_new");
	if (t->backend == TABLE_FILE) {
		if (killfile_load(killfile, t->path, err, sizeof(err)) == -1)
			fatalx("lookup: %s", err);
	} else
		table_walk(t, lookup_killfile_add, NULL);
	log_info("lookup: killfile %s holds %zu entries", t->name,
	    killfile_count(killfile));
}

/* Who runs the files and commands of aliases. */
static void
lookup_alias_user(void)
{
	struct passwd	*pw;

	if (smtpd_privileged) {
		strlcpy(alias_user, SMTPD_ALIAS_USER, sizeof(alias_user));
		return;
	}
	if ((pw = getpwuid(geteuid())) == NULL ||
	    strlcpy(alias_user, pw->pw_name, sizeof(alias_user)) >=
	    sizeof(alias_user))
		fatalx("lookup: who am I?");
}


void
lookup_main(void)
{
	/*
	 * The system's user and host files and libraries, for NSS; no
	 * configuration file: tables and the files they include come
	 * from the parent.
	 */
	struct sandbox_path	 paths[] = {
		{ "/etc", SANDBOX_READ },
		{ "/usr/lib", SANDBOX_READ },
		{ "/lib", SANDBOX_READ },
		{ NULL, 0 },
	};

	lookup_running = env;
	event_init();
	proc_peers_from_exec(PROC_LOOKUP, lookup_dispatch);
	proc_signals();
	lookup_killfile_load();
	dns_init();

	/* Warm up NSS while everything is still reachable. */
	(void)getpwnam("root");
	endpwent();
	lookup_alias_user();
	proc_drop_privileges(SMTPD_USER, NULL);
	/* Nothing of the parent's copy of the files is kept. */
	conffiles_free(conffiles_serving());
	sandbox(PROMISES_LOOKUP, paths);
	event_dispatch();
	fatalx("lookup: event loop ended");
}
