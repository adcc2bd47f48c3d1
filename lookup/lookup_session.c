/*
 * The listener's sessions as the lookup process knows them.  What a
 * decision rests on is established here or told by the process that
 * owns it: the client's address and the listener it came in on are
 * read from the connected socket itself, the login comes from the auth
 * process.  The listener faces the network and is assumed compromised:
 * it only relays what the client said (HELO, MAIL, RCPT and their
 * parameters), every message of it is checked, and a bad one is
 * refused and logged, never fatal.  The envelopes that routing makes
 * go from here straight to the queue, never through the listener.
 *
 * What remains trusted of the listener: that TLS is on once it says so
 * (it terminates TLS), and that a question it asks for a session is the
 * client's.  It can speak for every connection it holds, but it cannot
 * invent an address, a login or a route.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "../smtpd/auth_creds.h"
#include "../smtpd/session_msg.h"
#include "../queue/queue_msg.h"
#include "lookup_dns.h"
#include "lookup_session.h"

/* More than any listener can hold open: a bound for a lying one. */
#define SESSIONS_MAX		65536

/* A placeholder id: the queue gives each envelope its own. */
#define ENVELOPE_ID_UNSET	1

struct session_rcpt {
	char			 addr[ENVELOPE_ADDRMAX];
	char			 notify[64];
	char			 orcpt[ENVELOPE_ORCPTMAX];
};

struct session_dest {
	char			 action[ENVELOPE_NAMEMAX];
	char			 user[ENVELOPE_NAMEMAX];
	char			*target;
	size_t			 rcpt;		/* index in rcpts */
};

/*
 * Sessions per client network (an IPv4 address, an IPv6 /64), for
 * max-sessions-per-address.
 */
struct client {
	RB_ENTRY(client)	 node;
	char			 addr[ADDR_NETWORK_MAX];
	size_t			 count;
};

/* What MAIL said: kept only while a transaction is open. */
struct session_mail {
	char			 sender[ENVELOPE_ADDRMAX];
	char			 helo[ENVELOPE_HOSTMAX];
	char			 dsn_ret[64];
	char			 dsn_envid[ENVELOPE_ADDRMAX];
};

struct session {
	RB_ENTRY(session)	 node;
	uint32_t		 id;
	struct sockaddr_storage	 ss;		/* from getpeername(2) */
	char			 addr[ADDR_TEXT_MAX];
	dev_t			 sockdev;
	ino_t			 sockino;	/* its socket, used once */
	struct smtpd_config	*conf;		/* the one it began under */
	const struct listener	*l;		/* from getsockname(2) */
	struct client		*client;	/* NULL when not counted */
	char			 rdns[ENVELOPE_HOSTMAX];
	int			 rdns_failed;	/* DNS gave no answer */
	int			 ready;		/* judged at connect */
	int			 busy;		/* a question is answered */
	int			 closed;	/* gone while busy */
	int			 tls;
	int			 authenticated;
	int			 auth_asked;	/* auth has not answered */
	char			 auth_user[SESSION_USER_MAX];
	int			 local;		/* on the submission socket */
	struct local_peer	 peer;		/* from SO_PEERCRED */

	/* The transaction, as the client gave it; NULL before MAIL. */
	struct session_mail	*mail;
	struct session_rcpt	*rcpts;		/* and the pending one after */
	size_t			 nrcpts;
	struct session_dest	*dests;
	size_t			 ndests;
};

RB_HEAD(session_tree, session);
static int
session_cmp(struct session *a, struct session *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}
RB_GENERATE_STATIC(session_tree, session, node, session_cmp);
static struct session_tree	 sessions = RB_INITIALIZER(&sessions);
static size_t			 nsessions;

RB_HEAD(client_tree, client);
static int
client_cmp(struct client *a, struct client *b)
{
	return strcmp(a->addr, b->addr);
}
RB_GENERATE_STATIC(client_tree, client, node, client_cmp);
static struct client_tree	 clients = RB_INITIALIZER(&clients);

/* How many sessions the listener has open, as far as lookup knows. */
size_t
session_count(void)
{
	return nsessions;
}

/*
 * The session of an id.  Whatever is done for it from here is done
 * under its configuration: env becomes that one.
 */
static struct session *
session_find(uint32_t id)
{
	struct session	 key, *s;

	key.id = id;
	if ((s = RB_FIND(session_tree, &sessions, &key)) != NULL)
		env = s->conf;
	return s;
}

static void
session_transaction_clear(struct session *s)
{
	size_t	 i;

	for (i = 0; i < s->ndests; i++)
		free(s->dests[i].target);
	free(s->dests);
	free(s->rcpts);
	s->dests = NULL;
	s->rcpts = NULL;
	s->ndests = s->nrcpts = 0;
	free(s->mail);
	s->mail = NULL;
}

static void
session_free(struct session *s)
{
	/* What the queue still holds of it goes too. */
	if (s->ready)
		msg_close_write(s->id);
	if (s->client != NULL && --s->client->count == 0) {
		RB_REMOVE(client_tree, &clients, s->client);
		free(s->client);
	}
	session_transaction_clear(s);
	RB_REMOVE(session_tree, &sessions, s);
	nsessions--;
	env = lookup_config();
	if (s->conf != NULL)
		config_unref(s->conf);
	free(s);
}

static void
session_reply(uint32_t type, uint32_t id, uint32_t status, const char *text)
{
	struct msg_answer	 a;

	a.status = status;
	strlcpy(a.text, text, sizeof(a.text));
	a.rdns[0] = '\0';
	msg_answer_write(type, id, &a);
}

/* Text a client gave that may go into an envelope or a log as it is. */
static int
text_is_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return 0;
	return 1;
}

/* The listener a connection came in on, by the address it reached. */
static const struct listener *
session_listener(const struct sockaddr_storage *local)
{
	const struct listener		*l;
	const struct sockaddr_in	*a4, *l4;
	const struct sockaddr_in6	*a6, *l6;

	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (l->ss.ss_family != local->ss_family)
			continue;
		if (local->ss_family == AF_INET) {
			a4 = (const struct sockaddr_in *)local;
			l4 = (const struct sockaddr_in *)&l->ss;
			if (a4->sin_port == htons(l->port) &&
			    (l4->sin_addr.s_addr == INADDR_ANY ||
			    l4->sin_addr.s_addr == a4->sin_addr.s_addr))
				return l;
		} else if (local->ss_family == AF_INET6) {
			a6 = (const struct sockaddr_in6 *)local;
			l6 = (const struct sockaddr_in6 *)&l->ss;
			if (a6->sin6_port == htons(l->port) &&
			    (IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr) ||
			    IN6_ARE_ADDR_EQUAL(&l6->sin6_addr,
			    &a6->sin6_addr)))
				return l;
		}
	}
	return NULL;
}

/* A socket is one session's: the listener cannot hand it over twice. */
static const char *
session_attest_unique(struct session *s, int fd)
{
	struct stat		 sb;
	struct session		*o;

	if (fstat(fd, &sb) == -1)
		return "cannot stat the socket";
	RB_FOREACH(o, session_tree, &sessions)
		if (o->sockino == sb.st_ino && o->sockdev == sb.st_dev)
			return "socket of another session";
	s->sockdev = sb.st_dev;
	s->sockino = sb.st_ino;
	return NULL;
}

/*
 * A local submission: the submission socket, and the user the kernel
 * names as its peer.  It has no network address; policy sees it as a
 * local client.
 */
static const char *
session_attest_local(struct session *s, int fd)
{
	const char	*why;

	if ((why = local_attest(fd, &s->l, &s->peer)) != NULL)
		return why;
	memset(&s->ss, 0, sizeof(s->ss));
	s->ss.ss_family = AF_UNSPEC;
	s->local = 1;
	strlcpy(s->addr, "local", sizeof(s->addr));
	return session_attest_unique(s, fd);
}

/*
 * The facts of a connection, read from its socket: an established TCP
 * connection to one of our listeners that no other session claims.
 * Returns NULL, or why not.
 */
static const char *
session_attest(struct session *s, int fd)
{
	struct sockaddr_storage	 local;
	struct tcp_info		 ti;
	socklen_t		 len;
	int			 type;

	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return "not a stream socket";
	len = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		return "not a socket";
	if (local.ss_family == AF_UNIX)
		return session_attest_local(s, fd);
	len = sizeof(s->ss);
	if (getpeername(fd, (struct sockaddr *)&s->ss, &len) == -1 ||
	    (s->ss.ss_family != AF_INET && s->ss.ss_family != AF_INET6))
		return "not a connected inet socket";
	len = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1 ||
	    (s->l = session_listener(&local)) == NULL)
		return "not a connection to a listener";
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    ti.tcpi_state != TCP_ESTABLISHED)
		return "connection not established";
	strlcpy(s->addr, sa_to_text((struct sockaddr *)&s->ss),
	    sizeof(s->addr));
	return session_attest_unique(s, fd);
}

static void
session_connect_reply(struct session *s, uint32_t status, const char *text)
{
	struct msg_answer	 a;

	s->busy = 0;
	if (s->closed) {
		session_free(s);
		return;
	}
	s->ready = status == LOOKUP_OK;
	a.status = status;
	strlcpy(a.text, text, sizeof(a.text));
	strlcpy(a.rdns, s->rdns, sizeof(a.rdns));
	msg_answer_write(IMSG_LOOKUP_SMTP_CONNECT, s->id, &a);
}

/* A connect refused before it became a session. */
static void
session_connect_refused(uint32_t id)
{
	struct msg_answer	 a;

	memset(&a, 0, sizeof(a));
	a.status = LOOKUP_TEMPFAIL;
	strlcpy(a.text, "421 4.3.0 Try again later", sizeof(a.text));
	msg_answer_write(IMSG_LOOKUP_SMTP_CONNECT, id, &a);
}

/*
 * A table a decision needs cannot answer: the client comes back later.
 * Logged with the table and why, once for each decision.
 */
static void
session_lookup_failed(struct session *s, const char *table, const char *why)
{
	log_warnx("lookup session=%08x address=%s result=tempfail table=%s "
	    "error=\"%s\"", s->id, s->addr, table, why);
}

/*
 * The client's confirmed name, if any, is judged too.  When DNS gave
 * no answer, a kill file that lists host names cannot tell whether it
 * lists this client; whether a rule needs the name is told at RCPT.
 */
static void
session_connect_named(void *arg, const char *name, int failed)
{
	struct session	*s;
	struct killfile	*kf = lookup_killfile();

	if ((s = session_find((uint32_t)(uintptr_t)arg)) == NULL)
		return;
	s->rdns_failed = name == NULL && failed;
	if (s->rdns_failed && kf != NULL && killfile_has_hosts(kf)) {
		session_lookup_failed(s, env->killfile,
		    "reverse DNS failed");
		session_connect_reply(s, LOOKUP_TEMPFAIL,
		    REPLY_LOOKUP_TEMPFAIL_CONNECT);
		return;
	}
	if (name != NULL && kf != NULL && killfile_has_host(kf, name)) {
		log_info("lookup address=%s host=%s result=refused "
		    "reason=killfile", s->addr, name);
		session_connect_reply(s, LOOKUP_PERMFAIL,
		    "554 5.7.1 Connection refused");
		return;
	}
	if (name != NULL)
		strlcpy(s->rdns, name, sizeof(s->rdns));
	session_connect_reply(s, LOOKUP_OK, "");
}

/*
 * Whether a new session from this address may open: loopback clients
 * and those in the admin's table have no limit of their own (like
 * Postfix's mynetworks), the rest max-sessions-per-address each.
 * Returns 0, -1 over the limit, -2 (logged) when the table failed.
 */
static int
session_count_client(struct session *s)
{
	struct client	 key, *c;
	struct table	*t;

	if (addr_is_loopback((struct sockaddr *)&s->ss))
		return 0;
	if (env->sessions_exempt[0] != '\0' &&
	    (t = table_find(&env->tables, env->sessions_exempt)) != NULL) {
		if (table_failure(t) != NULL) {
			session_lookup_failed(s, t->name, table_failure(t));
			return -2;
		}
		if (table_has_addr(t, (struct sockaddr *)&s->ss))
			return 0;
	}
	if (addr_network(s->addr, key.addr, sizeof(key.addr)) == -1)
		return -1;
	if ((c = RB_FIND(client_tree, &clients, &key)) == NULL) {
		if (env->max_sessions_per_addr == 0)
			return -1;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			fatal("calloc");
		strlcpy(c->addr, key.addr, sizeof(c->addr));
		RB_INSERT(client_tree, &clients, c);
	}
	if (c->count >= env->max_sessions_per_addr)
		return -1;
	c->count++;
	s->client = c;
	return 0;
}

/* The listener hears who submits, for the Received: line. */
static void
session_connect_local(struct session *s)
{
	struct msg_local	 l;

	log_info("lookup session=%08x address=local user=%s uid=%u pid=%d "
	    "result=connected", s->id, s->peer.user, (unsigned)s->peer.uid,
	    (int)s->peer.pid);
	strlcpy(l.user, s->peer.user, sizeof(l.user));
	l.uid = s->peer.uid;
	msg_local_write(s->id, &l);
	session_connect_reply(s, LOOKUP_OK, "");
}

static void
session_connect(struct imsg *imsg)
{
	struct session	*s;
	struct killfile	*kf = lookup_killfile();
	const char	*why;

	if (imsg_end(imsg) == -1) {
		proc_refuse(PROC_SMTP, imsg, "malformed");
		return;
	}
	if (imsg->hdr.peerid == 0 || session_find(imsg->hdr.peerid) != NULL) {
		proc_refuse(PROC_SMTP, imsg, "session id in use");
		return;
	}
	/*
	 * Out of descriptors here, or too many sessions: the listener may
	 * be honest and its client is told to come back.
	 */
	if (imsg->fd == -1 || nsessions >= SESSIONS_MAX) {
		proc_refuse(PROC_SMTP, imsg, imsg->fd == -1 ?
		    "descriptor missing" : "too many sessions");
		session_connect_refused(imsg->hdr.peerid);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc");
	s->id = imsg->hdr.peerid;
	/* Its questions are judged under today's rules until it ends. */
	s->conf = lookup_config();
	config_ref(s->conf);
	env = s->conf;
	if ((why = session_attest(s, imsg->fd)) != NULL) {
		/* A client that is already gone gets here too. */
		log_warnx("lookup session=%08x result=refused reason=\"%s\"",
		    s->id, why);
		s->ready = 0;
		RB_INSERT(session_tree, &sessions, s);
		nsessions++;
		session_connect_reply(s, LOOKUP_TEMPFAIL,
		    "421 4.3.0 Try again later");
		return;
	}
	RB_INSERT(session_tree, &sessions, s);
	nsessions++;
	s->busy = 1;
	if (s->local) {
		session_connect_local(s);
		return;
	}
	switch (session_count_client(s)) {
	case -1:
		log_info("lookup address=%s result=refused "
		    "reason=max-sessions-per-address", s->addr);
		session_connect_reply(s, LOOKUP_TEMPFAIL,
		    "421 4.7.0 Too many connections from your address, "
		    "try again later");
		return;
	case -2:
		session_connect_reply(s, LOOKUP_TEMPFAIL,
		    REPLY_LOOKUP_TEMPFAIL_CONNECT);
		return;
	}
	if (kf != NULL && killfile_failure(kf) != NULL) {
		session_lookup_failed(s, env->killfile, killfile_failure(kf));
		session_connect_reply(s, LOOKUP_TEMPFAIL,
		    REPLY_LOOKUP_TEMPFAIL_CONNECT);
		return;
	}
	if (kf != NULL && killfile_has_addr(kf, (struct sockaddr *)&s->ss)) {
		log_info("lookup address=%s result=refused reason=killfile",
		    s->addr);
		session_connect_reply(s, LOOKUP_PERMFAIL,
		    "554 5.7.1 Connection refused");
		return;
	}
	dns_reverse((struct sockaddr *)&s->ss, session_connect_named,
	    (void *)(uintptr_t)s->id);
}

/*
 * The session a question is for, ready and not answering another, or
 * NULL once the message has been refused.
 */
static struct session *
session_get(struct imsg *imsg)
{
	struct session	*s;

	if ((s = session_find(imsg->hdr.peerid)) == NULL) {
		proc_refuse(PROC_SMTP, imsg, "no such session");
		return NULL;
	}
	if (!s->ready || s->busy || s->closed || s->auth_asked) {
		proc_refuse(PROC_SMTP, imsg, "session not ready");
		return NULL;
	}
	return s;
}

/*
 * A local user names a sender: the listener is told, before its
 * answer, whether the message must say that this user set it.
 */
static void
session_mail_local(struct session *s, const char *sender)
{
	char		 text[ENVELOPE_ADDRMAX + 2];
	int		 marked;

	marked = local_sender_marked(&s->peer, sender);
	if (marked)
		log_info("lookup session=%08x user=%s uid=%u from=<%s> "
		    "result=marked reason=\"not the user's address\"",
		    s->id, s->peer.user, (unsigned)s->peer.uid, sender);
	snprintf(text, sizeof(text), "<%s>", sender);
	msg_warn_write(s->id, marked ? text : "");
}

/*
 * On a listener with a senders table, a logged-in user may use only
 * the addresses the table gives them: 1 if so, 0 if not, -1 if the
 * table cannot tell (its file failed).  A client that has not logged
 * in (with auth-optional) is left to the match rules.
 */
static int
session_sender_owned(struct session *s, const char *sender)
{
	struct table	*t;

	if (s->l->senders_table[0] == '\0' || !s->authenticated)
		return 1;
	if ((t = table_find(&env->tables, s->l->senders_table)) == NULL)
		return 0;
	if (table_failure(t) != NULL) {
		session_lookup_failed(s, t->name, table_failure(t));
		return -1;
	}
	if (senders_owns(t, s->auth_user, sender))
		return 1;
	log_info("lookup session=%08x user=%s from=<%s> result=refused "
	    "reason=\"sender not owned\"", s->id, s->auth_user, sender);
	return 0;
}

static void
session_mail(struct imsg *imsg)
{
	struct session	*s;
	struct killfile	*kf = lookup_killfile();
	struct msg_mail	 m;
	const char	*sender = m.sender, *helo = m.helo;
	const char	*ret = m.ret, *envid = m.envid;

	/* proc_valid() below refuses what does not read exactly. */
	(void)msg_mail_read(imsg, &m);
	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (s = session_get(imsg)) == NULL)
		return;
	if (!text_is_clean(sender) || !text_is_clean(helo) ||
	    !text_is_clean(ret) || !text_is_clean(envid)) {
		proc_refuse(PROC_SMTP, imsg, "control character");
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_PERMFAIL,
		    "501 5.5.2 Syntax error");
		return;
	}
	session_transaction_clear(s);
	if ((s->l->flags & LISTEN_AUTH_REQUIRE) && !s->authenticated) {
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_PERMFAIL,
		    "530 5.7.0 Authentication required");
		return;
	}
	switch (session_sender_owned(s, sender)) {
	case 0:
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_PERMFAIL,
		    "553 5.7.1 Sender address not owned by user");
		return;
	case -1:
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_TEMPFAIL,
		    REPLY_LOOKUP_TEMPFAIL);
		return;
	}
	if (s->local)
		session_mail_local(s, sender);
	if (sender[0] == '\0' && (s->l->flags & LISTEN_REJECT_NULL)) {
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_PERMFAIL,
		    "550 5.7.1 Null sender refused");
		return;
	}
	if (sender[0] != '\0' && kf != NULL && killfile_failure(kf) != NULL) {
		session_lookup_failed(s, env->killfile, killfile_failure(kf));
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_TEMPFAIL,
		    REPLY_LOOKUP_TEMPFAIL);
		return;
	}
	if (sender[0] != '\0' && kf != NULL &&
	    killfile_has_sender(kf, sender)) {
		log_info("lookup address=%s from=<%s> result=refused "
		    "reason=killfile", s->addr, sender);
		session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_PERMFAIL,
		    "550 5.7.1 Sender address rejected");
		return;
	}
	if (s->mail == NULL && (s->mail = calloc(1, sizeof(*s->mail))) == NULL)
		fatal("calloc");
	strlcpy(s->mail->sender, sender, sizeof(s->mail->sender));
	strlcpy(s->mail->helo, helo, sizeof(s->mail->helo));
	strlcpy(s->mail->dsn_ret, ret, sizeof(s->mail->dsn_ret));
	strlcpy(s->mail->dsn_envid, envid, sizeof(s->mail->dsn_envid));
	session_reply(IMSG_LOOKUP_SMTP_MAIL, s->id, LOOKUP_OK, "");
}

static void
session_rcpt(struct imsg *imsg)
{
	struct session		*s;
	struct session_rcpt	 r;
	struct rcpt_query	 q;
	struct msg_rcpt		 m;

	(void)msg_rcpt_read(imsg, &m);
	strlcpy(r.addr, m.rcpt, sizeof(r.addr));
	strlcpy(r.notify, m.notify, sizeof(r.notify));
	strlcpy(r.orcpt, m.orcpt, sizeof(r.orcpt));
	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (s = session_get(imsg)) == NULL)
		return;
	if (s->mail == NULL) {
		proc_refuse(PROC_SMTP, imsg, "RCPT before MAIL");
		session_reply(IMSG_LOOKUP_SMTP_RCPT, s->id, LOOKUP_PERMFAIL,
		    "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (!text_is_clean(r.addr) || !text_is_clean(r.notify) ||
	    !text_is_clean(r.orcpt)) {
		proc_refuse(PROC_SMTP, imsg, "control character");
		session_reply(IMSG_LOOKUP_SMTP_RCPT, s->id, LOOKUP_PERMFAIL,
		    "501 5.5.2 Syntax error");
		return;
	}
	if (s->nrcpts >= env->max_rcpt) {
		session_reply(IMSG_LOOKUP_SMTP_RCPT, s->id, LOOKUP_TEMPFAIL,
		    "452 4.5.3 Too many recipients");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.ss = s->ss;
	strlcpy(q.sender, s->mail->sender, sizeof(q.sender));
	strlcpy(q.rcpt, r.addr, sizeof(q.rcpt));
	strlcpy(q.rdns, s->rdns, sizeof(q.rdns));
	q.rdns_failed = s->rdns_failed;
	strlcpy(q.auth_user, s->auth_user, sizeof(q.auth_user));
	q.authenticated = s->authenticated;
	q.tls = s->tls;
	q.local = s->local || addr_is_loopback((struct sockaddr *)&s->ss);
	/* Held after the accepted ones: no room for it in an idle session. */
	if ((s->rcpts = reallocarray(s->rcpts, s->nrcpts + 1,
	    sizeof(*s->rcpts))) == NULL)
		fatal("reallocarray");
	s->rcpts[s->nrcpts] = r;
	s->busy = 1;
	rcpt_start(PROC_SMTP, IMSG_LOOKUP_SMTP_RCPT, s->id, &q);
}

/* Routing has answered for the pending recipient of a session. */
void
session_rcpt_resolved(uint32_t id, uint32_t status, const char *text,
    const struct dests *ds)
{
	struct session		*s;
	struct session_dest	*d;
	int			 i;

	if ((s = session_find(id)) == NULL || !s->busy)
		fatalx("lookup: routing answer for no question");
	s->busy = 0;
	if (s->closed) {
		session_free(s);
		return;
	}
	if (status == LOOKUP_OK && ds->n == 0)
		status = LOOKUP_TEMPFAIL;
	if (status == LOOKUP_OK &&
	    s->ndests + ds->n > SMTP_MAX_ENVELOPES) {
		status = LOOKUP_TEMPFAIL;
		text = "452 4.5.3 Too many recipients";
	}
	if (status == LOOKUP_OK) {
		if ((s->dests = reallocarray(s->dests, s->ndests + ds->n,
		    sizeof(*s->dests))) == NULL)
			fatal("reallocarray");
		for (i = 0; i < ds->n; i++) {
			d = &s->dests[s->ndests++];
			strlcpy(d->action, ds->d[i].action, sizeof(d->action));
			strlcpy(d->user, ds->d[i].user, sizeof(d->user));
			if ((d->target = strdup(ds->d[i].target)) == NULL)
				fatal("strdup");
			d->rcpt = s->nrcpts;
		}
		s->nrcpts++;
	}
	session_reply(IMSG_LOOKUP_SMTP_RCPT, id, status,
	    text[0] != '\0' ? text : "451 4.3.0 Temporary failure");
}

/* One envelope of the transaction, in the queue's text format. */
static int
session_envelope(const struct session *s, const struct session_dest *d,
    char *buf, size_t len)
{
	const struct session_rcpt	*r = &s->rcpts[d->rcpt];
	struct envelope			 e;

	memset(&e, 0, sizeof(e));
	e.id = ENVELOPE_ID_UNSET;
	strlcpy(e.sender, s->mail->sender, sizeof(e.sender));
	/* An alias member elsewhere: the mail goes there. */
	strlcpy(e.rcpt, envelope_target_kind(d->target) == TARGET_ADDRESS ?
	    d->target : r->addr, sizeof(e.rcpt));
	strlcpy(e.action, d->action, sizeof(e.action));
	strlcpy(e.user, d->user, sizeof(e.user));
	strlcpy(e.target, d->target, sizeof(e.target));
	strlcpy(e.helo, s->mail->helo, sizeof(e.helo));
	if (s->local)
		(void)snprintf(e.client, sizeof(e.client), "local uid=%u "
		    "user=%.*s", (unsigned)s->peer.uid,
		    (int)sizeof(e.client) - 32, s->peer.user);
	else
		strlcpy(e.client, s->addr, sizeof(e.client));
	strlcpy(e.dsn_ret, s->mail->dsn_ret, sizeof(e.dsn_ret));
	strlcpy(e.dsn_envid, s->mail->dsn_envid, sizeof(e.dsn_envid));
	strlcpy(e.dsn_notify, r->notify, sizeof(e.dsn_notify));
	strlcpy(e.dsn_orcpt, r->orcpt, sizeof(e.dsn_orcpt));
	return envelope_dump(&e, buf, len);
}

/*
 * DATA: the envelopes routing made go to the queue, which makes the
 * message file and answers the listener.  The transaction is over for
 * lookup: a second DATA needs a new MAIL.
 */
static void
session_data(struct imsg *imsg)
{
	struct session	*s;
	char		 buf[IMSG_MAXPAYLOAD - 64];
	size_t		 i;

	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (s = session_get(imsg)) == NULL)
		return;
	if (s->mail == NULL || s->ndests == 0) {
		proc_refuse(PROC_SMTP, imsg, "DATA without recipients");
		session_reply(IMSG_LOOKUP_SMTP_DATA, s->id, LOOKUP_PERMFAIL,
		    "503 5.5.1 Need RCPT before DATA");
		return;
	}
	for (i = 0; i < s->ndests; i++)
		if (session_envelope(s, &s->dests[i], buf, sizeof(buf)) == -1)
			break;
	if (i < s->ndests) {
		log_warnx("lookup session=%08x result=tempfail "
		    "reason=\"envelope cannot be stored\"", s->id);
		session_transaction_clear(s);
		session_reply(IMSG_LOOKUP_SMTP_DATA, s->id, LOOKUP_TEMPFAIL,
		    "451 4.3.0 Temporary failure");
		return;
	}
	for (i = 0; i < s->ndests; i++) {
		session_envelope(s, &s->dests[i], buf, sizeof(buf));
		msg_envelope_write(s->id, buf);
	}
	msg_create_write(s->id, s->ndests);
	session_transaction_clear(s);
}

static void
session_vrfy_expn(struct imsg *imsg, int expn)
{
	struct session	*s;
	enum smtp_allow	 allow = expn ? env->expn : env->vrfy;
	char		 name[ENVELOPE_ADDRMAX];
	int		 privileged;

	(void)msg_name_read(imsg, name, sizeof(name));
	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (s = session_get(imsg)) == NULL)
		return;
	privileged = s->authenticated || s->local ||
	    addr_is_loopback((struct sockaddr *)&s->ss);
	/* The listener answers these itself; asking is a lie. */
	if (allow == SMTP_ALLOW_OFF ||
	    (allow == SMTP_ALLOW_AUTH && !s->authenticated)) {
		proc_refuse(PROC_SMTP, imsg, "VRFY or EXPN not allowed");
		name[0] = '\0';
	}
	lookup_vrfy_expn(s->id, name, privileged, expn);
}

/* STARTTLS: RFC 3207 4.2, all that was said before is forgotten. */
static void
session_tls(struct imsg *imsg)
{
	struct session	*s;

	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (s = session_get(imsg)) == NULL)
		return;
	session_transaction_clear(s);
	s->tls = 1;
	s->authenticated = 0;
	s->auth_user[0] = '\0';
}

static void
session_close(struct imsg *imsg)
{
	struct session	*s;

	if (proc_valid(PROC_SMTP, imsg, 0) == -1)
		return;
	if ((s = session_find(imsg->hdr.peerid)) == NULL) {
		/* Its connect was refused before it became one. */
		return;
	}
	if (s->busy) {
		s->closed = 1;
		return;
	}
	session_free(s);
}

/*
 * AUTH: the user and the password are the client's; the table and the
 * address that go with them to the auth process are this session's
 * own, so the listener can neither choose the table nor spend another
 * address's failures.  The password is only passed through, and wiped.
 */
static void
session_auth(struct imsg *imsg)
{
	struct session		*s;
	struct msg_auth		 a;
	struct msg_check	 check;
	const char	*user = a.user, *password = a.password;
	const char	*why = NULL;

	(void)msg_auth_read(imsg, &a);
	if (proc_valid(PROC_SMTP, imsg, 0) == -1 ||
	    (s = session_get(imsg)) == NULL)
		goto done;
	if (s->l->auth_table[0] == '\0' || s->local)
		why = "AUTH on a listener without it";
	else if (s->authenticated)
		why = "AUTH after a login";
	else if (!s->tls && !(s->l->flags & LISTEN_AUTH_PLAINTEXT))
		why = "AUTH in the clear";
	if (why != NULL) {
		proc_refuse(PROC_SMTP, imsg, why);
		goto done;
	}
	s->auth_asked = 1;
	strlcpy(check.table, s->l->auth_table, sizeof(check.table));
	strlcpy(check.addr, s->addr, sizeof(check.addr));
	strlcpy(check.user, user, sizeof(check.user));
	strlcpy(check.password, password, sizeof(check.password));
	msg_check_write(s->id, &check);
done:
	explicit_bzero(&a, sizeof(a));
	explicit_bzero(&check, sizeof(check));
}

void
session_dispatch(struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_SMTP_LOOKUP_CONNECT:
		session_connect(imsg);
		break;
	case IMSG_SMTP_LOOKUP_MAIL:
		session_mail(imsg);
		break;
	case IMSG_SMTP_LOOKUP_RCPT:
		session_rcpt(imsg);
		break;
	case IMSG_SMTP_LOOKUP_VRFY:
		session_vrfy_expn(imsg, 0);
		break;
	case IMSG_SMTP_LOOKUP_EXPN:
		session_vrfy_expn(imsg, 1);
		break;
	case IMSG_SMTP_LOOKUP_DATA:
		session_data(imsg);
		break;
	case IMSG_SMTP_LOOKUP_TLS:
		session_tls(imsg);
		break;
	case IMSG_SMTP_LOOKUP_AUTH:
		session_auth(imsg);
		break;
	case IMSG_SMTP_LOOKUP_CLOSE:
		session_close(imsg);
		break;
	default:
		proc_bad_imsg(PROC_LOOKUP, PROC_SMTP, imsg);
		break;
	}
}

/*
 * The auth process answers the AUTH we asked, before the listener hears,
 * so no question of the session can come between.  A login counts only
 * with the table of the listener the session came in on.
 */
void
session_auth_result(struct imsg *imsg)
{
	struct session		*s;
	struct msg_login	 login;
	struct msg_verdict	 v;
	const char		*table = v.table, *user = v.user;
	uint32_t		 status;

	if (msg_verdict_read(imsg, &v) == -1)
		fatalx("lookup: bad verdict from auth");
	status = v.status;
	/* A session that went, or one that reused its id, asked nothing. */
	if ((s = session_find(imsg->hdr.peerid)) == NULL || s->closed ||
	    !s->auth_asked)
		return;
	s->auth_asked = 0;
	if (status == AUTH_OK && strcmp(table, s->l->auth_table) != 0) {
		log_warnx("lookup session=%08x user=%s result=refused "
		    "reason=\"login with another listener's table\"", s->id,
		    user);
		status = AUTH_FAIL;
	}
	if (status == AUTH_OK) {
		s->authenticated = 1;
		strlcpy(s->auth_user, user, sizeof(s->auth_user));
	}
	login.status = status;
	strlcpy(login.user, status == AUTH_OK ? user : "", sizeof(login.user));
	msg_login_write(s->id, &login);
}
