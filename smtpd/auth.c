/*
 * The auth process: checks a user name and password against a
 * credentials table, and nothing else.  It never sees the network and
 * hears only lookup, which passes on what the listener's client said
 * with the address and the table it knows itself.  The answer goes back
 * to lookup, which learns the login from here and not from the
 * listener, and passes the status on to the listener.
 *
 * Failed attempts are answered late, the more so the more a network
 * or a user has failed.  A network that fails too often is refused,
 * and a user whose password fails too often is answered with a
 * temporary failure, without a check until the window ends (see the
 * limiter in auth_creds.c).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define LIBBSD_OPENBSD_VIS
#include <vis.h>

#include "smtpd.h"
#include "auth_creds.h"

/* When the configuration leaves them unset. */
#define AUTH_MAX_FAILURES_DEFAULT	5
#define AUTH_MAX_USER_FAILURES_DEFAULT	10

/* An answer to a failed attempt, held back for a while. */
struct auth_pending {
	struct event	 ev;
	uint32_t	 session;
	uint32_t	 status;
	char		 table[TABLE_NAMESZ];
	char		 user[AUTH_USER_MAX + 1];
};

static struct auth_limiter	*limiter;

static void
auth_reply(uint32_t session, uint32_t status, const char *table,
    const char *user)
{
	struct ibuf	*b;

	b = proc_create(IMSG_AUTH_LOOKUP_RESULT, session, -1);
	imsg_add_u32(b, status);
	imsg_add_string(b, table);
	imsg_add_string(b, user);
	proc_close(PROC_LOOKUP, b);
}

static void
auth_pending_done(int fd, short event, void *arg)
{
	struct auth_pending	*p = arg;

	auth_reply(p->session, p->status, p->table, p->user);
	free(p);
}

static void
auth_reply_later(uint32_t session, uint32_t status, const char *table,
    const char *user, int delay)
{
	struct auth_pending	*p;
	struct timeval		 tv;

	if (delay <= 0) {
		auth_reply(session, status, table, user);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("calloc");
	p->session = session;
	p->status = status;
	strlcpy(p->table, table, sizeof(p->table));
	strlcpy(p->user, user, sizeof(p->user));
	tv.tv_sec = delay;
	tv.tv_usec = 0;
	evtimer_set(&p->ev, auth_pending_done, p);
	evtimer_add(&p->ev, &tv);
}

/* Seconds that only go forward: the window must not move with the clock. */
static time_t
auth_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ts.tv_sec;
}

/* The table, if a listener authenticates against it. */
static struct table *
auth_table(const char *name)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &env->listeners, entry)
		if (l->auth_table[0] != '\0' &&
		    strcmp(l->auth_table, name) == 0)
			return table_find(&env->tables, name);
	return NULL;
}

/*
 * The user name comes from the client: keep the log line one line.
 * reason, when there is one, says which limit refused the attempt.
 */
static void
auth_log(const char *addr, const char *user, const char *result,
    const char *reason)
{
	char	 vaddr[4 * NI_MAXHOST], vuser[4 * (AUTH_USER_MAX + 1)];
	char	 net[ADDR_NETWORK_MAX], vnet[4 * ADDR_NETWORK_MAX];

	strvis(vaddr, addr, VIS_SAFE | VIS_WHITE | VIS_CSTYLE);
	strvis(vuser, user, VIS_SAFE | VIS_WHITE | VIS_CSTYLE);
	if (reason == NULL) {
		log_info("auth address=%s user=%s result=%s", vaddr, vuser,
		    result);
		return;
	}
	if (addr_network(addr, net, sizeof(net)) == -1)
		strlcpy(net, "unknown", sizeof(net));
	strvis(vnet, net, VIS_SAFE | VIS_WHITE | VIS_CSTYLE);
	log_info("auth address=%s network=%s user=%s result=%s reason=%s",
	    vaddr, vnet, vuser, result, reason);
}

/*
 * IMSG_LOOKUP_AUTH_CHECK, peerid the session: strings table name, client
 * address, user, password.  Lookup sends the table of the session's
 * listener and the address it read from the socket; the user and the
 * password are the client's.  Answered with IMSG_AUTH_LOOKUP_RESULT,
 * same peerid: u32 status, the table, the user.
 */
static void
auth_check(struct imsg *imsg)
{
	struct table	*t;
	char		 name[TABLE_NAMESZ], addr[NI_MAXHOST];
	char		 user[AUTH_USER_MAX + 1];
	char		 password[AUTH_PASSWORD_MAX + 1];
	char		 ukey[TABLE_NAMESZ + AUTH_USER_MAX + 2];
	uint32_t	 session = imsg->hdr.peerid, status;
	time_t		 now;
	int		 delay, ok;

	imsg_get_string(imsg, name, sizeof(name));
	imsg_get_string(imsg, addr, sizeof(addr));
	imsg_get_string(imsg, user, sizeof(user));
	imsg_get_string(imsg, password, sizeof(password));
	/* imsg_free() does not promise to wipe what it frees. */
	explicit_bzero(imsg->data, imsg->len);
	proc_check(PROC_LOOKUP, imsg);
	/* A session begun before a reload may name a table now gone. */
	if ((t = auth_table(name)) == NULL) {
		explicit_bzero(password, sizeof(password));
		log_warnx("auth: table %s is no credentials table now", name);
		auth_reply(session, AUTH_TEMPFAIL, name, user);
		return;
	}

	/* A user is counted per table: the same name elsewhere is another. */
	(void)snprintf(ukey, sizeof(ukey), "%s:%s", name, user);
	now = auth_now();
	switch (limiter_blocked(limiter, addr, ukey, now)) {
	case LIMITER_NETWORK:
		explicit_bzero(password, sizeof(password));
		auth_log(addr, user, "blocked", "network");
		auth_reply(session, AUTH_BLOCKED, name, user);
		return;
	case LIMITER_USER:
		/* Not the client's fault, perhaps: it may come back. */
		explicit_bzero(password, sizeof(password));
		auth_log(addr, user, "blocked", "user");
		auth_reply(session, AUTH_TEMPFAIL, name, user);
		return;
	}
	ok = creds_verify(t, user, password) == AUTH_OK;
	explicit_bzero(password, sizeof(password));
	if (ok) {
		limiter_success(limiter, ukey);
		auth_log(addr, user, "ok", NULL);
		auth_reply(session, AUTH_OK, name, user);
		return;
	}
	if ((delay = limiter_failure(limiter, addr, ukey, now)) == -1)
		fatal("auth: limiter");
	/* The failure that reaches the network's limit is answered so. */
	if (limiter_blocked(limiter, addr, ukey, now) == LIMITER_NETWORK) {
		status = AUTH_BLOCKED;
		auth_log(addr, user, "blocked", "network");
	} else {
		status = AUTH_FAIL;
		auth_log(addr, user, "fail", NULL);
	}
	auth_reply_later(session, status, name, user, delay);
}

static void	auth_load_tables(struct table **);

/*
 * A new generation: its credentials tables from the parent's copy of
 * their files.  What the limiter counted stays.
 */
static void
auth_reload(struct imsg *imsg)
{
	struct smtpd_config	*next;
	struct table		*first;

	next = reload_receive(imsg, 0);
	config_retire(env);
	env = next;
	auth_load_tables(&first);
	if (creds_init(first) == -1)
		fatalx("auth: cannot compute the dummy hash");
	log_info("auth: reload generation=%u", env->generation);
	reload_confirm(env);
}

static void
auth_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	if (from == PROC_LOOKUP && imsg->hdr.type == IMSG_LOOKUP_AUTH_CHECK) {
		auth_check(imsg);
		return;
	}
	if (from == PROC_PARENT && imsg->hdr.type == IMSG_PARENT_RELOAD) {
		auth_reload(imsg);
		return;
	}
	proc_bad_imsg(PROC_AUTH, from, imsg);
}

/* Name the users that can never log in; never their hash. */
static void
auth_report(const char *user, enum creds_problem problem, void *arg)
{
	struct table	*t = arg;
	char		 vuser[4 * (AUTH_USER_MAX + 1)];
	const char	*why;

	switch (problem) {
	case CREDS_BAD_HASH:
		why = "hash missing or of a refused kind";
		break;
	case CREDS_BAD_USER:
		why = "bad user name";
		break;
	case CREDS_DUPLICATE:
		why = "more than one entry";
		break;
	default:
		why = "unusable";
		break;
	}
	strvis(vuser, user, VIS_SAFE | VIS_WHITE | VIS_CSTYLE);
	log_warnx("auth: table %s: user %s refused: %s", t->name, vuser, why);
}

/* Whether a listener before l already uses l's table. */
static int
auth_table_seen(struct listener *l)
{
	struct listener	*o;

	TAILQ_FOREACH(o, &env->listeners, entry) {
		if (o == l)
			return 0;
		if (strcmp(o->auth_table, l->auth_table) == 0)
			return 1;
	}
	return 0;
}

/*
 * Load the table of every listener that offers AUTH (the parser only
 * fills inline ones for this process) from the parent's copy of its
 * file.
 */
static void
auth_load_tables(struct table **first)
{
	struct listener		*l;
	struct table		*t;
	char			 err[PATH_MAX + 128];
	size_t			 users;

	*first = NULL;
	TAILQ_FOREACH(l, &env->listeners, entry) {
		/* Several listeners may share one table. */
		if (l->auth_table[0] == '\0' || auth_table_seen(l))
			continue;
		if ((t = table_find(&env->tables, l->auth_table)) == NULL)
			fatalx("auth: listener on %s: no table %s", l->addr,
			    l->auth_table);
		if (t->backend == TABLE_FILE) {
			if (table_load(t, err, sizeof(err)) == -1)
				fatalx("auth: table %s: %s", t->name, err);
		}
		users = creds_check(t, auth_report, t);
		log_debug("auth: table %s: %zu usable users", t->name, users);
		if (*first == NULL)
			*first = t;
	}
}

void
auth_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };
	struct table		*first;
	size_t			 max, max_user;

	event_init();
	proc_peers_from_exec(PROC_AUTH, auth_dispatch);
	proc_signals();
	auth_load_tables(&first);
	if (creds_init(first) == -1)
		fatalx("auth: cannot compute the dummy hash");
	max = env->max_auth_failures > 0 ? env->max_auth_failures :
	    AUTH_MAX_FAILURES_DEFAULT;
	max_user = env->max_auth_user_failures > 0 ?
	    env->max_auth_user_failures : AUTH_MAX_USER_FAILURES_DEFAULT;
	if ((limiter = limiter_new(max, max_user, env->auth_failure_delay,
	    AUTH_LIMITER_MAX)) == NULL)
		fatal("auth: limiter");
	proc_drop_privileges(SMTPD_USER, NULL);
	/* Nothing of the parent's copy of the files is kept. */
	conffiles_free(conffiles_serving());
	sandbox(PROMISES_AUTH, nopaths);
	event_dispatch();
	fatalx("auth: event loop ended");
}
