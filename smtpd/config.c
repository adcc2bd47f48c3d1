/*
 * The parsed configuration: defaults, the checks that need the whole
 * file, and freeing it.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "smtpd.h"
#include "session_msg.h"
#include "forward_msg.h"
#include "parent_msg.h"
#include "../queue/queue_msg.h"

/*
 * The message layouts live below the configuration and repeat its
 * sizes as numbers; these keep the copies true.
 */
_Static_assert(MSG_ADDR_MAX == ENVELOPE_ADDRMAX, "MSG_ADDR_MAX");
_Static_assert(MSG_HOST_MAX == ENVELOPE_HOSTMAX, "MSG_HOST_MAX");
_Static_assert(MSG_ORCPT_MAX == ENVELOPE_ORCPTMAX, "MSG_ORCPT_MAX");
_Static_assert(MSG_TABLE_MAX == TABLE_NAMESZ, "MSG_TABLE_MAX");
_Static_assert(MSG_NETADDR_MAX == ADDR_TEXT_MAX, "MSG_NETADDR_MAX");
_Static_assert(MSG_FORWARD_USER_MAX == ENVELOPE_NAMEMAX,
    "MSG_FORWARD_USER_MAX");
_Static_assert(MSG_FORWARD_PIECE_MAX == FORWARD_CHUNK_MAX + 1,
    "MSG_FORWARD_PIECE_MAX");
_Static_assert(MSG_TABLE_NAME_MAX == TABLE_NAMESZ, "MSG_TABLE_NAME_MAX");
_Static_assert(MSG_TRANSFER_MAX >= SMTP_MAX_ENVELOPES, "MSG_TRANSFER_MAX");

/* Debian names the host's mail domain in /etc/mailname. */
static void
config_mailname(char *buf, size_t len)
{
	FILE	*f;

	buf[0] = '\0';
	if ((f = conffile_open("/etc/mailname", CONFFILE_CONF, NULL)) == NULL)
		return;
	if (fgets(buf, len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	fclose(f);
}

struct smtpd_config *
config_new(void)
{
	struct smtpd_config	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	config_mailname(c->hostname, sizeof(c->hostname));
	if (c->hostname[0] == '\0' &&
	    gethostname(c->hostname, sizeof(c->hostname)) == -1)
		strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	strlcpy(c->queue_dir, SMTPD_QUEUE_DIR, sizeof(c->queue_dir));
	strlcpy(c->control_socket, SMTPD_SOCKET, sizeof(c->control_socket));
	c->max_message_size = SMTPD_MAXMESSAGESIZE;
	c->max_rcpt = SMTP_MAX_RCPT;
	c->max_sessions = 1000;
	c->max_sessions_per_addr = 50;
	c->max_errors = 5;
	c->max_hops = 100;
	c->max_auth_failures = 5;
	c->max_auth_user_failures = 10;
	c->timeout_command = 300;
	c->timeout_data = 600;
	c->timeout_message = 30 * 60;
	c->timeout_session = 60 * 60;
	c->auth_failure_delay = 2;
	c->queue_ttl = 4 * 86400;
	/* After the n-th temporary failure; the last one repeats. */
	c->retry[0] = 60;
	c->retry[1] = 5 * 60;
	c->retry[2] = 15 * 60;
	c->retry[3] = 30 * 60;
	c->retry[4] = 60 * 60;
	c->nretry = 5;
	c->subaddr_delim = '+';
	c->bounce_warn = 4 * 3600;
	c->help = 0;
	c->vrfy = SMTP_ALLOW_OFF;
	c->expn = SMTP_ALLOW_OFF;
	/* RFC 5321 4.5.3.2: five minutes a command, ten for the dot. */
	c->mta.max_sessions = 100;
	c->mta.max_sessions_domain = 10;
	c->mta.max_sessions_host = 10;
	c->mta.max_rcpt = 100;
	c->mta.max_messages = 100;
	c->mta.timeout_connect = 30;
	c->mta.timeout_command = 300;
	c->mta.timeout_data = 600;
	c->mta.family = MTA_FAMILY_ANY;
	c->mta.resolver_port = 53;
	TAILQ_INIT(&c->listeners);
	TAILQ_INIT(&c->pkis);
	TAILQ_INIT(&c->tables);
	TAILQ_INIT(&c->actions);
	TAILQ_INIT(&c->rules);
	return c;
}

void
config_free(struct smtpd_config *c)
{
	struct listener		*l;
	struct table		*t;
	struct action		*a;
	struct policy_rule	*r;
	struct pki		*pki;

	if (c == NULL)
		return;
	while ((pki = TAILQ_FIRST(&c->pkis)) != NULL) {
		TAILQ_REMOVE(&c->pkis, pki, entry);
		free(pki);
	}
	while ((l = TAILQ_FIRST(&c->listeners)) != NULL) {
		TAILQ_REMOVE(&c->listeners, l, entry);
		tls_free(l->tls_ctx);
		free(l);
	}
	while ((t = TAILQ_FIRST(&c->tables)) != NULL) {
		TAILQ_REMOVE(&c->tables, t, entry);
		table_free(t);
	}
	while ((a = TAILQ_FIRST(&c->actions)) != NULL) {
		TAILQ_REMOVE(&c->actions, a, entry);
		free(a);
	}
	while ((r = TAILQ_FIRST(&c->rules)) != NULL) {
		TAILQ_REMOVE(&c->rules, r, entry);
		policy_rule_free(r);
	}
	free(c->file);
	free(c);
}

/*
 * How many sessions the listener can hold with nofile descriptors:
 * each session takes its socket and, while a message comes in, the
 * message file; SMTP_FD_RESERVE stay free for the process's channels,
 * its listening sockets, libevent, and a connection being turned away.
 */
size_t
config_fd_sessions(unsigned long long nofile)
{
	if (nofile <= SMTP_FD_RESERVE + SMTP_FD_PER_SESSION)
		return 1;
	return (nofile - SMTP_FD_RESERVE) / SMTP_FD_PER_SESSION;
}

/* Whether an action expands members with t: its alias tables. */
int
config_alias_table(struct smtpd_config *c, const struct table *t)
{
	struct action	*a;

	TAILQ_FOREACH(a, &c->actions, entry)
		if (strcmp(a->alias_table, t->name) == 0 ||
		    strcmp(a->internal_table, t->name) == 0 ||
		    strcmp(a->virtual_table, t->name) == 0)
			return 1;
	return 0;
}

/*
 * The files the alias tables include, read with them: recorded by the
 * parent, served to lookup.
 */
void
config_includes_load(struct smtpd_config *c)
{
	struct table	*t;

	TAILQ_FOREACH(t, &c->tables, entry)
		if (config_alias_table(c, t))
			table_includes_load(t, &c->tables);
}

/* Seconds, or a number with s, m, h or d; at most 30 days. */
int
config_duration_parse(const char *s)
{
	char		 num[16];
	const char	*errstr;
	size_t		 len = strlen(s);
	int		 mult, n;

	if (len < 2 || len >= sizeof(num))
		return -1;
	switch (s[len - 1]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -1;
	}
	strlcpy(num, s, sizeof(num));
	num[len - 1] = '\0';
	n = strtonum(num, 0, DURATION_MAX / mult, &errstr);
	if (errstr != NULL)
		return -1;
	return n * mult;
}

/* A size in bytes, with an optional K, M or G suffix (powers of 1024). */
int
config_size_parse(const char *s, size_t *out)
{
	char		 num[32], *ep;
	const char	*errstr;
	size_t		 len = strlen(s), mult = 1;
	long long	 n;

	if (len == 0 || len >= sizeof(num))
		return -1;
	strlcpy(num, s, sizeof(num));
	ep = num + len - 1;
	switch (toupper((unsigned char)*ep)) {
	case 'K':
		mult = 1024;
		break;
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	}
	if (mult != 1)
		*ep = '\0';
	n = strtonum(num, 1, LLONG_MAX / mult, &errstr);
	if (errstr != NULL)
		return -1;
	*out = (size_t)n * mult;
	return 0;
}

struct action *
config_action(struct smtpd_config *c, const char *name)
{
	struct action	*a;

	TAILQ_FOREACH(a, &c->actions, entry)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

struct pki *
config_pki(struct smtpd_config *c, const char *name)
{
	struct pki	*pki;

	TAILQ_FOREACH(pki, &c->pkis, entry)
		if (strcmp(pki->name, name) == 0)
			return pki;
	return NULL;
}

/*
 * [scheme://][label@]host[:port], host a name or [address]; the
 * scheme is smtp (STARTTLS when offered, the default), smtp+tls
 * (STARTTLS required), smtps (TLS from the start) or smtp+notls.
 */
int
relay_url_parse(const char *url, struct relay_opts *r, char *err,
    size_t errlen)
{
	static const struct {
		const char	*name;
		int		 tls;
	} schemes[] = {
		{ "smtp", RELAY_TLS_OPPORTUNISTIC },
		{ "smtp+tls", RELAY_TLS_STARTTLS },
		{ "smtps", RELAY_TLS_SMTPS },
		{ "smtp+notls", RELAY_TLS_NONE },
	};
	char		 buf[512], *p, *host, *at, *colon, *end;
	const char	*errstr;
	size_t		 i;
	long long	 port = 0;

	if (strlcpy(buf, url, sizeof(buf)) >= sizeof(buf)) {
		snprintf(err, errlen, "relay URL too long");
		return -1;
	}
	r->tls = RELAY_TLS_OPPORTUNISTIC;
	p = buf;
	if ((end = strstr(buf, "://")) != NULL) {
		*end = '\0';
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (strcmp(buf, schemes[i].name) == 0)
				break;
		if (i == sizeof(schemes) / sizeof(schemes[0])) {
			snprintf(err, errlen, "unknown relay scheme: %s", buf);
			return -1;
		}
		r->tls = schemes[i].tls;
		p = end + 3;
	}
	r->label[0] = '\0';
	if ((at = strrchr(p, '@')) != NULL) {
		*at = '\0';
		if (p[0] == '\0' || strlcpy(r->label, p, sizeof(r->label)) >=
		    sizeof(r->label)) {
			snprintf(err, errlen, "bad relay label");
			return -1;
		}
		p = at + 1;
	}
	host = p;
	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL) {
			snprintf(err, errlen, "unterminated [address]");
			return -1;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			snprintf(err, errlen, "junk after [address]");
			return -1;
		}
	} else
		colon = strchr(host, ':');
	if (colon != NULL) {
		*colon = '\0';
		port = strtonum(colon + 1, 1, 65535, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "relay port is %s", errstr);
			return -1;
		}
	}
	if (host[0] == '\0' || strchr(host, '/') != NULL ||
	    strlcpy(r->host, host, sizeof(r->host)) >= sizeof(r->host)) {
		snprintf(err, errlen, "bad relay host");
		return -1;
	}
	r->port = port;
	return 0;
}

static int
config_check_relay(struct smtpd_config *c, struct action *a)
{
	struct relay_opts	*r = &a->relay;
	int			 errors = 0;

	if (a->type != ACTION_RELAY)
		return 0;
	if (r->auth_table[0] != '\0' && r->host[0] == '\0') {
		log_warnx("%s:%d: auth needs a relay host", c->file, a->line);
		errors++;
	}
	if (r->auth_table[0] != '\0' && r->label[0] == '\0') {
		log_warnx("%s:%d: auth needs a label in the relay URL "
		    "(smtp://label@host)", c->file, a->line);
		errors++;
	}
	if (r->auth_table[0] != '\0' && r->tls == RELAY_TLS_NONE) {
		log_warnx("%s:%d: auth is only sent over TLS, not with "
		    "smtp+notls", c->file, a->line);
		errors++;
	}
	if (r->tls_require && r->tls == RELAY_TLS_NONE) {
		log_warnx("%s:%d: tls with smtp+notls", c->file, a->line);
		errors++;
	}
	if (r->domain_table[0] != '\0' && r->host[0] != '\0') {
		log_warnx("%s:%d: domain and host exclude each other",
		    c->file, a->line);
		errors++;
	}
	return errors;
}

static void
config_unreachable(const struct policy_rule *shadowed,
    const struct policy_rule *by, void *arg)
{
	struct smtpd_config	*c = arg;

	log_warnx("%s:%d: match rule can never match: the rule on line %d "
	    "always matches first", c->file, shadowed->line, by->line);
}

static int
config_check_pki(struct smtpd_config *c, struct pki *pki, int files)
{
	const char		*paths[2] = { pki->cert, pki->key };
	const char		*what[2] = { "cert", "key" };
	const int		 kind[2] = { CONFFILE_CERT, CONFFILE_KEY };
	const unsigned char	*data;
	size_t			 len;
	int			 i, errors = 0;

	for (i = 0; i < 2; i++) {
		if (paths[i][0] == '\0') {
			log_warnx("%s:%d: pki %s has no %s", c->file,
			    pki->line, pki->name, what[i]);
			errors++;
			continue;
		}
		if (!(files & PARSE_PKI))
			continue;
		/* Read now: the listener gets these very bytes. */
		if (conffile_read(paths[i], kind[i], &data, &len) == -1) {
			log_warnx("%s:%d: pki %s: %s: %s", c->file, pki->line,
			    pki->name, paths[i], strerror(errno));
			errors++;
		}
	}
	return errors;
}

/* A certificate, key or CA of the configuration's files, or why not. */
static int
config_tls_file(struct listener *l, const char *what, const char *path,
    int kind, const unsigned char **data, size_t *len, char *err,
    size_t errlen)
{
	if (conffile_read(path, kind, data, len) == -1) {
		snprintf(err, errlen, "%d: %s %s: %s", l->line, what, path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static struct tls *
config_tls_fail(struct listener *l, const char *what, struct tls_config *cfg,
    struct tls *ctx, char *err, size_t errlen)
{
	snprintf(err, errlen, "%d: %s: %s", l->line, what,
	    tls_config_error(cfg) ? tls_config_error(cfg) : tls_error(ctx));
	tls_config_free(cfg);
	tls_free(ctx);
	return NULL;
}

/*
 * The TLS server context of a listener: its key pairs, chosen by SNI
 * (the first pki is the default), its protocols and ciphers, and the CA
 * its clients' certificates are checked against.  The parent makes it
 * to check the files, the listener to serve; NULL with err set to
 * "LINE: what is wrong".
 */
struct tls *
config_tls_server(struct smtpd_config *c, struct listener *l, char *err,
    size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx;
	struct pki		*pki;
	const unsigned char	*cert, *key, *ca;
	char			 what[LISTEN_CIPHERS_MAX + 16];
	size_t			 certlen, keylen, calen;
	uint32_t		 protocols;
	int			 i, r;

	if ((cfg = tls_config_new()) == NULL || (ctx = tls_server()) == NULL)
		fatal("tls");
	for (i = 0; i < l->tls.npki; i++) {
		if ((pki = config_pki(c, l->tls.pki[i])) == NULL)
			fatalx("no pki %s", l->tls.pki[i]);
		if (config_tls_file(l, "cert", pki->cert, CONFFILE_CERT,
		    &cert, &certlen, err, errlen) == -1 ||
		    config_tls_file(l, "key", pki->key, CONFFILE_KEY, &key,
		    &keylen, err, errlen) == -1) {
			tls_config_free(cfg);
			tls_free(ctx);
			return NULL;
		}
		if (i == 0)
			r = tls_config_set_keypair_mem(cfg, cert, certlen,
			    key, keylen);
		else
			r = tls_config_add_keypair_mem(cfg, cert, certlen,
			    key, keylen);
		if (r == -1)
			return config_tls_fail(l, pki->name, cfg, ctx, err,
			    errlen);
	}
	protocols = l->tls.protocols;
	if (protocols == 0)
		protocols = TLS_PROTOCOL_TLSv1_2 | TLS_PROTOCOL_TLSv1_3;
	if (tls_config_set_protocols(cfg, protocols) == -1)
		return config_tls_fail(l, "protocols", cfg, ctx, err, errlen);
	if (l->tls.ciphers[0] != '\0' &&
	    tls_config_set_ciphers(cfg, l->tls.ciphers) == -1) {
		snprintf(what, sizeof(what), "ciphers \"%s\"", l->tls.ciphers);
		return config_tls_fail(l, what, cfg, ctx, err, errlen);
	}
	if (l->flags & LISTEN_VERIFY) {
		if (config_tls_file(l, "ca", l->tls.ca, CONFFILE_CERT, &ca,
		    &calen, err, errlen) == -1) {
			tls_config_free(cfg);
			tls_free(ctx);
			return NULL;
		}
		if (tls_config_set_ca_mem(cfg, ca, calen) == -1)
			return config_tls_fail(l, l->tls.ca, cfg, ctx, err,
			    errlen);
		/* Mandatory is judged at MAIL, with a reply that says so. */
		tls_config_verify_client_optional(cfg);
	}
	if (tls_configure(ctx, cfg) == -1)
		return config_tls_fail(l, "tls_configure", cfg, ctx, err,
		    errlen);
	tls_config_free(cfg);
	return ctx;
}

/* A listener's pki must exist. */
static int
config_check_listener(struct smtpd_config *c, struct listener *l)
{
	int			 i, errors = 0;

	for (i = 0; i < l->tls.npki; i++)
		if (config_pki(c, l->tls.pki[i]) == NULL) {
			log_warnx("%s:%d: no such pki: %s", c->file, l->line,
			    l->tls.pki[i]);
			errors++;
		}
	return errors;
}

/*
 * Each TLS listener's context must come out of the files as the
 * listener will make it: a certificate that does not match its key is
 * refused here, not in the listener.
 */
static int
config_check_tls(struct smtpd_config *c)
{
	struct listener	*l;
	struct tls	*ctx;
	char		 err[512];
	int		 errors = 0;

	TAILQ_FOREACH(l, &c->listeners, entry) {
		if (!(l->flags & (LISTEN_TLS | LISTEN_SMTPS)))
			continue;
		if ((ctx = config_tls_server(c, l, err, sizeof(err))) ==
		    NULL) {
			log_warnx("%s:%s", c->file, err);
			errors++;
		}
		tls_free(ctx);
	}
	return errors;
}

static int
config_check_killfile_entry(const char *key, const char *value, void *arg)
{
	struct killfile	*kf = arg;

	return killfile_add(kf, key) == -1 ? -1 : 0;
}

/* The kill file must load now, not kill lookup after smtpd detached. */
static int
config_check_killfile(struct smtpd_config *c)
{
	struct table	*t;
	struct killfile	*kf;
	char		 err[256];
	int		 rc = 0;

	if (c->killfile[0] == '\0' ||
	    (t = table_find(&c->tables, c->killfile)) == NULL)
		return 0;
	if ((kf = killfile_new()) == NULL)
		fatal("killfile_new");
	if (t->backend == TABLE_FILE) {
		if (killfile_load(kf, t->path, err, sizeof(err)) == -1) {
			log_warnx("%s: killfile: %s", c->file, err);
			rc = -1;
		}
	} else if (table_walk(t, config_check_killfile_entry, kf) == -1) {
		log_warnx("%s:%d: killfile: table %s holds a bad entry",
		    c->file, t->line, t->name);
		rc = -1;
	}
	killfile_free(kf);
	return rc;
}

struct userbase_check {
	struct smtpd_config	*c;
	struct table		*t;
	int			 errors;
};

static int
config_check_userbase_entry(const char *key, const char *value, void *arg)
{
	struct userbase_check	*uc = arg;
	struct userbase_user	 u;
	char			 err[256];
	int			 line;

	if (userbase_parse(key, value, &u, err, sizeof(err)) == 0)
		return 0;
	/* A file's entry is named by its own line, as table_load does. */
	if ((line = table_line(uc->t, key)) > 0)
		log_warnx("%s:%d: table %s: %s:%d: %s", uc->c->file,
		    uc->t->line, uc->t->name, uc->t->path, line, err);
	else
		log_warnx("%s:%d: table %s: %s", uc->c->file, uc->t->line,
		    uc->t->name, err);
	uc->errors++;
	return 0;
}

/*
 * Every entry of each userbase table, once per table: a bad one would
 * otherwise be found only when mail came for it.
 */
static int
config_check_userbases(struct smtpd_config *c)
{
	struct userbase_check	 uc;
	struct action		*a, *b;

	memset(&uc, 0, sizeof(uc));
	uc.c = c;
	TAILQ_FOREACH(a, &c->actions, entry) {
		if (a->userbase_table[0] == '\0' ||
		    (uc.t = table_find(&c->tables, a->userbase_table)) == NULL)
			continue;
		TAILQ_FOREACH(b, &c->actions, entry)
			if (b == a || strcmp(b->userbase_table,
			    a->userbase_table) == 0)
				break;
		if (b == a)
			table_walk(uc.t, config_check_userbase_entry, &uc);
	}
	return uc.errors;
}

/*
 * What can only be judged once the whole file is read.  With files set
 * (the parent, smtpd -n), certificates and keys must also be readable.
 */
int
config_check(struct smtpd_config *c, int files)
{
	struct action	*a;
	struct listener	*l;
	struct pki	*pki;
	int		 errors = 0;

	if (TAILQ_EMPTY(&c->listeners)) {
		log_warnx("%s: no listen directive", c->file);
		errors++;
	}
	TAILQ_FOREACH(l, &c->listeners, entry)
		errors += config_check_listener(c, l);
	TAILQ_FOREACH(pki, &c->pkis, entry)
		errors += config_check_pki(c, pki, files);
	if (errors == 0 && (files & PARSE_PKI))
		errors += config_check_tls(c);
	if ((files & PARSE_TABLES) && c->control_group[0] != '\0' &&
	    getgrnam(c->control_group) == NULL) {
		log_warnx("%s: control socket group %s: no such group",
		    c->file, c->control_group);
		errors++;
	}
	if ((files & PARSE_TABLES) && c->submit_group[0] != '\0' &&
	    getgrnam(c->submit_group) == NULL) {
		log_warnx("%s: trusted-group %s: no such group", c->file,
		    c->submit_group);
		errors++;
	}
	if (TAILQ_EMPTY(&c->rules))
		log_warnx("%s: no match rule: every recipient will be "
		    "refused", c->file);
	TAILQ_FOREACH(a, &c->actions, entry)
		errors += config_check_relay(c, a);
	TAILQ_FOREACH(a, &c->actions, entry)
		if (!a->used)
			log_warnx("%s:%d: action \"%s\" is never used",
			    c->file, a->line, a->name);
	if (files & PARSE_TABLES) {
		policy_unreachable(&c->rules, config_unreachable, c);
		if (config_check_killfile(c) == -1)
			errors++;
		errors += config_check_userbases(c);
	}
	return errors ? -1 : 0;
}
