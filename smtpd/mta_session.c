/*
 * The SMTP client: one connection to one remote host, which greets,
 * says EHLO (HELO when refused), goes to TLS as the route's policy
 * says, logs in when the action has credentials (over TLS only), then
 * sends the route's messages one after another: MAIL, the RCPTs and
 * DATA in one go when PIPELINING is offered, the message read from the
 * queue's file and written with CRLF line ends and dot-stuffing, never
 * held whole in memory.  Each recipient gets the reply that decided it.
 *
 * What it trusts: nothing the remote server sends.  Replies are read
 * by mta_reply.c, one bounded line at a time; every wait has a
 * deadline; anything out of protocol ends this session alone, with a
 * temporary failure for what it carried.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tls.h>
#include <unistd.h>

#include "smtpd.h"
#include "io.h"
#include "mta.h"

#define MTA_IDLE_SECONDS	2	/* an open connection waits for work */
#define MTA_BODY_CHUNK		16384
#define MTA_OUTPUT_LOW		65536

#define CAP_STARTTLS	0x01
#define CAP_PIPELINING	0x02
#define CAP_SIZE	0x04
#define CAP_DSN		0x08
#define CAP_SMTPUTF8	0x10
#define CAP_AUTH_PLAIN	0x20
#define CAP_AUTH_LOGIN	0x40

enum mta_state {
	S_CONNECT,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_TLS,
	S_AUTH_PLAIN,
	S_AUTH_LOGIN,
	S_AUTH_USER,
	S_AUTH_PASS,
	S_IDLE,
	S_TRANSACTION,
	S_BODY,
	S_DOT,
	S_RSET,
	S_QUIT,
	S_CLOSED,
};

static const char *const state_names[] = {
	"connect", "greeting", "ehlo", "helo", "starttls", "tls",
	"auth", "auth", "auth", "auth", "idle", "transaction", "body", "dot",
	"rset", "quit", "closed",
};

struct mta_session {
	uint64_t		 id;
	struct mta_route	*route;
	const struct action	*action;
	size_t			 addri;
	const struct mta_addr	*addr;
	int			 fd;
	struct event		 ev;		/* connect, then idle */
	int			 ev_set;
	struct io		*io;
	enum mta_state		 state;
	struct mta_reply	 reply;
	int			 caps;
	unsigned long long	 maxsize;
	int			 tls;
	int			 tls_skipped;	/* opportunistic, refused */
	int			 usable;	/* got as far as sending mail */
	int			 in_cb;
	int			 dead;
	size_t			 messages;
	char			 servername[256];

	/* The transaction: MAIL, one RCPT per rcpts[], DATA. */
	struct mta_task		*task;
	size_t			*rcpts;		/* indexes into task->rcpts */
	size_t			 nrcpts;
	size_t			 ncmds, sent, acked;
	int			 mail_failed;
	size_t			 accepted;
	int			 dot_ignored;	/* nothing was accepted */
	off_t			 off;
	int			 bol;
};

static int	mta_connect_next(struct mta_session *);
static void	mta_io(struct io *, enum io_event, void *);
static void	mta_next_task(struct mta_session *);
static void	mta_end(struct mta_session *, int, const char *);

static void	mta_printf(struct mta_session *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

static void
mta_printf(struct mta_session *s, const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		fatalx("mta: command too long");
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (io_write(s->io, buf, n) == -1)
		fatal("mta: io_write");
}

static const char *
mta_addr_text(const struct mta_session *s)
{
	return s->addr != NULL ? sa_to_text((struct sockaddr *)&s->addr->ss) :
	    "-";
}

static int
mta_class(int code)
{
	if (code >= 200 && code < 300)
		return DELIVERY_OK;
	if (code >= 500)
		return DELIVERY_PERMFAIL;
	return DELIVERY_TEMPFAIL;
}

static void
mta_rcpt_set(struct mta_rcpt *r, int status, const char *err)
{
	r->status = status;
	strlcpy(r->err, err, sizeof(r->err));
}

/* The transaction is over: the queue hears of each recipient. */
static void
mta_task_finish(struct mta_session *s)
{
	if (s->task == NULL)
		return;
	mta_task_done(s->task, s->addr != NULL ? s->addr->name : NULL);
	s->task = NULL;
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
}

static void
mta_free(struct mta_session *s)
{
	if (s->ev_set)
		event_del(&s->ev);
	if (s->io != NULL)
		io_free(s->io);
	else if (s->fd != -1)
		close(s->fd);
	free(s);
}

/*
 * Leave this host: for the next address while this session never got
 * to send mail, else for good.  What it carried fails for now.
 */
static void
mta_fail(struct mta_session *s, const char *err)
{
	size_t	 i;

	log_info("mta session=%s address=%s host=%s state=%s result=error "
	    "error=\"%s\"", id_text(s->id), mta_addr_text(s),
	    s->addr != NULL ? s->addr->name : "-", state_names[s->state],
	    err);
	if (s->task != NULL) {
		for (i = 0; i < s->task->nrcpts; i++)
			if (s->task->rcpts[i].status == -1)
				mta_rcpt_set(&s->task->rcpts[i],
				    DELIVERY_TEMPFAIL, err);
		mta_task_finish(s);
	}
	if (s->usable) {
		mta_end(s, 1, err);
		return;
	}
	if (s->io != NULL)
		io_free(s->io);
	else if (s->fd != -1)
		close(s->fd);
	s->io = NULL;
	s->fd = -1;
	mta_route_gone_addr(s->route, s->addr);
	s->addr = NULL;
	s->tls = 0;
	s->tls_skipped = 0;
	s->caps = 0;
	s->maxsize = 0;
	strlcpy(s->servername, "", sizeof(s->servername));
	if (!mta_connect_next(s))
		mta_end(s, 0, err);
}

static void
mta_end(struct mta_session *s, int usable, const char *err)
{
	if (s->state == S_IDLE)
		mta_route_idle(s->route, s, 0);
	log_debug("mta session=%s result=closed messages=%zu",
	    id_text(s->id), s->messages);
	s->state = S_CLOSED;
	mta_session_gone(s->route, s->addr, usable, err);
	s->addr = NULL;
	s->dead = 1;
	if (!s->in_cb)
		mta_free(s);
}

static void
mta_quit(struct mta_session *s)
{
	s->state = S_QUIT;
	mta_printf(s, "QUIT");
	io_set_timeout(s->io, env->mta.timeout_command);
}

static int
mta_ascii(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p > 0x7e)
			return 0;
	return 1;
}

/* Send what the transaction may send now: all at once when pipelining. */
static void
mta_send_cmds(struct mta_session *s)
{
	struct mta_task	*t = s->task;
	struct mta_rcpt	*r;
	char		 params[1024];

	while (s->sent < s->ncmds &&
	    ((s->caps & CAP_PIPELINING) || s->sent == s->acked)) {
		params[0] = '\0';
		if (s->sent == 0) {
			if (s->caps & CAP_SIZE)
				snprintf(params, sizeof(params), " SIZE=%lld",
				    (long long)t->size);
			if ((s->caps & CAP_DSN) && t->ret[0] != '\0') {
				strlcat(params, " RET=", sizeof(params));
				strlcat(params, t->ret, sizeof(params));
			}
			if ((s->caps & CAP_DSN) && t->envid[0] != '\0') {
				strlcat(params, " ENVID=", sizeof(params));
				strlcat(params, t->envid, sizeof(params));
			}
			if (s->caps & CAP_SMTPUTF8 && !mta_ascii(t->sender))
				strlcat(params, " SMTPUTF8", sizeof(params));
			mta_printf(s, "MAIL FROM:<%s>%s", t->sender, params);
		} else if (s->sent <= s->nrcpts) {
			r = &t->rcpts[s->rcpts[s->sent - 1]];
			if ((s->caps & CAP_DSN) && r->notify[0] != '\0') {
				strlcat(params, " NOTIFY=", sizeof(params));
				strlcat(params, r->notify, sizeof(params));
			}
			if ((s->caps & CAP_DSN) && r->orcpt[0] != '\0') {
				strlcat(params, " ORCPT=", sizeof(params));
				strlcat(params, r->orcpt, sizeof(params));
			}
			mta_printf(s, "RCPT TO:<%s>%s", r->addr, params);
		} else
			mta_printf(s, "DATA");
		s->sent++;
	}
	io_set_timeout(s->io, env->mta.timeout_command);
}

/* Refuse before sending what the peer cannot take. */
static int
mta_task_check(struct mta_session *s, struct mta_task *t)
{
	char	 err[MTA_REPLY_TEXT_MAX];
	size_t	 i, left = 0;

	if ((s->caps & CAP_SIZE) && s->maxsize > 0 &&
	    (unsigned long long)t->size > s->maxsize) {
		snprintf(err, sizeof(err), "552 5.3.4 message of %lld bytes "
		    "is larger than %.64s takes (%llu)", (long long)t->size,
		    s->addr->name, s->maxsize);
		for (i = 0; i < t->nrcpts; i++)
			mta_rcpt_set(&t->rcpts[i], DELIVERY_PERMFAIL, err);
		return 0;
	}
	for (i = 0; i < t->nrcpts; i++) {
		if (!(s->caps & CAP_SMTPUTF8) && (!mta_ascii(t->sender) ||
		    !mta_ascii(t->rcpts[i].addr)))
			mta_rcpt_set(&t->rcpts[i], DELIVERY_PERMFAIL,
			    "553 5.6.7 the receiving host does not take "
			    "UTF-8 addresses (no SMTPUTF8)");
		else
			left++;
	}
	return left > 0;
}

static void
mta_start_task(struct mta_session *s, struct mta_task *t)
{
	size_t	 i;

	s->task = t;
	if (!mta_task_check(s, t)) {
		mta_task_finish(s);
		mta_next_task(s);
		return;
	}
	if ((s->rcpts = calloc(t->nrcpts, sizeof(*s->rcpts))) == NULL)
		fatal("calloc");
	s->nrcpts = 0;
	for (i = 0; i < t->nrcpts; i++)
		if (t->rcpts[i].status == -1)
			s->rcpts[s->nrcpts++] = i;
	s->ncmds = s->nrcpts + 2;
	s->sent = s->acked = 0;
	s->mail_failed = 0;
	s->accepted = 0;
	s->dot_ignored = 0;
	s->messages++;
	s->state = S_TRANSACTION;
	mta_send_cmds(s);
}

static void
mta_idle_timeout(int fd, short event, void *arg)
{
	struct mta_session	*s = arg;

	s->ev_set = 0;
	mta_route_idle(s->route, s, 0);
	mta_quit(s);
}

static void
mta_next_task(struct mta_session *s)
{
	struct mta_task	*t;
	struct timeval	 tv = { MTA_IDLE_SECONDS, 0 };

	if (s->messages >= env->mta.max_messages) {
		mta_quit(s);
		return;
	}
	if ((t = mta_route_next_task(s->route)) != NULL) {
		mta_start_task(s, t);
		return;
	}
	s->state = S_IDLE;
	io_set_timeout(s->io, 0);
	mta_route_idle(s->route, s, 1);
	evtimer_set(&s->ev, mta_idle_timeout, s);
	evtimer_add(&s->ev, &tv);
	s->ev_set = 1;
}

/* The route has work again for this idle session. */
void
mta_session_wake(struct mta_session *s)
{
	struct mta_task	*t;

	if (s->ev_set) {
		event_del(&s->ev);
		s->ev_set = 0;
	}
	if ((t = mta_route_next_task(s->route)) == NULL) {
		mta_quit(s);
		return;
	}
	mta_start_task(s, t);
}

static void
mta_rset(struct mta_session *s)
{
	mta_task_finish(s);
	s->state = S_RSET;
	mta_printf(s, "RSET");
	io_set_timeout(s->io, env->mta.timeout_command);
}

/* Write the message while the output runs low; then the dot. */
static void
mta_body(struct mta_session *s)
{
	char	 in[MTA_BODY_CHUNK], out[2 * MTA_BODY_CHUNK + 8];
	ssize_t	 n, i;
	size_t	 o;

	while (s->state == S_BODY && io_output_len(s->io) < MTA_OUTPUT_LOW) {
		if ((n = pread(s->task->fd, in, sizeof(in), s->off)) == -1) {
			log_warn("mta: msgid=%08x read", s->task->msgid);
			mta_fail(s, "451 4.3.0 cannot read the message");
			return;
		}
		o = 0;
		if (n == 0) {
			if (!s->bol)
				out[o++] = '\r', out[o++] = '\n';
			memcpy(out + o, ".\r\n", 3);
			o += 3;
			s->state = S_DOT;
			io_set_timeout(s->io, env->mta.timeout_data);
		}
		for (i = 0; i < n; i++) {
			if (s->bol && in[i] == '.')
				out[o++] = '.';
			if (in[i] == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				s->bol = 1;
				continue;
			}
			out[o++] = in[i];
			s->bol = 0;
		}
		s->off += n;
		if (io_write(s->io, out, o) == -1)
			fatal("mta: io_write");
	}
}

/* One reply for the n-th command of the transaction. */
static void
mta_transaction_reply(struct mta_session *s)
{
	struct mta_reply	*rp = &s->reply;
	struct mta_task		*t = s->task;
	size_t			 k = s->acked++, i;
	int			 cls = mta_class(rp->code);

	if (k == 0) {
		if (cls != DELIVERY_OK) {
			s->mail_failed = 1;
			for (i = 0; i < s->nrcpts; i++)
				mta_rcpt_set(&t->rcpts[s->rcpts[i]], cls,
				    rp->text);
			if (!(s->caps & CAP_PIPELINING)) {
				mta_rset(s);
				return;
			}
		}
	} else if (k <= s->nrcpts) {
		if (!s->mail_failed) {
			if (cls == DELIVERY_OK) {
				t->rcpts[s->rcpts[k - 1]].accepted = 1;
				s->accepted++;
			} else
				mta_rcpt_set(&t->rcpts[s->rcpts[k - 1]], cls,
				    rp->text);
		}
		if (!(s->caps & CAP_PIPELINING) && k == s->nrcpts &&
		    s->accepted == 0) {
			mta_rset(s);
			return;
		}
	} else {
		/* DATA */
		if (rp->code == 354) {
			s->state = S_BODY;
			s->off = 0;
			s->bol = 1;
			if (s->accepted == 0 || s->mail_failed) {
				s->dot_ignored = 1;
				s->state = S_DOT;
				mta_printf(s, ".");
				io_set_timeout(s->io, env->mta.timeout_data);
				return;
			}
			mta_body(s);
			return;
		}
		for (i = 0; i < s->nrcpts; i++)
			if (t->rcpts[s->rcpts[i]].accepted &&
			    t->rcpts[s->rcpts[i]].status == -1)
				mta_rcpt_set(&t->rcpts[s->rcpts[i]],
				    cls == DELIVERY_OK ? DELIVERY_TEMPFAIL :
				    cls, rp->text);
		mta_rset(s);
		return;
	}
	mta_send_cmds(s);
}

static void
mta_dot_reply(struct mta_session *s)
{
	struct mta_task	*t = s->task;
	size_t		 i;
	int		 cls = mta_class(s->reply.code);

	if (!s->dot_ignored)
		for (i = 0; i < s->nrcpts; i++)
			if (t->rcpts[s->rcpts[i]].accepted)
				mta_rcpt_set(&t->rcpts[s->rcpts[i]], cls,
				    s->reply.text);
	log_info("mta session=%s msgid=%08x host=%s address=%s rcpts=%zu "
	    "accepted=%zu result=%s reply=\"%s\"", id_text(s->id), t->msgid,
	    s->addr->name, mta_addr_text(s), s->nrcpts, s->accepted,
	    s->dot_ignored ? "refused" : cls == DELIVERY_OK ? "sent" :
	    cls == DELIVERY_TEMPFAIL ? "tempfail" : "permfail",
	    s->reply.text);
	if (s->dot_ignored || cls != DELIVERY_OK) {
		mta_rset(s);
		return;
	}
	mta_task_finish(s);
	mta_next_task(s);
}

/* The TLS the policy asks for, then AUTH, then mail. */
static void
mta_after_ehlo(struct mta_session *s)
{
	const struct relay_opts	*o = &s->action->relay;
	const char		*creds;
	char			 buf[1024], b64[1400], *colon;
	size_t			 ulen, plen;
	int			 require;

	require = o->tls_require || o->tls == RELAY_TLS_STARTTLS ||
	    o->tls == RELAY_TLS_SMTPS;
	if (!s->tls && !s->tls_skipped && o->tls != RELAY_TLS_NONE) {
		if (s->caps & CAP_STARTTLS) {
			s->state = S_STARTTLS;
			mta_printf(s, "STARTTLS");
			return;
		}
		if (require) {
			mta_fail(s, "451 4.7.4 TLS is required but the host "
			    "does not offer STARTTLS");
			return;
		}
	}
	if (o->auth_table[0] != '\0') {
		if (!s->tls) {
			mta_fail(s, "451 4.7.4 login needs TLS, which the "
			    "host does not offer");
			return;
		}
		if ((creds = mta_credentials(s->action)) == NULL ||
		    (colon = strchr(creds, ':')) == NULL) {
			mta_fail(s, "451 4.7.0 no credentials for this "
			    "relay's label");
			return;
		}
		ulen = colon - creds;
		plen = strlen(colon + 1);
		if (ulen + plen + 2 > sizeof(buf)) {
			mta_fail(s, "451 4.7.0 credentials too long");
			return;
		}
		if (s->caps & CAP_AUTH_PLAIN) {
			buf[0] = '\0';
			memcpy(buf + 1, creds, ulen);
			buf[ulen + 1] = '\0';
			memcpy(buf + ulen + 2, colon + 1, plen);
			if (base64_encode((unsigned char *)buf, ulen + plen + 2,
			    b64, sizeof(b64)) == -1)
				fatalx("mta: base64");
			s->state = S_AUTH_PLAIN;
			mta_printf(s, "AUTH PLAIN %s", b64);
			explicit_bzero(buf, sizeof(buf));
			explicit_bzero(b64, sizeof(b64));
			return;
		}
		if (s->caps & CAP_AUTH_LOGIN) {
			s->state = S_AUTH_LOGIN;
			mta_printf(s, "AUTH LOGIN");
			return;
		}
		mta_fail(s, "451 4.7.0 the host offers neither AUTH PLAIN "
		    "nor AUTH LOGIN");
		return;
	}
	s->usable = 1;
	mta_host_ok(s->addr);
	mta_next_task(s);
}

/* AUTH LOGIN: the user name, then the password, base64 each. */
static void
mta_auth_login_step(struct mta_session *s, int user)
{
	const char	*creds = mta_credentials(s->action), *colon;
	char		 b64[1400];
	size_t		 len;

	if (creds == NULL || (colon = strchr(creds, ':')) == NULL) {
		mta_fail(s, "451 4.7.0 no credentials for this relay's label");
		return;
	}
	len = user ? (size_t)(colon - creds) : strlen(colon + 1);
	if (base64_encode((const unsigned char *)(user ? creds : colon + 1),
	    len, b64, sizeof(b64)) == -1) {
		mta_fail(s, "451 4.7.0 credentials too long");
		return;
	}
	s->state = user ? S_AUTH_USER : S_AUTH_PASS;
	mta_printf(s, "%s", b64);
	explicit_bzero(b64, sizeof(b64));
}

static void
mta_ehlo(struct mta_session *s)
{
	const char	*helo = s->action->relay.helo[0] != '\0' ?
	    s->action->relay.helo : env->hostname;

	s->caps = 0;
	s->maxsize = 0;
	s->state = S_EHLO;
	mta_printf(s, "EHLO %s", helo);
	io_set_timeout(s->io, env->mta.timeout_command);
}

/* An EHLO keyword line: "250-SIZE 1000", "250 PIPELINING". */
static void
mta_ehlo_line(struct mta_session *s, const char *line, size_t len)
{
	char		 kw[128], *p;
	const char	*errstr;

	if (len <= 4 || s->reply.nlines < 2)
		return;
	mta_sanitize(kw, sizeof(kw), line + 4, len - 4);
	if ((p = strchr(kw, ' ')) != NULL)
		*p++ = '\0';
	if (strcasecmp(kw, "STARTTLS") == 0)
		s->caps |= CAP_STARTTLS;
	else if (strcasecmp(kw, "PIPELINING") == 0)
		s->caps |= CAP_PIPELINING;
	else if (strcasecmp(kw, "DSN") == 0)
		s->caps |= CAP_DSN;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
		s->caps |= CAP_SMTPUTF8;
	else if (strcasecmp(kw, "SIZE") == 0) {
		s->caps |= CAP_SIZE;
		if (p != NULL)
			s->maxsize = strtonum(p, 0, LLONG_MAX, &errstr);
	} else if (strcasecmp(kw, "AUTH") == 0 && p != NULL) {
		for (p = strtok(p, " "); p != NULL; p = strtok(NULL, " "))
			if (strcasecmp(p, "PLAIN") == 0)
				s->caps |= CAP_AUTH_PLAIN;
			else if (strcasecmp(p, "LOGIN") == 0)
				s->caps |= CAP_AUTH_LOGIN;
	}
}

static void
mta_start_tls(struct mta_session *s)
{
	struct tls	*ctx;
	int		 verify = s->action->relay.tls_verify;

	if ((ctx = tls_client()) == NULL)
		fatalx("mta: tls_client");
	if (tls_configure(ctx, mta_tls_config(verify)) == -1) {
		log_warnx("mta: tls_configure: %s", tls_error(ctx));
		tls_free(ctx);
		mta_fail(s, "451 4.7.5 TLS could not be set up");
		return;
	}
	s->state = S_TLS;
	if (io_start_tls_client(s->io, ctx, s->servername[0] != '\0' ?
	    s->servername : NULL) == -1) {
		tls_free(ctx);
		mta_fail(s, "451 4.7.5 TLS could not be set up");
	}
}

/* A whole reply, in the state that waited for it. */
static void
mta_reply(struct mta_session *s)
{
	struct mta_reply	*rp = &s->reply;
	char			 err[MTA_REPLY_TEXT_MAX + 64];
	int			 cls = mta_class(rp->code);

	switch (s->state) {
	case S_GREETING:
		if (rp->code != 220) {
			snprintf(err, sizeof(err), "greeting: %s", rp->text);
			mta_fail(s, rp->text[0] == '5' ? rp->text : err);
			return;
		}
		mta_ehlo(s);
		return;
	case S_EHLO:
		if (cls == DELIVERY_OK) {
			mta_after_ehlo(s);
			return;
		}
		s->state = S_HELO;
		mta_printf(s, "HELO %s", s->action->relay.helo[0] != '\0' ?
		    s->action->relay.helo : env->hostname);
		return;
	case S_HELO:
		if (cls != DELIVERY_OK) {
			mta_fail(s, rp->text);
			return;
		}
		s->caps = 0;
		mta_after_ehlo(s);
		return;
	case S_STARTTLS:
		if (rp->code == 220) {
			mta_start_tls(s);
			return;
		}
		if (s->action->relay.tls_require ||
		    s->action->relay.tls != RELAY_TLS_OPPORTUNISTIC) {
			mta_fail(s, "451 4.7.4 TLS is required but STARTTLS "
			    "was refused");
			return;
		}
		/* Opportunistic: go on in the clear. */
		s->tls_skipped = 1;
		mta_after_ehlo(s);
		return;
	case S_AUTH_PLAIN:
	case S_AUTH_PASS:
		if (rp->code != 235) {
			snprintf(err, sizeof(err), "login refused: %s",
			    rp->text);
			mta_fail(s, err);
			return;
		}
		log_info("mta session=%s host=%s event=login label=%s",
		    id_text(s->id), s->addr->name, s->action->relay.label);
		s->usable = 1;
		mta_host_ok(s->addr);
		mta_next_task(s);
		return;
	case S_AUTH_LOGIN:
	case S_AUTH_USER:
		if (rp->code != 334) {
			snprintf(err, sizeof(err), "login refused: %s",
			    rp->text);
			mta_fail(s, err);
			return;
		}
		mta_auth_login_step(s, s->state == S_AUTH_LOGIN);
		return;
	case S_TRANSACTION:
		mta_transaction_reply(s);
		return;
	case S_DOT:
		mta_dot_reply(s);
		return;
	case S_RSET:
		if (cls != DELIVERY_OK) {
			mta_end(s, 1, rp->text);
			return;
		}
		mta_next_task(s);
		return;
	case S_QUIT:
		mta_end(s, 1, "");
		return;
	default:
		mta_fail(s, "451 4.5.0 the host replied out of turn");
		return;
	}
}

/* Complete lines first; a line that never ends is cut off. */
static void
mta_input(struct mta_session *s)
{
	struct evbuffer	*in = io_input(s->io);
	char		*line;
	size_t		 len;
	int		 r;

	while (!s->dead && s->io != NULL && s->state != S_TLS) {
		if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) ==
		    NULL) {
			if (evbuffer_get_length(in) > MTA_REPLY_LINE_MAX + 2)
				mta_fail(s, "451 4.5.0 reply line too long");
			return;
		}
		if (s->state == S_CONNECT || s->state == S_IDLE ||
		    s->state == S_BODY ||
		    (s->state == S_TRANSACTION && s->acked == s->sent)) {
			free(line);
			mta_fail(s, "451 4.5.0 the host replied out of turn");
			return;
		}
		if (s->reply.done)
			mta_reply_reset(&s->reply);
		r = mta_reply_line(&s->reply, line, len);
		if (r != -1 && s->state == S_EHLO && s->reply.code == 250)
			mta_ehlo_line(s, line, len);
		free(line);
		if (r == -1) {
			mta_fail(s, "451 4.5.0 malformed reply");
			return;
		}
		if (r == 0)
			continue;
		if (s->reply.code == 421 && s->state != S_QUIT) {
			mta_fail(s, s->reply.text);
			return;
		}
		mta_reply(s);
	}
}

static void
mta_io(struct io *io, enum io_event ev, void *arg)
{
	struct mta_session	*s = arg;
	char			 err[320];

	s->in_cb = 1;
	switch (ev) {
	case IO_DATAIN:
		mta_input(s);
		break;
	case IO_DRAINED:
		if (s->state == S_BODY)
			mta_body(s);
		break;
	case IO_TLSREADY:
		s->tls = 1;
		log_info("mta session=%s host=%s event=tls protocol=%s "
		    "cipher=%s verified=%s", id_text(s->id), s->addr->name,
		    tls_conn_version(io_tls(io)), tls_conn_cipher(io_tls(io)),
		    s->action->relay.tls_verify ? "yes" : "no");
		if (s->action->relay.tls == RELAY_TLS_SMTPS) {
			s->state = S_GREETING;
			io_set_timeout(s->io, env->mta.timeout_command);
		} else
			mta_ehlo(s);
		break;
	case IO_TIMEOUT:
		snprintf(err, sizeof(err), "451 4.4.2 timeout waiting for "
		    "the %s reply", state_names[s->state]);
		/* A host that never greets is as good as down. */
		if (s->state == S_GREETING)
			mta_host_failed(s->addr, "no greeting");
		mta_fail(s, err);
		break;
	case IO_DISCONNECTED:
		if (s->state == S_QUIT)
			mta_end(s, 1, "");
		else
			mta_fail(s, "451 4.4.2 connection closed by the host");
		break;
	case IO_ERROR:
		snprintf(err, sizeof(err), "451 4.4.2 %s", io_error(io));
		mta_sanitize(err, sizeof(err), err, strlen(err));
		mta_fail(s, err);
		break;
	}
	s->in_cb = 0;
	if (s->dead)
		mta_free(s);
}

static void
mta_connected(int fd, short event, void *arg)
{
	struct mta_session	*s = arg;
	char			 err[MTA_REPLY_TEXT_MAX];
	socklen_t		 len = sizeof(int);
	int			 e = 0;

	s->ev_set = 0;
	s->in_cb = 1;
	if (event & EV_TIMEOUT)
		e = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
		snprintf(err, sizeof(err), "451 4.4.1 cannot connect to "
		    "%.64s: %s", s->addr->name, strerror(e));
		mta_host_failed(s->addr, strerror(e));
		mta_fail(s, err);
	} else if ((s->io = io_new(fd, mta_io, s)) == NULL)
		fatal("mta: io_new");
	else {
		log_info("mta session=%s host=%s address=%s event=connected",
		    id_text(s->id), s->addr->name, mta_addr_text(s));
		io_set_timeout(s->io, env->mta.timeout_command);
		if (s->action->relay.tls == RELAY_TLS_SMTPS)
			mta_start_tls(s);
		else
			s->state = S_GREETING;
	}
	s->in_cb = 0;
	if (s->dead)
		mta_free(s);
}

static int
mta_bind_src(struct mta_session *s, int fd)
{
	struct addrinfo	 hints, *res;
	int		 r;

	if (s->action->relay.src[0] == '\0')
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = s->addr->ss.ss_family;
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(s->action->relay.src, NULL, &hints, &res) != 0)
		return 0;	/* another family: not used for this one */
	r = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return r;
}

/* Open a connection to the next usable address; 0 when none is left. */
static int
mta_connect_next(struct mta_session *s)
{
	struct timeval	 tv = { env->mta.timeout_connect, 0 };
	const char	*name;
	size_t		 len;
	int		 fd;

	while ((s->addr = mta_route_next_addr(s->route, &s->addri)) != NULL) {
		s->state = S_CONNECT;
		mta_reply_reset(&s->reply);
		name = s->action->relay.host[0] != '\0' ?
		    s->action->relay.host : s->addr->name;
		len = strlen(name);
		if (name[0] != '[' && len < sizeof(s->servername))
			strlcpy(s->servername, name, sizeof(s->servername));
		if ((fd = socket(s->addr->ss.ss_family, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
			log_warn("mta: socket");
			mta_route_gone_addr(s->route, s->addr);
			continue;
		}
		if (mta_bind_src(s, fd) == -1) {
			log_warn("mta: bind to %s", s->action->relay.src);
			close(fd);
			mta_route_gone_addr(s->route, s->addr);
			continue;
		}
		if (connect(fd, (struct sockaddr *)&s->addr->ss,
		    s->addr->sslen) == -1 && errno != EINPROGRESS) {
			log_info("mta host=%s address=%s result=error "
			    "error=\"%s\"", s->addr->name, mta_addr_text(s),
			    strerror(errno));
			mta_host_failed(s->addr, strerror(errno));
			close(fd);
			mta_route_gone_addr(s->route, s->addr);
			continue;
		}
		s->fd = fd;
		event_set(&s->ev, fd, EV_WRITE, mta_connected, s);
		event_add(&s->ev, &tv);
		s->ev_set = 1;
		return 1;
	}
	return 0;
}

void
mta_session_start(struct mta_route *r)
{
	struct mta_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc");
	s->id = id_generate();
	s->route = r;
	s->action = mta_route_action(r);
	s->fd = -1;
	if (!mta_connect_next(s)) {
		mta_session_gone(r, NULL, 0, "451 4.4.1 no host of this "
		    "destination can be tried now (all backed off)");
		free(s);
	}
}
