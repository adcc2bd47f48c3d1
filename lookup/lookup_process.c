/*
 * The lookup process: every policy decision about a client, a sender or
 * a recipient is made here, from the kill file, the match rules and the
 * tables; local users and aliases are resolved here (it is the only role
 * that reads the password database).  It answers the listener; it never
 * sees message content.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <event.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "lookup_dns.h"

#define ALIAS_DEPTH_MAX		8
#define ALIAS_MEMBERS_MAX	64

/* The same words whether the user is unknown or merely hidden. */
#define REPLY_UNKNOWN	"550 5.1.1 Recipient address rejected: User unknown"

static struct killfile	*killfile;

/* Where one recipient goes: an action and, for local ones, a user. */
struct dest {
	char	 action[ENVELOPE_NAMEMAX];
	char	 user[ENVELOPE_NAMEMAX];
};

struct rcpt_query {
	struct sockaddr_storage	 ss;
	char			 sender[ENVELOPE_ADDRMAX];
	char			 rcpt[ENVELOPE_ADDRMAX];
	char			 rdns[ENVELOPE_HOSTMAX];
	char			 auth_user[ENVELOPE_NAMEMAX];
	int			 authenticated;
	int			 tls;
	int			 local;
};

static int
lookup_table_has(void *arg, const char *name, enum policy_table_kind kind,
    const void *key)
{
	struct table	*t;
	const char	*at;
	char		 lower[ENVELOPE_ADDRMAX];
	size_t		 i;

	if ((t = table_find(&env->tables, name)) == NULL)
		return 0;
	if (kind == POLICY_TABLE_ADDR)
		return table_has_addr(t, key);
	if (strlcpy(lower, key, sizeof(lower)) >= sizeof(lower))
		return 0;
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = tolower((unsigned char)lower[i]);
	if (table_has(t, lower))
		return 1;
	/* An address is also matched by its @domain. */
	if (kind == POLICY_TABLE_MAILADDR && (at = strrchr(lower, '@')) != NULL)
		return table_has(t, at);
	return 0;
}

static int
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
 * The user a local recipient is delivered to.  When smtpd does not run
 * as root, only the user running it can receive mail.
 */
static int
lookup_local_user(const char *name, char *user, size_t len)
{
	struct passwd	*pw;

	if (name[0] == '\0' || name[0] == '"' || strlen(name) >= len)
		return -1;
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	if (!smtpd_privileged && pw->pw_uid != geteuid())
		return -1;
	strlcpy(user, pw->pw_name, len);
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
	/* "name : a, b" and "name = a, b" in a file leave the mark here. */
	while (v != NULL && (*v == ':' || *v == '=' ||
	    isspace((unsigned char)*v)))
		v++;
	return v;
}

/* Add a local user to an expansion, once. */
static int
alias_add_user(const char *name, char users[][ENVELOPE_NAMEMAX], int n)
{
	char	 user[ENVELOPE_NAMEMAX];
	int	 i;

	if (lookup_local_user(name, user, sizeof(user)) == -1) {
		log_warnx("lookup: alias member %s is no local user", name);
		return n;
	}
	for (i = 0; i < n; i++)
		if (strcmp(users[i], user) == 0)
			return n;
	if (n < ALIAS_MEMBERS_MAX)
		strlcpy(users[n++], user, ENVELOPE_NAMEMAX);
	return n;
}

/*
 * Expand name through the alias table into local users.  A member is a
 * local user, user@ a local domain, or another alias; loops and chains
 * deeper than ALIAS_DEPTH_MAX are cut.  Returns the number of users.
 */
static int
alias_expand(struct table *t, const char *name, int depth,
    char users[][ENVELOPE_NAMEMAX], int n)
{
	const char	*v;
	char		 list[1024], *member, *p, *at;

	if (depth > ALIAS_DEPTH_MAX) {
		log_warnx("lookup: alias %s nests too deep", name);
		return n;
	}
	if ((v = alias_get(t, name)) == NULL)
		return alias_add_user(name, users, n);
	if (strlcpy(list, v, sizeof(list)) >= sizeof(list)) {
		log_warnx("lookup: alias %s: member list too long", name);
		return n;
	}
	p = list;
	while ((member = strsep(&p, ",")) != NULL) {
		while (isspace((unsigned char)*member))
			member++;
		member[strcspn(member, " \t")] = '\0';
		if (member[0] == '\0')
			continue;
		lowercase(member);
		if ((at = strrchr(member, '@')) != NULL) {
			if (!lookup_domain_is_local(at + 1)) {
				log_warnx("lookup: alias %s: remote member %s "
				    "skipped", name, member);
				continue;
			}
			*at = '\0';
		}
		/* "alice: alice, bob" keeps a copy in alice's own box. */
		if (strcmp(member, name) == 0)
			n = alias_add_user(member, users, n);
		else
			n = alias_expand(t, member, depth + 1, users, n);
	}
	return n;
}

static void
lookup_client(struct imsg *imsg, struct sockaddr_storage *ss)
{
	uint32_t	 len;

	len = imsg_get_u32(imsg);
	if (len != sizeof(*ss))
		fatalx("lookup: bad client address from smtp");
	imsg_get_data(imsg, ss, sizeof(*ss));
}

static void
lookup_reply(uint32_t type, uint32_t id, uint32_t status, const char *text)
{
	struct ibuf	*b;

	b = proc_create(type, id, -1);
	imsg_add_u32(b, status);
	imsg_add_string(b, text);
	proc_close(PROC_SMTP, b);
}

static void
lookup_connect_reply(uint32_t id, uint32_t status, const char *text,
    const char *rdns)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_SMTP_CONNECT, id, -1);
	imsg_add_u32(b, status);
	imsg_add_string(b, text);
	imsg_add_string(b, rdns);
	proc_close(PROC_SMTP, b);
}

struct connect_query {
	uint32_t		 id;
	struct sockaddr_storage	 ss;
};

/* The client's confirmed name, if any, is judged too. */
static void
lookup_connect_named(void *arg, const char *name)
{
	struct connect_query	*q = arg;
	const char		*addr = sa_to_text((struct sockaddr *)&q->ss);

	if (name != NULL && killfile != NULL &&
	    killfile_has_host(killfile, name)) {
		log_info("lookup address=%s host=%s result=refused "
		    "reason=killfile", addr, name);
		lookup_connect_reply(q->id, LOOKUP_PERMFAIL,
		    "554 5.7.1 Connection refused", "");
	} else
		lookup_connect_reply(q->id, LOOKUP_OK, "",
		    name != NULL ? name : "");
	free(q);
}

static void
lookup_connect(struct imsg *imsg)
{
	struct connect_query	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("calloc");
	q->id = imsg->hdr.peerid;
	lookup_client(imsg, &q->ss);
	proc_check(PROC_SMTP, imsg);
	if (killfile != NULL && killfile_has_addr(killfile,
	    (struct sockaddr *)&q->ss)) {
		log_info("lookup address=%s result=refused reason=killfile",
		    sa_to_text((struct sockaddr *)&q->ss));
		lookup_connect_reply(q->id, LOOKUP_PERMFAIL,
		    "554 5.7.1 Connection refused", "");
		free(q);
		return;
	}
	dns_reverse((struct sockaddr *)&q->ss, lookup_connect_named, q);
}

static void
lookup_mail(struct imsg *imsg)
{
	struct sockaddr_storage	 ss;
	char			 sender[ENVELOPE_ADDRMAX];
	uint32_t		 flags;

	imsg_get_string(imsg, sender, sizeof(sender));
	lookup_client(imsg, &ss);
	flags = imsg_get_u32(imsg);
	proc_check(PROC_SMTP, imsg);

	if (sender[0] == '\0' && (flags & LISTEN_REJECT_NULL)) {
		lookup_reply(IMSG_LOOKUP_SMTP_MAIL, imsg->hdr.peerid,
		    LOOKUP_PERMFAIL, "550 5.7.1 Null sender refused");
		return;
	}
	if (sender[0] != '\0' && killfile != NULL &&
	    killfile_has_sender(killfile, sender)) {
		log_info("lookup address=%s from=<%s> result=refused "
		    "reason=killfile", sa_to_text((struct sockaddr *)&ss),
		    sender);
		lookup_reply(IMSG_LOOKUP_SMTP_MAIL, imsg->hdr.peerid,
		    LOOKUP_PERMFAIL, "550 5.7.1 Sender address rejected");
		return;
	}
	lookup_reply(IMSG_LOOKUP_SMTP_MAIL, imsg->hdr.peerid, LOOKUP_OK, "");
}

static void
lookup_rcpt_reply(enum smtp_proc to, uint32_t type, uint32_t id,
    uint32_t status, const char *text, const struct dest *dests, int n)
{
	struct ibuf	*b;
	int		 i;

	b = proc_create(type, id, -1);
	imsg_add_u32(b, status);
	imsg_add_string(b, text);
	imsg_add_u32(b, n);
	for (i = 0; i < n; i++) {
		imsg_add_string(b, dests[i].action);
		imsg_add_string(b, dests[i].user);
	}
	proc_close(to, b);
}

/*
 * A local recipient of a maildir action: an alias (internal ones only
 * for local or authenticated clients) or a local user.
 */
/*
 * One local name through an action's tables: an internal alias (only
 * for local or authenticated clients), an alias, or a local user.
 * Returns how many users it leads to; 0 for none.
 */
static int
lookup_local_name(const struct rcpt_query *q, const struct action *a,
    const char *name, char users[][ENVELOPE_NAMEMAX])
{
	struct table	*aliases = NULL, *internal = NULL;

	if (a->alias_table[0] != '\0')
		aliases = table_find(&env->tables, a->alias_table);
	if (a->internal_table[0] != '\0')
		internal = table_find(&env->tables, a->internal_table);
	if (internal != NULL && alias_get(internal, name) != NULL) {
		if (!q->local && !q->authenticated)
			return 0;
		return alias_expand(internal, name, 0, users, 0);
	}
	if (aliases != NULL && alias_get(aliases, name) != NULL)
		return alias_expand(aliases, name, 0, users, 0);
	if (lookup_local_user(name, users[0], ENVELOPE_NAMEMAX) == 0)
		return 1;
	return 0;
}

/*
 * A virtual domain: the whole address is the key, then the address
 * without its sub-address, then @domain; its members are expanded as
 * aliases of the same table.
 */
static int
lookup_virtual(struct table *t, const char *rcpt, const char *base,
    const char *domain, char users[][ENVELOPE_NAMEMAX])
{
	char	 key[ENVELOPE_ADDRMAX];

	if (strlcpy(key, rcpt, sizeof(key)) >= sizeof(key))
		return 0;
	lowercase(key);
	if (alias_get(t, key) != NULL)
		return alias_expand(t, key, 0, users, 0);
	if (base != NULL && (size_t)snprintf(key, sizeof(key), "%s@%s", base,
	    domain) < sizeof(key)) {
		lowercase(key);
		if (alias_get(t, key) != NULL)
			return alias_expand(t, key, 0, users, 0);
	}
	if ((size_t)snprintf(key, sizeof(key), "@%s", domain) < sizeof(key)) {
		lowercase(key);
		if (alias_get(t, key) != NULL)
			return alias_expand(t, key, 0, users, 0);
	}
	return 0;
}

/*
 * A local recipient: the name as given, and failing that the name
 * without its sub-address (user+tag goes to user).
 */
static int
lookup_rcpt_local(const struct rcpt_query *q, const struct action *a,
    const char *localpart, struct dest *dests)
{
	char		 users[ALIAS_MEMBERS_MAX][ENVELOPE_NAMEMAX];
	char		 name[ENVELOPE_NAMEMAX], *delim, *base = NULL;
	const char	*domain;
	struct table	*virt;
	int		 i, n;

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
	if (a->virtual_table[0] != '\0' &&
	    (virt = table_find(&env->tables, a->virtual_table)) != NULL) {
		domain = strrchr(q->rcpt, '@');
		n = lookup_virtual(virt, q->rcpt, base,
		    domain != NULL ? domain + 1 : "", users);
	} else if ((n = lookup_local_name(q, a, name, users)) == 0 &&
	    base != NULL)
		n = lookup_local_name(q, a, base, users);
	free(base);
	for (i = 0; i < n; i++) {
		strlcpy(dests[i].action, a->name, sizeof(dests[i].action));
		strlcpy(dests[i].user, users[i], sizeof(dests[i].user));
	}
	return n;
}

/*
 * Where a recipient goes, by the match rules: LOOKUP_OK with its
 * destinations, or a refusal with the reply text.
 */
static uint32_t
lookup_resolve(const struct rcpt_query *q, struct dest *dests, int *ndests,
    char *text, size_t textlen)
{
	struct policy_facts		 facts;
	const struct policy_rule	*rule;
	struct action			*a;
	char				 localpart[ENVELOPE_ADDRMAX];
	char				 domain[ENVELOPE_ADDRMAX], *at;

	*ndests = 0;
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
	facts.authenticated = q->authenticated;
	facts.auth_user = q->auth_user;
	facts.tls = q->tls;
	facts.sender = q->sender;
	facts.rcpt = q->rcpt;
	facts.rcpt_domain = domain;
	facts.rcpt_domain_local = domain[0] != '[' &&
	    lookup_domain_is_local(domain);

	rule = policy_match(&env->rules, &facts, lookup_table_has, NULL);
	if (rule == NULL) {
		strlcpy(text, facts.rcpt_domain_local ?
		    "550 5.7.1 Delivery not authorized, message refused" :
		    "550 5.7.1 Relaying denied", textlen);
		return LOOKUP_PERMFAIL;
	}
	if (rule->reject) {
		snprintf(text, textlen, "550 5.7.1 %s",
		    rule->reject_text[0] ? rule->reject_text : "Rejected");
		return LOOKUP_PERMFAIL;
	}
	if ((a = config_action(env, rule->action)) == NULL)
		fatalx("lookup: rule names unknown action %s", rule->action);
	if (a->type == ACTION_RELAY) {
		strlcpy(dests[0].action, a->name, sizeof(dests[0].action));
		dests[0].user[0] = '\0';
		*ndests = 1;
		return LOOKUP_OK;
	}
	if ((*ndests = lookup_rcpt_local(q, a, localpart, dests)) == 0) {
		strlcpy(text, REPLY_UNKNOWN, textlen);
		return LOOKUP_PERMFAIL;
	}
	return LOOKUP_OK;
}

static void
lookup_rcpt(struct imsg *imsg)
{
	struct rcpt_query	 q;
	struct dest		 dests[ALIAS_MEMBERS_MAX];
	char			 text[SMTP_LINE_MAX] = "";
	uint32_t		 status;
	int			 n;

	memset(&q, 0, sizeof(q));
	imsg_get_string(imsg, q.sender, sizeof(q.sender));
	imsg_get_string(imsg, q.rcpt, sizeof(q.rcpt));
	lookup_client(imsg, &q.ss);
	imsg_get_string(imsg, q.rdns, sizeof(q.rdns));
	q.authenticated = imsg_get_u8(imsg);
	imsg_get_string(imsg, q.auth_user, sizeof(q.auth_user));
	q.tls = imsg_get_u8(imsg);
	proc_check(PROC_SMTP, imsg);
	q.local = addr_is_loopback((struct sockaddr *)&q.ss);

	status = lookup_resolve(&q, dests, &n, text, sizeof(text));
	lookup_rcpt_reply(PROC_SMTP, IMSG_LOOKUP_SMTP_RCPT, imsg->hdr.peerid,
	    status, text, dests, n);
}

/*
 * The queue routes a message it makes itself (a bounce): a local
 * submission from the null sender, judged by the same rules.
 */
static void
lookup_queue_rcpt(struct imsg *imsg)
{
	struct rcpt_query	 q;
	struct dest		 dests[ALIAS_MEMBERS_MAX];
	char			 text[SMTP_LINE_MAX] = "";
	uint32_t		 status;
	int			 n;

	memset(&q, 0, sizeof(q));
	imsg_get_string(imsg, q.rcpt, sizeof(q.rcpt));
	proc_check(PROC_QUEUE, imsg);
	q.local = 1;
	status = lookup_resolve(&q, dests, &n, text, sizeof(text));
	lookup_rcpt_reply(PROC_QUEUE, IMSG_LOOKUP_QUEUE_RCPT,
	    imsg->hdr.peerid, status, text, dests, n);
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
 * local nor authenticated.
 */
static void
lookup_vrfy_expn(struct imsg *imsg, int expn)
{
	char		 name[ENVELOPE_ADDRMAX], *at;
	char		 users[ALIAS_MEMBERS_MAX][ENVELOPE_NAMEMAX];
	char		 user[ENVELOPE_NAMEMAX];
	struct table	*aliases, *internal;
	struct ibuf	*b;
	int		 privileged, i, n = 0;

	imsg_get_string(imsg, name, sizeof(name));
	privileged = imsg_get_u8(imsg);
	proc_check(PROC_SMTP, imsg);
	if ((at = strrchr(name, '@')) != NULL) {
		if (!lookup_domain_is_local(at + 1))
			name[0] = '\0';
		*at = '\0';
	}
	lowercase(name);
	aliases = lookup_alias_table(0);
	internal = lookup_alias_table(1);

	if (name[0] == '\0' || strlen(name) >= ENVELOPE_NAMEMAX)
		n = 0;
	else if (internal != NULL && alias_get(internal, name) != NULL)
		n = privileged ? alias_expand(internal, name, 0, users, 0) : 0;
	else if (aliases != NULL && alias_get(aliases, name) != NULL)
		n = alias_expand(aliases, name, 0, users, 0);
	else if (!expn && lookup_local_user(name, user, sizeof(user)) == 0) {
		strlcpy(users[0], user, sizeof(users[0]));
		n = 1;
	}

	b = proc_create(expn ? IMSG_LOOKUP_SMTP_EXPN : IMSG_LOOKUP_SMTP_VRFY,
	    imsg->hdr.peerid, -1);
	imsg_add_u32(b, n);
	for (i = 0; i < n; i++)
		imsg_add_string(b, users[i]);
	proc_close(PROC_SMTP, b);
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

/* smtpctl update table NAME: read a file table (or the kill file) again. */
static void
lookup_update_table(struct imsg *imsg)
{
	struct table	*t;
	struct killfile	*kf;
	struct ibuf	*b;
	char		 name[TABLE_NAMESZ], err[256], text[512];
	int		 ok = 0;

	imsg_get_string(imsg, name, sizeof(name));
	proc_check(PROC_CONTROL, imsg);
	if ((t = table_find(&env->tables, name)) == NULL)
		snprintf(text, sizeof(text), "no such table: %s", name);
	else if (lookup_is_credentials(name))
		snprintf(text, sizeof(text), "table %s holds credentials, "
		    "which the auth process reads at start: restart smtpd "
		    "to reload it", name);
	else if (t->backend != TABLE_FILE)
		snprintf(text, sizeof(text), "table %s is not a file table",
		    name);
	else if (strcmp(name, env->killfile) == 0) {
		kf = killfile;
		if (killfile_load(kf, t->path, err, sizeof(err)) == -1)
			snprintf(text, sizeof(text), "%s", err);
		else {
			ok = 1;
			snprintf(text, sizeof(text), "table %s: %zu entries",
			    name, killfile_count(kf));
		}
	} else if (table_reload(t, err, sizeof(err)) == -1)
		snprintf(text, sizeof(text), "%s", err);
	else {
		ok = 1;
		snprintf(text, sizeof(text), "table %s: %zu entries", name,
		    t->count);
	}
	log_info("lookup: update table %s result=%s%s%s", name,
	    ok ? "ok" : "failed", ok ? "" : " error=", ok ? "" : text);
	b = proc_create(ok ? IMSG_CTL_OK : IMSG_CTL_FAIL, imsg->hdr.peerid,
	    -1);
	imsg_add_string(b, text);
	proc_close(PROC_CONTROL, b);
}

static void
lookup_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_QUEUE:
		switch (imsg->hdr.type) {
		case IMSG_QUEUE_LOOKUP_RCPT:
			lookup_queue_rcpt(imsg);
			return;
		}
		break;
	case PROC_CONTROL:
		switch (imsg->hdr.type) {
		case IMSG_CTL_UPDATE_TABLE:
			lookup_update_table(imsg);
			return;
		}
		break;
	case PROC_SMTP:
		switch (imsg->hdr.type) {
		case IMSG_SMTP_LOOKUP_CONNECT:
			lookup_connect(imsg);
			return;
		case IMSG_SMTP_LOOKUP_MAIL:
			lookup_mail(imsg);
			return;
		case IMSG_SMTP_LOOKUP_RCPT:
			lookup_rcpt(imsg);
			return;
		case IMSG_SMTP_LOOKUP_VRFY:
			lookup_vrfy_expn(imsg, 0);
			return;
		case IMSG_SMTP_LOOKUP_EXPN:
			lookup_vrfy_expn(imsg, 1);
			return;
		}
		break;
	default:
		break;
	}
	proc_bad_imsg(PROC_LOOKUP, from, imsg);
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

void
lookup_main(void)
{
	struct sandbox_path	 paths[64];
	struct table		*t;
	size_t			 n = 0;

	event_init();
	proc_peers_from_exec(PROC_LOOKUP, lookup_dispatch);
	proc_signals();
	lookup_killfile_load();
	dns_init();

	/* Warm up NSS while everything is still reachable. */
	(void)getpwnam("root");
	endpwent();

	paths[n++] = (struct sandbox_path){ "/etc", SANDBOX_READ };
	paths[n++] = (struct sandbox_path){ "/usr/lib", SANDBOX_READ };
	paths[n++] = (struct sandbox_path){ "/lib", SANDBOX_READ };
	TAILQ_FOREACH(t, &env->tables, entry)
		if (t->backend == TABLE_FILE && n < 63)
			paths[n++] = (struct sandbox_path){ t->path,
			    SANDBOX_READ };
	paths[n] = (struct sandbox_path){ NULL, 0 };
	proc_drop_privileges(SMTPD_USER, NULL);
	sandbox(PROMISES_LOOKUP, paths);
	event_dispatch();
	fatalx("lookup: event loop ended");
}
