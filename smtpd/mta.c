/*
 * The mta process: relays mail to other hosts as an SMTP client.  It
 * may open connections but touches no file once it is set up.
 *
 * The queue hands it transfers: the recipients of one message for one
 * destination, with the message file open read-only.  A transfer joins
 * the route of its action and destination; a route is resolved once
 * (mta_dns.c) into addresses by preference, minus this host itself,
 * and sessions (mta_session.c) connect to those addresses and take the
 * route's transfers one after another, several per connection.  An
 * address that refuses or times out is backed off as a host, so that
 * many messages for a dead host cost few connection attempts, and a
 * route whose sessions all failed hands its waiting transfers back as
 * temporary failures at once.  Every recipient gets one answer.
 *
 * What it trusts: the queue and the configuration.  Not the DNS, not
 * the remote servers: their words reach the queue only cleaned and
 * bounded (mta_reply.c).  A transfer and a result are read and written
 * by queue/queue_msg.c, which the queue links too.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "smtpd.h"
#include "mta.h"
#include "../queue/queue_msg.h"

#define MTA_CA_FILE		"/etc/ssl/certs/ca-certificates.crt"
#define MTA_ROUTE_TTL		60	/* seconds a resolved route is kept */
#define MTA_BACKOFF_MIN		60
#define MTA_BACKOFF_MAX		3600

struct mta_idle {
	TAILQ_ENTRY(mta_idle)	 entry;
	struct mta_session	*s;
};

enum route_state {
	ROUTE_NEW,
	ROUTE_RESOLVING,
	ROUTE_READY,
	ROUTE_FAILED,
};

struct mta_route {
	TAILQ_ENTRY(mta_route)	 entry;
	const struct action	*action;
	char			 domain[SMTP_DOMAIN_MAX + 1];
	enum route_state	 state;
	time_t			 expires;
	int			 status;	/* of a failed route */
	char			 err[MTA_REPLY_TEXT_MAX];
	struct mta_addr		*addrs;
	size_t			 naddrs;
	struct mta_tasklist	 tasks;
	size_t			 ntasks;
	TAILQ_HEAD(, mta_idle)	 idle;		/* sessions waiting for work */
	size_t			 nsessions;
	int			 failed_round;	/* a session found no host */
	char			 lasterr[MTA_REPLY_TEXT_MAX];
};
static TAILQ_HEAD(, mta_route)	 routes = TAILQ_HEAD_INITIALIZER(routes);

/* An address sessions connect to, and how it has fared. */
struct mta_host {
	TAILQ_ENTRY(mta_host)	 entry;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	size_t			 nsessions;
	int			 nfail;
	time_t			 down_until;
};
static TAILQ_HEAD(, mta_host)	 hosts = TAILQ_HEAD_INITIALIZER(hosts);

static size_t			 nsessions;
static struct tls_config	*tls_verify, *tls_noverify;
static struct table_list	 creds = TAILQ_HEAD_INITIALIZER(creds);
/*
 * What a reload replaced: routes and sessions begun before it point
 * into the old configuration and its tables, so neither is ever freed.
 */
static struct table_list	 creds_retired =
    TAILQ_HEAD_INITIALIZER(creds_retired);

static void	mta_route_run(struct mta_route *);

static struct mta_host *
mta_host_find(const struct sockaddr_storage *ss, socklen_t len)
{
	struct mta_host	*h;

	TAILQ_FOREACH(h, &hosts, entry)
		if (h->sslen == len && memcmp(&h->ss, ss, len) == 0)
			return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("calloc");
	memcpy(&h->ss, ss, len);
	h->sslen = len;
	TAILQ_INSERT_TAIL(&hosts, h, entry);
	return h;
}

void
mta_host_failed(const struct mta_addr *a, const char *why)
{
	struct mta_host	*h = mta_host_find(&a->ss, a->sslen);
	int		 delay;

	h->nfail++;
	delay = MTA_BACKOFF_MIN << (h->nfail > 6 ? 6 : h->nfail - 1);
	if (delay > MTA_BACKOFF_MAX)
		delay = MTA_BACKOFF_MAX;
	h->down_until = time(NULL) + delay;
	log_info("mta host=%s address=%s result=backoff delay=%d "
	    "error=\"%s\"", a->name, sa_to_text((struct sockaddr *)&a->ss),
	    delay, why);
}

void
mta_host_ok(const struct mta_addr *a)
{
	struct mta_host	*h = mta_host_find(&a->ss, a->sslen);

	h->nfail = 0;
	h->down_until = 0;
}

/*
 * The next address at or after *i that a new connection may go to:
 * not backed off, under its session limit.  A host that is only busy
 * does not send mail on to less preferred ones: those are for hosts
 * that are down.  With take, the address is counted as in use and *i
 * moves past it.
 */
static const struct mta_addr *
mta_route_addr(struct mta_route *r, size_t *i, int take)
{
	struct mta_host	*h;
	time_t		 now = time(NULL);
	int		 busy = -1;

	for (; *i < r->naddrs; (*i)++) {
		if (busy != -1 && r->addrs[*i].pref > busy)
			break;
		h = mta_host_find(&r->addrs[*i].ss, r->addrs[*i].sslen);
		if (h->down_until > now)
			continue;
		if (h->nsessions >= env->mta.max_sessions_host) {
			busy = r->addrs[*i].pref;
			continue;
		}
		if (!take)
			return &r->addrs[*i];
		h->nsessions++;
		return &r->addrs[(*i)++];
	}
	return NULL;
}

const struct mta_addr *
mta_route_next_addr(struct mta_route *r, size_t *i)
{
	return mta_route_addr(r, i, 1);
}

/* Whether a new session would find a host to try. */
static int
mta_route_can_connect(struct mta_route *r)
{
	size_t	 i = 0;

	return mta_route_addr(r, &i, 0) != NULL;
}

/* Whether every host of the route is backed off. */
static int
mta_route_all_down(struct mta_route *r)
{
	struct mta_host	*h;
	time_t		 now = time(NULL);
	size_t		 i;

	for (i = 0; i < r->naddrs; i++) {
		h = mta_host_find(&r->addrs[i].ss, r->addrs[i].sslen);
		if (h->down_until <= now)
			return 0;
	}
	return 1;
}

/* An address taken with mta_route_next_addr() and given up. */
void
mta_route_gone_addr(struct mta_route *r, const struct mta_addr *a)
{
	struct mta_host	*h;

	if (a == NULL)
		return;
	h = mta_host_find(&a->ss, a->sslen);
	h->nsessions--;
}

struct mta_task *
mta_route_next_task(struct mta_route *r)
{
	struct mta_task	*t;

	if ((t = TAILQ_FIRST(&r->tasks)) != NULL) {
		TAILQ_REMOVE(&r->tasks, t, entry);
		r->ntasks--;
	}
	return t;
}

/* A session with nothing to do waits a little for more. */
void
mta_route_idle(struct mta_route *r, struct mta_session *s, int idle)
{
	struct mta_idle	*i;

	if (idle) {
		if ((i = calloc(1, sizeof(*i))) == NULL)
			fatal("calloc");
		i->s = s;
		TAILQ_INSERT_TAIL(&r->idle, i, entry);
		return;
	}
	TAILQ_FOREACH(i, &r->idle, entry)
		if (i->s == s) {
			TAILQ_REMOVE(&r->idle, i, entry);
			free(i);
			return;
		}
}

const struct action *
mta_route_action(struct mta_route *r)
{
	return r->action;
}

const char *
mta_route_name(struct mta_route *r)
{
	return r->domain[0] != '\0' ? r->domain : r->action->relay.host;
}

/* The user:password for the action's label, or NULL. */
const char *
mta_credentials(const struct action *a)
{
	struct table	*t;

	if (a->relay.auth_table[0] == '\0' ||
	    (t = table_find(&creds, a->relay.auth_table)) == NULL)
		return NULL;
	return table_get(t, a->relay.label);
}

struct tls_config *
mta_tls_config(int verify)
{
	return verify ? tls_verify : tls_noverify;
}

/*
 * Every recipient's answer goes to the queue; one still undecided
 * gets deflt (a temporary failure: the session ended first).
 */
void
mta_task_done(struct mta_task *t, const char *remote)
{
	struct msg_result	 r;
	size_t			 i;

	for (i = 0; i < t->nrcpts; i++) {
		if (t->rcpts[i].status == -1) {
			t->rcpts[i].status = DELIVERY_TEMPFAIL;
			if (t->rcpts[i].err[0] == '\0')
				strlcpy(t->rcpts[i].err, "451 4.4.2 "
				    "delivery was not completed",
				    sizeof(t->rcpts[i].err));
		}
		memset(&r, 0, sizeof(r));
		r.evpid = t->rcpts[i].evpid;
		r.status = t->rcpts[i].status;
		strlcpy(r.err, t->rcpts[i].err, sizeof(r.err));
		strlcpy(r.remote, remote != NULL ? remote : "",
		    sizeof(r.remote));
		msg_result_write(&r);
	}
	close(t->fd);
	free(t->rcpts);
	free(t);
}

static void
mta_task_fail(struct mta_task *t, int status, const char *err)
{
	size_t	 i;

	for (i = 0; i < t->nrcpts; i++) {
		t->rcpts[i].status = status;
		strlcpy(t->rcpts[i].err, err, sizeof(t->rcpts[i].err));
	}
	mta_task_done(t, NULL);
}

static void
mta_route_fail_tasks(struct mta_route *r, int status, const char *err)
{
	struct mta_task	*t;

	while ((t = mta_route_next_task(r)) != NULL)
		mta_task_fail(t, status, err);
}

/*
 * A session is over.  One that never got a host to talk to ends the
 * round: what waits fails for now, or every transfer would make its
 * own round of connection attempts.
 */
void
mta_session_gone(struct mta_route *r, const struct mta_addr *a, int usable,
    const char *err)
{
	struct mta_route	*o;

	mta_route_gone_addr(r, a);
	nsessions--;
	r->nsessions--;
	if (!usable) {
		r->failed_round = 1;
		strlcpy(r->lasterr, err, sizeof(r->lasterr));
	}
	mta_route_run(r);
	/* Room for another route's waiting mail, in all or on a host. */
	TAILQ_FOREACH(o, &routes, entry)
		if (o != r && !TAILQ_EMPTY(&o->tasks))
			mta_route_run(o);
}

/* A destination that is this host: its names, its listeners. */
static int
mta_is_self(const struct mta_route *r, const struct mta_addr *a)
{
	struct listener			*l;
	const struct sockaddr_in	*s4, *l4;
	const struct sockaddr_in6	*s6, *l6;
	const char			*mx = r->action->relay.backup_mx;

	if (strcasecmp(a->name, env->hostname) == 0 ||
	    (mx[0] != '\0' && strcasecmp(a->name, mx) == 0))
		return 1;
	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (l->ss.ss_family != a->ss.ss_family)
			continue;
		if (a->ss.ss_family == AF_INET) {
			s4 = (const struct sockaddr_in *)&a->ss;
			l4 = (const struct sockaddr_in *)&l->ss;
			if (s4->sin_port == l4->sin_port &&
			    (l4->sin_addr.s_addr == INADDR_ANY ||
			    l4->sin_addr.s_addr == s4->sin_addr.s_addr))
				return 1;
		} else {
			s6 = (const struct sockaddr_in6 *)&a->ss;
			l6 = (const struct sockaddr_in6 *)&l->ss;
			if (s6->sin6_port == l6->sin6_port &&
			    (IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr) ||
			    IN6_ARE_ADDR_EQUAL(&l6->sin6_addr,
			    &s6->sin6_addr)))
				return 1;
		}
	}
	return 0;
}

static void
mta_route_resolved(void *arg, int status, const char *err,
    struct mta_addr *addrs, size_t n)
{
	struct mta_route	*r = arg;
	size_t			 i, keep;
	int			 self = -1;

	r->expires = time(NULL) + MTA_ROUTE_TTL;
	free(r->addrs);
	r->addrs = NULL;
	r->naddrs = 0;
	if (status != MTA_DNS_OK) {
		r->state = ROUTE_FAILED;
		r->status = status == MTA_DNS_TEMPFAIL ? DELIVERY_TEMPFAIL :
		    DELIVERY_PERMFAIL;
		strlcpy(r->err, err, sizeof(r->err));
		log_info("mta route=%s result=%s error=\"%s\"",
		    mta_route_name(r), status == MTA_DNS_TEMPFAIL ?
		    "tempfail" : "permfail", err);
		mta_route_run(r);
		return;
	}
	/* RFC 5321 5.1: only hosts preferred to this one. */
	keep = n;
	if (r->domain[0] != '\0')
		for (i = 0; i < n; i++)
			if (mta_is_self(r, &addrs[i])) {
				self = addrs[i].pref;
				break;
			}
	if (self != -1)
		for (keep = 0; keep < n && addrs[keep].pref < self; keep++)
			;
	if (keep == 0) {
		r->state = ROUTE_FAILED;
		r->status = DELIVERY_PERMFAIL;
		(void)snprintf(r->err, sizeof(r->err), "554 5.4.6 mail for "
		    "%.128s loops back to this host", mta_route_name(r));
		log_warnx("mta route=%s result=loop", mta_route_name(r));
		mta_route_run(r);
		return;
	}
	if ((r->addrs = calloc(keep, sizeof(*r->addrs))) == NULL)
		fatal("calloc");
	memcpy(r->addrs, addrs, keep * sizeof(*r->addrs));
	r->naddrs = keep;
	r->state = ROUTE_READY;
	log_debug("mta route=%s hosts=%zu", mta_route_name(r), keep);
	mta_route_run(r);
}

static void
mta_route_resolve(struct mta_route *r)
{
	const struct relay_opts	*o = &r->action->relay;
	struct table		*t;
	const char		*name = r->domain, *mapped;
	in_port_t		 port;
	int			 mx = 1;

	r->state = ROUTE_RESOLVING;
	port = env->mta.mx_port ? env->mta.mx_port : SMTPD_PORT;
	if (o->host[0] != '\0') {
		name = o->host;
		mx = 0;
		port = o->port ? o->port : o->tls == RELAY_TLS_SMTPS ? 465 :
		    SMTPD_PORT;
	} else if (o->domain_table[0] != '\0' &&
	    (t = table_find(&creds, o->domain_table)) != NULL &&
	    (mapped = table_get(t, r->domain)) != NULL) {
		name = mapped;
		mx = 0;
	}
	mta_dns_resolve(name, mx, env->mta.family, port, mta_route_resolved,
	    r);
}

/* Hand out what waits on a route: new sessions, or failures. */
static void
mta_route_run(struct mta_route *r)
{
	struct mta_idle		*i;
	struct mta_session	*s;
	time_t			 now = time(NULL);

	if ((r->state == ROUTE_READY || r->state == ROUTE_FAILED) &&
	    r->expires <= now && r->nsessions == 0 &&
	    !TAILQ_EMPTY(&r->tasks))
		r->state = ROUTE_NEW;
	switch (r->state) {
	case ROUTE_NEW:
		if (!TAILQ_EMPTY(&r->tasks))
			mta_route_resolve(r);
		return;
	case ROUTE_RESOLVING:
		return;
	case ROUTE_FAILED:
		mta_route_fail_tasks(r, r->status, r->err);
		return;
	case ROUTE_READY:
		break;
	}
	/* Sessions already open come first. */
	while (!TAILQ_EMPTY(&r->tasks) && (i = TAILQ_FIRST(&r->idle)) !=
	    NULL) {
		s = i->s;
		TAILQ_REMOVE(&r->idle, i, entry);
		free(i);
		mta_session_wake(s);
	}
	if (r->failed_round && r->nsessions == 0) {
		r->failed_round = 0;
		mta_route_fail_tasks(r, DELIVERY_TEMPFAIL, r->lasterr);
		return;
	}
	/* Every host backed off: no attempt at all until one is due. */
	if (r->nsessions == 0 && !TAILQ_EMPTY(&r->tasks) &&
	    mta_route_all_down(r)) {
		mta_route_fail_tasks(r, DELIVERY_TEMPFAIL, r->lasterr[0] ?
		    r->lasterr : "451 4.4.1 every host of this destination "
		    "is backed off");
		return;
	}
	while (!TAILQ_EMPTY(&r->tasks) && !r->failed_round &&
	    r->nsessions < env->mta.max_sessions_domain &&
	    nsessions < env->mta.max_sessions &&
	    r->nsessions < r->ntasks && mta_route_can_connect(r)) {
		r->nsessions++;
		nsessions++;
		mta_session_start(r);
	}
}

static struct mta_route *
mta_route_find(const struct action *a, const char *domain)
{
	struct mta_route	*r;

	TAILQ_FOREACH(r, &routes, entry)
		if (r->action == a && strcmp(r->domain, domain) == 0)
			return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->action = a;
	strlcpy(r->domain, domain, sizeof(r->domain));
	TAILQ_INIT(&r->tasks);
	TAILQ_INIT(&r->idle);
	TAILQ_INSERT_TAIL(&routes, r, entry);
	return r;
}

static void
mta_transfer(struct imsg *imsg)
{
	struct mta_task		*t;
	struct action		*a;
	struct msg_transfer	 m;
	struct stat		 sb;
	uint32_t		 i;

	/* The queue is trusted: a transfer it cannot have made is a bug. */
	if (msg_transfer_read(imsg, &m) == -1)
		fatalx("mta: malformed transfer from the queue");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("calloc");
	t->msgid = m.msgid;
	strlcpy(t->sender, m.sender, sizeof(t->sender));
	strlcpy(t->ret, m.ret, sizeof(t->ret));
	strlcpy(t->envid, m.envid, sizeof(t->envid));
	if ((t->rcpts = calloc(m.n, sizeof(*t->rcpts))) == NULL)
		fatal("calloc");
	t->nrcpts = m.n;
	for (i = 0; i < m.n; i++) {
		t->rcpts[i].evpid = m.rcpts[i].evpid;
		strlcpy(t->rcpts[i].addr, m.rcpts[i].rcpt,
		    sizeof(t->rcpts[i].addr));
		strlcpy(t->rcpts[i].notify, m.rcpts[i].notify,
		    sizeof(t->rcpts[i].notify));
		strlcpy(t->rcpts[i].orcpt, m.rcpts[i].orcpt,
		    sizeof(t->rcpts[i].orcpt));
		t->rcpts[i].status = -1;
	}
	free(m.rcpts);
	if ((t->fd = imsg->fd) == -1)
		fatalx("mta: a transfer without its message");
	imsg->fd = -1;
	/*
	 * During a reload the queue may switch before this process does,
	 * or after: an action one of them does not know yet, or no longer,
	 * is tried again later, never the end of the process.
	 */
	if ((a = config_action(env, m.action)) == NULL ||
	    a->type != ACTION_RELAY) {
		log_warnx("mta: msgid=%08x result=tempfail reason=\"no relay "
		    "action %s in generation %u\"", t->msgid, m.action,
		    env->generation);
		mta_task_fail(t, DELIVERY_TEMPFAIL, "451 4.3.0 no such relay "
		    "action here");
		return;
	}
	if (fstat(t->fd, &sb) == -1) {
		log_warn("mta: msgid=%08x fstat", t->msgid);
		mta_task_fail(t, DELIVERY_TEMPFAIL, "451 4.3.0 cannot read "
		    "the message");
		return;
	}
	t->size = sb.st_size;
	t->route = mta_route_find(a, m.domain);
	TAILQ_INSERT_TAIL(&t->route->tasks, t, entry);
	t->route->ntasks++;
	mta_route_run(t->route);
}

static void	mta_show_line(uint32_t, uint32_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));

static void
mta_show_line(uint32_t client, uint32_t type, const char *fmt, ...)
{
	char		 text[CTL_LINE_MAX];
	va_list		 ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	proc_close(PROC_CONTROL, msg_ctl_answer_write(type, client, -1, text));
}

/*
 * For smtpctl show hosts: each destination with its sessions and the
 * transfers waiting, then each address tried, with its sessions, its
 * failures in a row and how long it stays backed off.
 */
static void
mta_show_hosts(uint32_t client)
{
	static const char *const states[] = {
		"new", "resolving", "ready", "failed",
	};
	struct mta_route	*r;
	struct mta_host		*h;
	time_t			 now = time(NULL);

	TAILQ_FOREACH(r, &routes, entry)
		mta_show_line(client, IMSG_CTL_LINE, "route\t%s\t%s\t%s\t"
		    "sessions=%zu\twaiting=%zu\thosts=%zu", r->action->name,
		    mta_route_name(r), states[r->state], r->nsessions,
		    r->ntasks, r->naddrs);
	TAILQ_FOREACH(h, &hosts, entry)
		mta_show_line(client, IMSG_CTL_LINE, "host\t%s\t%s\t"
		    "sessions=%zu\tfailures=%d", sa_to_text((struct sockaddr *)
		    &h->ss), h->down_until > now ? "backoff" : "up",
		    h->nsessions, h->nfail);
	mta_show_line(client, IMSG_CTL_END, "%s", "");
}

static void	mta_load_tables(void);

/*
 * A new generation: relay actions, limits and credentials.  Routes and
 * sessions open go on with the action they began with.  The resolver
 * stays the one read at start.
 */
static void
mta_reload(struct imsg *imsg)
{
	struct table	*t;

	env = reload_receive(imsg, 0);
	while ((t = TAILQ_FIRST(&creds)) != NULL) {
		TAILQ_REMOVE(&creds, t, entry);
		TAILQ_INSERT_TAIL(&creds_retired, t, entry);
	}
	mta_load_tables();
	log_info("mta: reload generation=%u", env->generation);
	reload_confirm(env);
}

static void
mta_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	if (from == PROC_PARENT && imsg->hdr.type == IMSG_PARENT_RELOAD) {
		mta_reload(imsg);
		return;
	}
	if (from == PROC_QUEUE && imsg->hdr.type == IMSG_QUEUE_MTA_TRANSFER) {
		mta_transfer(imsg);
		return;
	}
	if (from == PROC_CONTROL && imsg->hdr.type == IMSG_CTL_SHOW_HOSTS) {
		if (msg_ctl_request_read(imsg) == -1)
			proc_refuse(from, imsg, "malformed");
		else
			mta_show_hosts(imsg->hdr.peerid);
		return;
	}
	proc_bad_imsg(PROC_MTA, from, imsg);
}

/*
 * The client credentials and the domain tables of relay actions, from
 * the parent's copy of their files.
 */
static void
mta_load_tables(void)
{
	struct action	*a;
	struct table	*t, *copy;
	const char	*names[2];
	char		 err[256];
	int		 i;

	TAILQ_FOREACH(a, &env->actions, entry) {
		if (a->type != ACTION_RELAY)
			continue;
		names[0] = a->relay.auth_table;
		names[1] = a->relay.domain_table;
		for (i = 0; i < 2; i++) {
			if (names[i][0] == '\0' ||
			    table_find(&creds, names[i]) != NULL ||
			    (t = table_find(&env->tables, names[i])) == NULL)
				continue;
			TAILQ_REMOVE(&env->tables, t, entry);
			copy = t;
			if (copy->backend == TABLE_FILE &&
			    table_load(copy, err, sizeof(err)) == -1)
				fatalx("mta: table %s: %s", copy->name, err);
			TAILQ_INSERT_TAIL(&creds, copy, entry);
		}
	}
}

/*
 * As root, before the sandbox: the tables of relay actions, and the CA
 * bundle for "tls verify".
 */
static void
mta_load(void)
{
	struct tls	*ctx;
	uint8_t		*ca;
	size_t		 calen;
	int		 i;

	mta_load_tables();

	/* Certificate times are read in local time: the zone, now. */
	tzset();
	if (tls_init() == -1)
		fatalx("mta: tls_init");
	if ((tls_verify = tls_config_new()) == NULL ||
	    (tls_noverify = tls_config_new()) == NULL)
		fatalx("mta: tls_config_new");
	if ((ca = tls_load_file(MTA_CA_FILE, &calen, NULL)) == NULL)
		log_warnx("mta: %s: cannot read, tls verify will fail",
		    MTA_CA_FILE);
	else if (tls_config_set_ca_mem(tls_verify, ca, calen) == -1)
		log_warnx("mta: %s: %s", MTA_CA_FILE,
		    tls_config_error(tls_verify));
	if (ca != NULL)
		tls_unload_file(ca, calen);
	tls_config_insecure_noverifycert(tls_noverify);
	tls_config_insecure_noverifyname(tls_noverify);
	tls_config_insecure_noverifytime(tls_noverify);
	/* The TLS library reads its own configuration at first use: now. */
	for (i = 0; i < 2; i++) {
		if ((ctx = tls_client()) == NULL ||
		    tls_configure(ctx, i ? tls_verify : tls_noverify) == -1)
			fatalx("mta: tls_configure: %s", ctx != NULL ?
			    tls_error(ctx) : "tls_client");
		tls_free(ctx);
	}
}

void
mta_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };

	event_init();
	proc_peers_from_exec(PROC_MTA, mta_dispatch);
	proc_signals();
	mta_load();
	mta_dns_init();
	proc_drop_privileges(SMTPD_USER, SMTPD_EMPTY_DIR);
	/* Nothing of the parent's copy of the files is kept. */
	conffiles_free(conffiles_serving());
	sandbox(PROMISES_MTA, nopaths);
	event_dispatch();
	fatalx("mta: event loop ended");
}
