/*
 * One SMTP server session: its life, reading command lines within their
 * limits, and the command state machine with its ESMTP extensions and
 * STARTTLS.  The DATA phase is in smtp_data.c, AUTH in smtp_auth.c.
 * Nothing here decides policy: the client, MAIL and RCPT are judged by
 * the lookup process, passwords by the auth process, storage belongs to
 * the queue.  While a session waits for one of them it reads nothing,
 * so pipelined commands are answered in order, and nothing from the
 * socket either.  Nor does it take another command while its replies
 * pile up unread: a client must read what it is told.
 *
 * This process is assumed to be the first one an attacker takes over,
 * so it vouches for nothing: lookup reads the client's address from the
 * socket it is handed at connect and learns logins from auth, routing
 * goes from lookup to the queue, and the message goes to the queue
 * through a pipe.  What is sent from here is only what the client said.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "smtpd.h"
#include "smtp.h"
#include "smtp_addr.h"
#include "io.h"
#include "smtp_session.h"

RB_HEAD(smtp_sessions, smtp_session);
static int
smtp_session_cmp(struct smtp_session *a, struct smtp_session *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}
RB_GENERATE_STATIC(smtp_sessions, smtp_session, node, smtp_session_cmp);
static struct smtp_sessions	 sessions = RB_INITIALIZER(&sessions);
static size_t			 nsessions;
static uint64_t			 nsessions_total;	/* since start */

static void	smtp_io(struct io *, enum io_event, void *);

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[SMTP_LINE_MAX];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	log_debug("smtp-in session=%08x reply=\"%.*s\"", s->id, n, line);
	if (line[0] == '5')
		s->errors++;
	line[n++] = '\r';
	line[n++] = '\n';
	io_write(s->io, line, n);
}

struct smtp_session *
smtp_session_find(uint32_t id)
{
	struct smtp_session	 key;

	key.id = id;
	return RB_FIND(smtp_sessions, &sessions, &key);
}

/* Too busy: say so in the clear and hang up, without a session. */
static void
smtp_refuse_busy(struct listener *l, int fd, const char *addr,
    const char *why)
{
	static const char	 msg[] =
	    "421 4.7.0 Too many connections, try again later\r\n";

	log_info("smtp-in address=%s result=refused reason=%s", addr, why);
	/* An smtps client expects TLS, not words in the clear. */
	if (!(l->flags & LISTEN_SMTPS))
		(void)send(fd, msg, sizeof(msg) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

void
smtp_session_accept(struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t len)
{
	struct smtp_session	*s;
	const char		*addr = sa_to_text(sa);
	int			 sock;

	/* The limit per client address is lookup's: it has the tables. */
	if (nsessions >= env->max_sessions) {
		smtp_refuse_busy(l, fd, addr, "max-sessions");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->io = io_new(fd, smtp_io, s)) == NULL) {
		log_warn("smtp-in session");
		free(s);
		close(fd);
		return;
	}
	nsessions++;
	nsessions_total++;
	do {
		s->id = arc4random();
	} while (s->id == 0 || smtp_session_find(s->id) != NULL);
	/* It ends under the configuration it began under. */
	s->conf = env;
	config_ref(s->conf);
	s->l = l;
	s->datafd = -1;
	memcpy(&s->ss, sa, len < sizeof(s->ss) ? len : sizeof(s->ss));
	strlcpy(s->addr, addr, sizeof(s->addr));
	TAILQ_INIT(&s->rcpts);
	s->state = S_CONNECTING;
	smtp_deadline_init(s);
	RB_INSERT(smtp_sessions, &sessions, s);
	log_info("smtp-in session=%08x address=%s port=%d result=connected",
	    s->id, s->addr, l->port);

	/*
	 * Nothing is read before lookup has judged the client.  Lookup
	 * reads the address from a copy of the socket itself.
	 */
	io_set_read(s->io, 0);
	io_set_timeout(s->io, s->conf->timeout_command);
	if ((sock = dup(fd)) == -1) {
		log_warn("smtp-in session=%08x dup", s->id);
		s->connect_failed = 1;
		smtp_free(s, "descriptors");
		return;
	}
	msg_session_write(IMSG_SMTP_LOOKUP_CONNECT, s->id, sock);
	s->waiting = 1;
}

static void
smtp_rcpts_clear(struct smtp_session *s)
{
	struct smtp_rcpt	*r;

	while ((r = TAILQ_FIRST(&s->rcpts)) != NULL) {
		TAILQ_REMOVE(&s->rcpts, r, entry);
		free(r);
	}
	s->nrcpt = 0;
}

void
smtp_transaction_reset(struct smtp_session *s)
{
	smtp_rcpts_clear(s);
	s->sender[0] = '\0';
	free(s->sender_warning);
	s->sender_warning = NULL;
	s->smtputf8 = 0;
	smtp_data_close(s);
	if (s->msgid != 0) {
		msg_rollback_write(s->id, s->msgid);
		s->msgid = 0;
	}
	if (s->state > S_HELO)
		s->state = S_HELO;
}

void
smtp_free(struct smtp_session *s, const char *why)
{
	smtp_deadline_clear(s);
	if (s->waiting) {
		/* A reply is on its way; the session goes when it lands. */
		s->dead = 1;
		if (s->io != NULL) {
			io_free(s->io);
			s->io = NULL;
		}
		return;
	}
	log_info("smtp-in session=%08x address=%s result=closed reason=%s",
	    s->id, s->addr, why);
	smtp_transaction_reset(s);
	if (!s->connect_failed)
		msg_session_write(IMSG_SMTP_LOOKUP_CLOSE, s->id, -1);
	RB_REMOVE(smtp_sessions, &sessions, s);
	nsessions--;
	if (s->io != NULL)
		io_free(s->io);
	explicit_bzero(s->auth_login, sizeof(s->auth_login));
	free(s->sender_warning);
	config_unref(s->conf);
	free(s);
}

void
smtp_close_after_reply(struct smtp_session *s, const char *why)
{
	s->state = S_QUIT;
	s->closing = why;
	io_set_read(s->io, 0);
	if (io_output_len(s->io) == 0)
		smtp_free(s, why);
}

static void
smtp_greet(struct smtp_session *s)
{
	s->state = S_GREETED;
	io_set_read(s->io, 1);
	if (s->conf->banner[0] != '\0')
		smtp_reply(s, "220 %s", s->conf->banner);
	else
		smtp_reply(s, "220 %s ESMTP", s->conf->hostname);
}

static void
smtp_io(struct io *io, enum io_event event, void *arg)
{
	struct smtp_session	*s = arg;

	switch (event) {
	case IO_DATAIN:
		smtp_process(s);
		break;
	case IO_DRAINED:
		if (s->state == S_QUIT)
			smtp_free(s, s->closing);
		else if (s->starttls) {
			s->starttls = 0;
			if (io_start_tls_server(s->io,
			    smtp_tls_context(s->l)) == -1) {
				log_warnx("smtp-in session=%08x %s", s->id,
				    io_error(s->io));
				smtp_free(s, "tls-error");
			}
		} else {
			/* The client read it all: on to what it sent since. */
			smtp_process(s);
		}
		break;
	case IO_TLSREADY:
		if (s->l->flags & LISTEN_VERIFY)
			log_info("smtp-in session=%08x address=%s tls=%s "
			    "cipher=%s verify=%s", s->id, s->addr,
			    tls_conn_version(io_tls(io)),
			    tls_conn_cipher(io_tls(io)), smtp_tls_verify(s));
		else
			log_info("smtp-in session=%08x address=%s tls=%s "
			    "cipher=%s", s->id, s->addr,
			    tls_conn_version(io_tls(io)),
			    tls_conn_cipher(io_tls(io)));
		/* Timed out during the handshake: only the 421 is left. */
		if (s->state == S_QUIT)
			break;
		io_set_read(s->io, 1);
		msg_session_write(IMSG_SMTP_LOOKUP_TLS, s->id, -1);
		if (s->state == S_HANDSHAKE)
			smtp_greet(s);
		else {
			/* RFC 3207 4.2: forget all that was said before. */
			smtp_transaction_reset(s);
			s->helo[0] = '\0';
			s->esmtp = 0;
			s->authenticated = 0;
			s->auth_user[0] = '\0';
			s->auth_step = AUTH_NONE;
			s->state = S_GREETED;
		}
		break;
	case IO_TIMEOUT:
		/*
		 * Another process has not answered for a whole timeout:
		 * hang up; the answer, if it comes, finds the session dead.
		 */
		if (s->waiting) {
			log_warnx("smtp-in session=%08x address=%s "
			    "result=timeout reason=no-answer", s->id, s->addr);
			smtp_free(s, "timeout");
			break;
		}
		if (s->state == S_QUIT) {
			/* The client does not even read our last words. */
			smtp_free(s, "timeout");
			break;
		}
		/* Silence: within a message, the data timeout. */
		log_info("smtp-in session=%08x address=%s result=timeout "
		    "reason=%s", s->id, s->addr, s->state == S_DATA ? "data" :
		    "idle");
		smtp_reply(s, "421 4.4.2 %s Timeout", s->conf->hostname);
		smtp_close_after_reply(s, "timeout");
		break;
	case IO_DISCONNECTED:
		smtp_free(s, "disconnected");
		break;
	case IO_ERROR:
		log_info("smtp-in session=%08x address=%s error=\"%s\"", s->id,
		    s->addr, io_error(io));
		smtp_free(s, "error");
		break;
	}
}

/* The next command must be the last one in the client's group. */
int
smtp_pipelined_past(struct smtp_session *s, const char *cmd)
{
	if (evbuffer_get_length(io_input(s->io)) == 0)
		return 0;
	log_info("smtp-in session=%08x address=%s result=refused "
	    "reason=pipelined-after-%s", s->id, s->addr, cmd);
	smtp_reply(s, "554 5.5.0 Commands may not follow %s before its "
	    "reply", cmd);
	smtp_close_after_reply(s, "pipelining");
	return 1;
}

static int
smtp_tls_offered(struct smtp_session *s)
{
	return (s->l->flags & LISTEN_TLS) && !io_is_tls(s->io);
}

/*
 * On a listener with verify: "ok" once the client has shown a
 * certificate; libtls lets the handshake finish only if the ca signed
 * it.  "none" if it showed none.
 */
const char *
smtp_tls_verify(struct smtp_session *s)
{
	if (io_is_tls(s->io) && tls_peer_cert_provided(io_tls(s->io)))
		return "ok";
	return "none";
}

/*
 * The HELO or EHLO argument goes into the Received: header and each
 * envelope: a domain or an address literal as RFC 5321 writes them, or
 * a name that bends only the rules many clients bend (an underscore, a
 * bare IPv4 address).  Nothing else: no control character, space,
 * bracket or parenthesis that could forge a part of the header.
 */
static int
smtp_helo_valid(const char *name)
{
	const char	*err;

	if (smtp_addr_domain_valid(name, 0, &err) == 0)
		return 1;
	return hostname_last_label(name) > 0 &&
	    strlen(name) < ENVELOPE_HOSTMAX;
}

static void
smtp_cmd_helo(struct smtp_session *s, const char *arg, int esmtp)
{
	if (smtp_pipelined_past(s, esmtp ? "EHLO" : "HELO"))
		return;
	if (arg[0] == '\0' || strchr(arg, ' ') != NULL) {
		smtp_reply(s, "501 5.5.4 %s requires one domain name",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	if (!smtp_helo_valid(arg)) {
		smtp_reply(s, "501 5.5.4 Invalid domain name");
		return;
	}
	if (strlcpy(s->helo, arg, sizeof(s->helo)) >= sizeof(s->helo)) {
		s->helo[0] = '\0';
		smtp_reply(s, "501 5.5.4 Domain name too long");
		return;
	}
	smtp_transaction_reset(s);
	s->esmtp = esmtp;
	s->state = S_HELO;
	if (!esmtp) {
		smtp_reply(s, "250 %s Hello %s [%s]", s->conf->hostname, arg,
		    s->addr);
		return;
	}
	smtp_reply(s, "250-%s Hello %s [%s]", s->conf->hostname, arg, s->addr);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-SIZE %zu", s->conf->max_message_size);
	smtp_reply(s, "250-DSN");
	smtp_reply(s, "250-SMTPUTF8");
	if (smtp_tls_offered(s))
		smtp_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s))
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	if (s->conf->help)
		smtp_reply(s, "250-HELP");
	smtp_reply(s, "250 PIPELINING");
}

/*
 * The path and ESMTP parameters after "FROM:" or "TO:".  Returns the
 * number of parameters, or -1 once the client has been told what is
 * wrong; what names the address in a 501 ("5.1.7 Bad sender").
 */
static int
smtp_path_params(struct smtp_session *s, const char *text, int flags,
    const char *what, struct mailaddr *addr, struct smtp_param *params)
{
	const char	*rest, *err;
	int		 n;

	if (smtp_addr_parse_path(text, flags, addr, &rest, &err) == -1) {
		smtp_reply(s, "501 %s address: %s", what, err);
		return -1;
	}
	if (!s->esmtp && rest[0] != '\0') {
		smtp_reply(s, "555 5.5.4 Parameters need EHLO");
		return -1;
	}
	if ((n = smtp_params_parse(rest, params, SMTP_PARAMS_MAX, &err)) ==
	    -1) {
		smtp_reply(s, "501 5.5.4 %s", err);
		return -1;
	}
	return n;
}

/*
 * MAIL parameters: SIZE, BODY, SMTPUTF8, RET and ENVID (into ret and
 * envid, of MSG_RET_MAX and MSG_ADDR_MAX bytes) and AUTH.
 */
static int
smtp_mail_params(struct smtp_session *s, struct smtp_param *p, int n,
    char *ret, char *envid)
{
	const char	*errstr;
	long long	 size;
	int		 i;

	for (i = 0; i < n; i++) {
		if (strcmp(p[i].key, "SIZE") == 0 && p[i].has_value) {
			size = strtonum(p[i].value, 0, LLONG_MAX, &errstr);
			/* All digits but past any number: too big all the same. */
			if (errstr != NULL && strcmp(errstr, "too large") == 0 &&
			    strspn(p[i].value, "0123456789") ==
			    strlen(p[i].value)) {
				smtp_reply(s, "552 5.3.4 Message too big");
				return -1;
			}
			if (errstr != NULL) {
				smtp_reply(s, "501 5.5.4 Bad SIZE value");
				return -1;
			}
			if ((unsigned long long)size > s->conf->max_message_size) {
				smtp_reply(s, "552 5.3.4 Message too big");
				return -1;
			}
		} else if (strcmp(p[i].key, "BODY") == 0 && p[i].has_value &&
		    (strcasecmp(p[i].value, "7BIT") == 0 ||
		    strcasecmp(p[i].value, "8BITMIME") == 0)) {
			continue;
		} else if (strcmp(p[i].key, "SMTPUTF8") == 0 &&
		    !p[i].has_value) {
			s->smtputf8 = 1;
		} else if (strcmp(p[i].key, "RET") == 0 && p[i].has_value &&
		    (strcasecmp(p[i].value, "FULL") == 0 ||
		    strcasecmp(p[i].value, "HDRS") == 0)) {
			strlcpy(ret, p[i].value, MSG_RET_MAX);
		} else if (strcmp(p[i].key, "ENVID") == 0 && p[i].has_value &&
		    smtp_xtext_valid(p[i].value) == 0 &&
		    strlen(p[i].value) <= 100) {
			strlcpy(envid, p[i].value, MSG_ADDR_MAX);
		} else if (strcmp(p[i].key, "AUTH") == 0 && p[i].has_value &&
		    smtp_xtext_valid(p[i].value) == 0) {
			/* RFC 4954 5: accepted; we do not relay identities. */
			continue;
		} else {
			smtp_reply(s, "555 5.5.4 Unsupported or malformed "
			    "parameter %s", p[i].key);
			return -1;
		}
	}
	return 0;
}

static void
smtp_cmd_mail(struct smtp_session *s, const char *arg)
{
	struct smtp_param	 params[SMTP_PARAMS_MAX];
	struct mailaddr		 addr;
	struct msg_mail		 m;
	const char		*rest;
	int			 n, flags;

	if (s->state < S_HELO) {
		smtp_reply(s, "503 5.5.1 Say HELO or EHLO first");
		return;
	}
	if (s->state > S_HELO) {
		smtp_reply(s, "503 5.5.1 Sender already given");
		return;
	}
	if ((s->l->flags & LISTEN_TLS_REQUIRE) && !io_is_tls(s->io)) {
		smtp_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if ((s->l->flags & LISTEN_VERIFY_REQUIRE) &&
	    strcmp(smtp_tls_verify(s), "ok") != 0) {
		log_info("smtp-in session=%08x address=%s result=refused "
		    "reason=no-client-certificate", s->id, s->addr);
		smtp_reply(s, "530 5.7.0 A verified client certificate is "
		    "required");
		return;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0) {
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	/* Peek at the parameters: SMTPUTF8 changes how the path parses. */
	flags = SMTP_ADDR_NULL_OK;
	if ((rest = strchr(arg, '>')) != NULL && strcasestr(rest, "SMTPUTF8"))
		flags |= SMTP_ADDR_UTF8;
	if ((n = smtp_path_params(s, arg + 5, flags, "5.1.7 Bad sender",
	    &addr, params)) == -1)
		return;
	s->smtputf8 = 0;
	memset(&m, 0, sizeof(m));
	if (smtp_mail_params(s, params, n, m.ret, m.envid) == -1)
		return;
	if (addr.utf8 && !s->smtputf8) {
		smtp_reply(s, "553 5.6.7 SMTPUTF8 needed for this address");
		return;
	}
	if (smtp_addr_format(&addr, s->sender, sizeof(s->sender)) == -1) {
		smtp_reply(s, "501 5.1.7 Sender address too long");
		return;
	}
	strlcpy(m.sender, s->sender, sizeof(m.sender));
	strlcpy(m.helo, s->helo, sizeof(m.helo));
	msg_mail_write(s->id, &m);
	s->waiting = 1;
}

/*
 * RCPT parameters: NOTIFY and ORCPT (RFC 3461 4), into notify and orcpt
 * of MSG_NOTIFY_MAX and MSG_ORCPT_MAX bytes.
 */
static int
smtp_rcpt_params(struct smtp_session *s, struct smtp_param *p, int n,
    char *notify, char *orcpt)
{
	char	 list[MSG_NOTIFY_MAX], *word, *q;
	int	 i, never, other;

	notify[0] = orcpt[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(p[i].key, "NOTIFY") == 0 && p[i].has_value) {
			if (strlcpy(list, p[i].value, sizeof(list)) >=
			    sizeof(list))
				goto bad;
			never = other = 0;
			q = list;
			while ((word = strsep(&q, ",")) != NULL) {
				if (strcasecmp(word, "NEVER") == 0)
					never++;
				else if (strcasecmp(word, "SUCCESS") == 0 ||
				    strcasecmp(word, "FAILURE") == 0 ||
				    strcasecmp(word, "DELAY") == 0)
					other++;
				else
					goto bad;
			}
			if (never > 1 || (never && other))
				goto bad;
			strlcpy(notify, p[i].value, MSG_NOTIFY_MAX);
		} else if (strcmp(p[i].key, "ORCPT") == 0 && p[i].has_value &&
		    (q = strchr(p[i].value, ';')) != NULL &&
		    smtp_xtext_valid(q + 1) == 0) {
			strlcpy(orcpt, p[i].value, MSG_ORCPT_MAX);
		} else
			goto bad;
	}
	return 0;
bad:
	smtp_reply(s, "555 5.5.4 Unsupported or malformed parameter %s",
	    p[i].key);
	return -1;
}

static int
smtp_rcpt_known(struct smtp_session *s, const char *addr)
{
	struct smtp_rcpt	*r;

	TAILQ_FOREACH(r, &s->rcpts, entry)
		if (strcasecmp(r->addr, addr) == 0)
			return 1;
	return 0;
}

static void
smtp_cmd_rcpt(struct smtp_session *s, const char *arg)
{
	struct smtp_param	 params[SMTP_PARAMS_MAX];
	struct mailaddr		 addr;
	struct msg_rcpt		 r;
	int			 n, flags;

	if (s->state < S_MAIL) {
		smtp_reply(s, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (strncasecmp(arg, "TO:", 3) != 0) {
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (s->nrcpt >= s->conf->max_rcpt) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	flags = SMTP_ADDR_BARE_OK | (s->smtputf8 ? SMTP_ADDR_UTF8 : 0);
	if ((n = smtp_path_params(s, arg + 3, flags, "5.1.3 Bad recipient",
	    &addr, params)) == -1)
		return;
	memset(&r, 0, sizeof(r));
	if (smtp_rcpt_params(s, params, n, r.notify, r.orcpt) == -1)
		return;
	if (smtp_addr_format(&addr, s->pending_rcpt,
	    sizeof(s->pending_rcpt)) == -1) {
		smtp_reply(s, "501 5.1.3 Recipient address too long");
		return;
	}
	if (smtp_rcpt_known(s, s->pending_rcpt)) {
		/* One copy is enough (RFC 5321 3.3 lets us say yes). */
		smtp_reply(s, "250 2.1.5 Ok");
		return;
	}
	strlcpy(r.rcpt, s->pending_rcpt, sizeof(r.rcpt));
	msg_rcpt_write(s->id, &r);
	s->waiting = 1;
}

static void
smtp_cmd_data(struct smtp_session *s, const char *arg)
{
	if (smtp_pipelined_past(s, "DATA"))
		return;
	if (s->state < S_MAIL) {
		smtp_reply(s, "503 5.5.1 Need MAIL before DATA");
		return;
	}
	if (s->state < S_RCPT) {
		smtp_reply(s, "503 5.5.1 Need RCPT before DATA");
		return;
	}
	if (arg[0] != '\0') {
		smtp_reply(s, "501 5.5.4 DATA takes no argument");
		return;
	}
	/* Lookup sends the queue what it routed; the queue answers. */
	msg_session_write(IMSG_SMTP_LOOKUP_DATA, s->id, -1);
	s->waiting = 1;
}

static void
smtp_cmd_starttls(struct smtp_session *s, const char *arg)
{
	if (smtp_pipelined_past(s, "STARTTLS"))
		return;
	if (io_is_tls(s->io)) {
		smtp_reply(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!(s->l->flags & LISTEN_TLS)) {
		smtp_reply(s, "502 5.5.1 Command not implemented");
		return;
	}
	if (arg[0] != '\0') {
		smtp_reply(s, "501 5.5.4 STARTTLS takes no argument");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	/* Not another byte in the clear: TLS begins once that is out. */
	io_set_read(s->io, 0);
	s->starttls = 1;
}

/* VRFY and EXPN: answered only for those the configuration allows. */
static void
smtp_cmd_vrfy_expn(struct smtp_session *s, const char *arg, int expn)
{
	enum smtp_allow	 allow = expn ? s->conf->expn : s->conf->vrfy;
	char		 name[ENVELOPE_ADDRMAX];
	size_t		 len;

	if (allow == SMTP_ALLOW_OFF ||
	    (allow == SMTP_ALLOW_AUTH && !s->authenticated)) {
		if (expn)
			smtp_reply(s, "502 5.5.1 Command not implemented");
		else
			smtp_reply(s, "252 2.5.0 Cannot VRFY user");
		return;
	}
	if (arg[0] == '<' && (len = strlen(arg)) >= 2 && arg[len - 1] == '>') {
		/* VRFY <user@host> is as good as VRFY user@host. */
		if ((size_t)snprintf(name, sizeof(name), "%.*s",
		    (int)(len - 2), arg + 1) >= sizeof(name))
			name[0] = '\0';
	} else if (strlcpy(name, arg, sizeof(name)) >= sizeof(name))
		name[0] = '\0';
	if (name[0] == '\0') {
		smtp_reply(s, "501 5.5.4 %s requires an argument",
		    expn ? "EXPN" : "VRFY");
		return;
	}
	msg_name_write(expn ? IMSG_SMTP_LOOKUP_EXPN : IMSG_SMTP_LOOKUP_VRFY,
	    s->id, name);
	s->waiting = 1;
}

static void
smtp_cmd_help(struct smtp_session *s)
{
	if (!s->conf->help) {
		smtp_reply(s, "502 5.5.1 Command not implemented");
		return;
	}
	smtp_reply(s, "214-Commands:");
	smtp_reply(s, "214-  HELO EHLO MAIL RCPT DATA RSET NOOP QUIT");
	smtp_reply(s, "214-  HELP VRFY EXPN STARTTLS AUTH");
	smtp_reply(s, "214 End of HELP info");
}

static void
smtp_command(struct smtp_session *s, char *line)
{
	char	*arg;

	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);

	if (strcasecmp(line, "EHLO") == 0)
		smtp_cmd_helo(s, arg, 1);
	else if (strcasecmp(line, "HELO") == 0)
		smtp_cmd_helo(s, arg, 0);
	else if (strcasecmp(line, "MAIL") == 0)
		smtp_cmd_mail(s, arg);
	else if (strcasecmp(line, "RCPT") == 0)
		smtp_cmd_rcpt(s, arg);
	else if (strcasecmp(line, "DATA") == 0)
		smtp_cmd_data(s, arg);
	else if (strcasecmp(line, "RSET") == 0) {
		smtp_transaction_reset(s);
		smtp_reply(s, "250 2.0.0 Ok");
	} else if (strcasecmp(line, "NOOP") == 0)
		smtp_reply(s, "250 2.0.0 Ok");
	else if (strcasecmp(line, "QUIT") == 0) {
		smtp_reply(s, "221 2.0.0 Bye");
		smtp_close_after_reply(s, "quit");
	} else if (strcasecmp(line, "STARTTLS") == 0)
		smtp_cmd_starttls(s, arg);
	else if (strcasecmp(line, "AUTH") == 0)
		smtp_cmd_auth(s, arg);
	else if (strcasecmp(line, "VRFY") == 0)
		smtp_cmd_vrfy_expn(s, arg, 0);
	else if (strcasecmp(line, "EXPN") == 0)
		smtp_cmd_vrfy_expn(s, arg, 1);
	else if (strcasecmp(line, "HELP") == 0)
		smtp_cmd_help(s);
	else
		smtp_reply(s, "500 5.5.1 Command unrecognized");
}

static void
smtp_long_line(struct smtp_session *s)
{
	log_info("smtp-in session=%08x address=%s result=refused "
	    "reason=line-too-long", s->id, s->addr);
	smtp_reply(s, "500 5.5.2 Line too long");
	if (++s->longlines >= MAX_LONGLINES) {
		smtp_reply(s, "421 4.7.0 %s Too many errors", s->conf->hostname);
		smtp_close_after_reply(s, "long-lines");
	}
}

/* The longest line the next command may be, from its first octets. */
static size_t
smtp_line_limit(struct smtp_session *s, struct evbuffer *in)
{
	unsigned char	*p;

	if (s->auth_step != AUTH_NONE)
		return LINE_AUTH;
	if (evbuffer_get_length(in) < 5)
		return SMTP_LINE_MAX;
	p = evbuffer_pullup(in, 5);
	if (strncasecmp((char *)p, "MAIL ", 5) == 0)
		return LINE_MAIL;
	if (strncasecmp((char *)p, "RCPT ", 5) == 0)
		return LINE_RCPT;
	if (strncasecmp((char *)p, "AUTH ", 5) == 0)
		return LINE_AUTH;
	return SMTP_LINE_MAX;
}

static void
smtp_command_line(struct smtp_session *s, char *line, size_t len)
{
	int	 crlf;

	/*
	 * A line is read up to its LF, but only CRLF ends a command
	 * (RFC 5321 2.3.8): a bare LF at the end, or a CR or NUL inside,
	 * and nothing of the line is obeyed, as in DATA.  A listener with
	 * bare-lf normalize takes a bare LF as CRLF; a CR stays refused.
	 */
	crlf = len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n';
	if (crlf)
		len -= 2;
	else if ((s->l->flags & LISTEN_BARE_LF_NORMALIZE) && len >= 1 &&
	    line[len - 1] == '\n') {
		crlf = 1;
		len -= 1;
	} else
		len = 0;
	line[len] = '\0';
	if (!crlf || memchr(line, '\0', len) != NULL ||
	    memchr(line, '\r', len) != NULL) {
		s->auth_step = AUTH_NONE;
		smtp_reply(s, "500 5.5.2 Bad command line");
		return;
	}
	if (s->auth_step != AUTH_NONE) {
		smtp_auth_continue(s, line);
		return;
	}
	if (strncasecmp(line, "AUTH ", 5) == 0)
		log_debug("smtp-in session=%08x command=\"AUTH ...\"", s->id);
	else
		log_debug("smtp-in session=%08x command=\"%s\"", s->id, line);
	smtp_command(s, line);
}

void
smtp_process(struct smtp_session *s)
{
	struct evbuffer		*in;
	struct evbuffer_ptr	 eol;
	char			 buf[LINE_AUTH + 1];
	char			 data[DATA_CHUNK + 1];
	size_t			 len, avail, limit;

	if (s->io == NULL)
		return;
	in = io_input(s->io);
	while (!s->waiting && !s->starttls && s->state != S_QUIT &&
	    s->state > S_HANDSHAKE && !s->data_blocked) {
		/* Answers the client does not read: wait until it does. */
		if (io_output_len(s->io) >= IO_OUTPUT_MAX)
			break;
		if (s->errors >= s->conf->max_errors && s->state != S_DATA) {
			log_info("smtp-in session=%08x address=%s "
			    "result=closed reason=too-many-errors", s->id,
			    s->addr);
			smtp_reply(s, "421 4.7.0 %s Too many errors",
			    s->conf->hostname);
			smtp_close_after_reply(s, "too-many-errors");
			break;
		}
		avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (s->state == S_DATA) {
			if (eol.pos == -1 && avail < DATA_CHUNK)
				break;
			len = eol.pos == -1 || eol.pos >= DATA_CHUNK ?
			    DATA_CHUNK - 1 : (size_t)eol.pos + 1;
			evbuffer_remove(in, data, len);
			data[len] = '\0';
			smtp_data_line(s, data, len, data[len - 1] == '\n');
			continue;
		}
		if (s->skipline) {
			len = eol.pos == -1 ? avail : (size_t)eol.pos + 1;
			evbuffer_drain(in, len);
			if (eol.pos != -1)
				s->skipline = 0;
			continue;
		}
		limit = smtp_line_limit(s, in);
		if (eol.pos == -1 && avail <= limit)
			break;
		if (eol.pos == -1 || (size_t)eol.pos + 1 > limit) {
			s->skipline = 1;
			s->auth_step = AUTH_NONE;
			smtp_long_line(s);
			continue;
		}
		len = eol.pos + 1;
		evbuffer_remove(in, buf, len);
		buf[len] = '\0';
		smtp_deadline_command(s);
		smtp_command_line(s, buf, len);
		explicit_bzero(buf, len);
	}
	/* What this round added to the message goes to the queue now. */
	if (s->state == S_DATA)
		smtp_data_flush(s);
	smtp_deadline_update(s);
	/* Read on only when the next line could be taken. */
	io_set_read(s->io, !s->waiting && !s->starttls &&
	    s->state != S_QUIT && s->state > S_HANDSHAKE && !s->data_blocked);
}

/* Lookup judged the client: greet it or turn it away. */
static void
smtp_lookup_connect(struct smtp_session *s, uint32_t status,
    const char *reply)
{
	if (status != LOOKUP_OK) {
		log_info("smtp-in session=%08x address=%s result=refused "
		    "reason=lookup", s->id, s->addr);
		if (!(s->l->flags & LISTEN_SMTPS))
			smtp_reply(s, "%s", reply);
		smtp_close_after_reply(s, "refused");
		return;
	}
	if (s->l->flags & LISTEN_SMTPS) {
		s->state = S_HANDSHAKE;
		if (io_start_tls_server(s->io, smtp_tls_context(s->l)) == -1) {
			log_warnx("smtp-in session=%08x %s", s->id,
			    io_error(s->io));
			smtp_free(s, "tls-error");
		}
		return;
	}
	smtp_greet(s);
}

static void
smtp_lookup_rcpt(struct smtp_session *s, uint32_t status, const char *reply)
{
	struct smtp_rcpt	*r;

	log_info("smtp-in session=%08x address=%s from=<%s> to=<%s> "
	    "result=%s", s->id, s->addr, s->sender, s->pending_rcpt,
	    status == LOOKUP_OK ? "accepted" : "refused");
	if (status != LOOKUP_OK) {
		smtp_reply(s, "%s", reply[0] ? reply :
		    "451 4.3.0 Temporary failure");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	strlcpy(r->addr, s->pending_rcpt, sizeof(r->addr));
	TAILQ_INSERT_TAIL(&s->rcpts, r, entry);
	s->nrcpt++;
	s->state = S_RCPT;
	smtp_reply(s, "250 2.1.5 Ok");
}

static void
smtp_lookup_vrfy_expn(struct smtp_session *s, uint32_t type,
    struct imsg *imsg)
{
	struct msg_users	 u;
	uint32_t		 n, i;

	if (msg_users_read(imsg, &u) == -1)
		fatalx("smtp: bad users from lookup");
	n = u.n;
	if (n == 0) {
		smtp_reply(s, "550 5.1.1 User unknown");
		return;
	}
	if (type == IMSG_LOOKUP_SMTP_VRFY) {
		smtp_reply(s, "250 2.1.5 <%s@%s>", u.name[0],
		    s->conf->hostname);
		return;
	}
	for (i = 0; i < n; i++)
		smtp_reply(s, "250%c2.1.5 <%s@%s>", i + 1 < n ? '-' : ' ',
		    u.name[i], s->conf->hostname);
}

/* Lookup answered: the client, a MAIL, a RCPT, a VRFY or an EXPN. */
void
smtp_session_lookup_reply(uint32_t id, uint32_t type, struct imsg *imsg)
{
	struct smtp_session	*s;
	struct msg_answer	 a;
	const char		*reply = a.text;
	uint32_t		 status = 0;

	if ((s = smtp_session_find(id)) == NULL || !s->waiting)
		fatalx("smtp: lookup answer for no question");
	if (type != IMSG_LOOKUP_SMTP_VRFY && type != IMSG_LOOKUP_SMTP_EXPN) {
		if (msg_answer_read(imsg, &a) == -1)
			fatalx("smtp: bad answer from lookup");
		status = a.status;
		if (type == IMSG_LOOKUP_SMTP_CONNECT)
			strlcpy(s->rdns, a.rdns, sizeof(s->rdns));
	}
	s->waiting = 0;
	if (s->dead) {
		smtp_free(s, "disconnected");
		return;
	}
	switch (type) {
	case IMSG_LOOKUP_SMTP_CONNECT:
		smtp_lookup_connect(s, status, reply);
		return;
	case IMSG_LOOKUP_SMTP_MAIL:
		if (status == LOOKUP_OK) {
			s->state = S_MAIL;
			smtp_reply(s, "250 2.1.0 Ok");
		} else {
			log_info("smtp-in session=%08x address=%s from=<%s> "
			    "result=refused", s->id, s->addr, s->sender);
			s->sender[0] = '\0';
			smtp_reply(s, "%s", reply);
		}
		break;
	case IMSG_LOOKUP_SMTP_RCPT:
		smtp_lookup_rcpt(s, status, reply);
		break;
	case IMSG_LOOKUP_SMTP_DATA:
		/* Refused: nothing was routed, no message was made. */
		smtp_reply(s, "%s", reply);
		break;
	default:
		smtp_lookup_vrfy_expn(s, type, imsg);
		break;
	}
	smtp_process(s);
}

/* The queue answered a request for a message file or a commit. */
void
smtp_session_queue_reply(uint32_t id, uint32_t type, struct imsg *imsg)
{
	struct smtp_session	*s;
	struct msg_stored	 st;
	uint32_t		 status, msgid;
	int			 fd;

	if (msg_stored_read(imsg, &st) == -1)
		fatalx("smtp: bad answer from the queue");
	status = st.status;
	msgid = st.msgid;
	if ((s = smtp_session_find(id)) == NULL || !s->waiting)
		fatalx("smtp: queue answer for no question");
	s->waiting = 0;
	fd = imsg->fd;
	imsg->fd = -1;

	if (type == IMSG_QUEUE_SMTP_CREATE) {
		if (status == 0 && fd == -1) {
			/*
			 * The pipe was lost to a full descriptor table
			 * (imsg_fd_lost): try again later.
			 */
			log_warnx("smtp-in session=%08x msgid=%08x "
			    "result=tempfail reason=\"no pipe descriptor\"",
			    s->id, msgid);
			s->msgid = msgid;
			smtp_transaction_reset(s);
			status = 1;
		} else if (status == 0)
			s->msgid = msgid;
		if (s->dead) {
			if (fd != -1)
				close(fd);
			smtp_free(s, "disconnected");
			return;
		}
		if (status != 0) {
			smtp_reply(s, "%s", status == 2 ?
			    "452 4.3.1 Insufficient system storage" :
			    "451 4.3.0 Temporary failure");
		} else
			smtp_data_begin(s, fd);
	} else {
		s->msgid = 0;
		if (status == 0)
			log_info("smtp-in session=%08x address=%s msgid=%08x "
			    "from=<%s> rcpts=%zu size=%zu result=queued",
			    s->id, s->addr, msgid, s->sender, s->nrcpt,
			    s->datalen);
		smtp_rcpts_clear(s);
		s->sender[0] = '\0';
		if (s->dead) {
			smtp_free(s, "disconnected");
			return;
		}
		if (status == 0)
			smtp_reply(s, "250 2.0.0 Ok: queued as %08x", msgid);
		else if (status == 2)
			smtp_reply(s, "452 4.3.1 Insufficient system storage");
		else
			smtp_reply(s, "451 4.3.0 Temporary failure");
	}
	smtp_process(s);
}

/* For smtpctl show stats: sessions open now, and accepted since start. */
void
smtp_session_counts(size_t *nopen, uint64_t *total)
{
	*nopen = nsessions;
	*total = nsessions_total;
}
