/*
 * The listener process.  It holds no file system access and no right
 * to open connections: it accepts on the sockets the parent bound and
 * handed over, speaks SMTP, and asks lookup and the queue for every
 * decision and every byte of storage.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"
#include "smtp.h"
#include "smtp_session.h"

struct smtp_listener {
	TAILQ_ENTRY(smtp_listener)	 entry;
	struct event			 ev;
	struct event			 pause;
	int				 fd;
	struct listener			*conf;
};
static TAILQ_HEAD(, smtp_listener)	 smtp_listeners =
    TAILQ_HEAD_INITIALIZER(smtp_listeners);

/* smtpctl pause smtp: no accept(2) at all until resume. */
static int				 smtp_paused;

/*
 * One TLS server context per listener, made before the sandbox: its
 * key pairs, chosen by SNI, its protocols and ciphers, and the CA its
 * clients' certificates are checked against.
 */
struct smtp_tls {
	TAILQ_ENTRY(smtp_tls)	 entry;
	uint32_t		 index;
	struct tls		*ctx;
};
static TAILQ_HEAD(, smtp_tls)	 tls_contexts =
    TAILQ_HEAD_INITIALIZER(tls_contexts);

static void
smtp_accept(int fd, short event, void *arg)
{
	struct smtp_listener	*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct timeval		 tv = { 1, 0 };
	int			 s;

	if ((s = accept4(fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE ||
		    errno == ENOBUFS || errno == ENOMEM) {
			/*
			 * Out of descriptors or memory: stop accepting for a
			 * while rather than spin on a socket that stays
			 * readable; the clients wait in the listen queue.
			 */
			log_warn("smtp-in accept");
			event_del(&l->ev);
			evtimer_add(&l->pause, &tv);
		}
		return;
	}
	smtp_session_accept(l->conf, s, (struct sockaddr *)&ss, len);
}

static void
smtp_accept_resume(int fd, short event, void *arg)
{
	struct smtp_listener	*l = arg;

	if (!smtp_paused)
		event_add(&l->ev, NULL);
}

static void
smtp_listener_add(int fd, uint32_t index)
{
	struct smtp_listener	*l;
	struct listener		*conf;

	TAILQ_FOREACH(conf, &env->listeners, entry)
		if (conf->index == index)
			break;
	if (conf == NULL)
		fatalx("smtp: no listener %u", index);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("calloc");
	l->fd = fd;
	l->conf = conf;
	set_nonblocking(fd);
	event_set(&l->ev, fd, EV_READ | EV_PERSIST, smtp_accept, l);
	evtimer_set(&l->pause, smtp_accept_resume, l);
	TAILQ_INSERT_TAIL(&smtp_listeners, l, entry);
	if (!smtp_paused)
		event_add(&l->ev, NULL);
}

/*
 * Stop or go on accepting new connections; sessions already open carry
 * on.  While paused, clients wait in the kernel's listen queue and are
 * greeted on resume, or give up.
 */
static void
smtp_pause(int pause)
{
	struct smtp_listener	*l;

	smtp_paused = pause;
	TAILQ_FOREACH(l, &smtp_listeners, entry) {
		if (pause) {
			event_del(&l->ev);
			evtimer_del(&l->pause);
		} else
			event_add(&l->ev, NULL);
	}
	log_info("smtp-in %s by smtpctl", pause ? "paused" : "resumed");
}

static void
smtp_control_answer(uint32_t type, uint32_t client, const char *text)
{
	struct ibuf	*b;

	b = proc_create(type, client, -1);
	imsg_add_string(b, text);
	proc_close(PROC_CONTROL, b);
}

static void
smtp_control_pause(struct imsg *imsg)
{
	int	 pause = imsg->hdr.type == IMSG_CTL_PAUSE;

	if (imsg_get_u32(imsg) != CTL_PAUSE_SMTP)
		fatalx("smtp: control paused what smtp does not run");
	proc_check(PROC_CONTROL, imsg);
	smtp_pause(pause);
	smtp_control_answer(IMSG_CTL_OK, imsg->hdr.peerid,
	    pause ? "smtp paused" : "smtp resumed");
}

static void
smtp_control_stats(struct imsg *imsg)
{
	char		 line[64];
	size_t		 nopen;
	uint64_t	 total;

	proc_check(PROC_CONTROL, imsg);
	smtp_session_counts(&nopen, &total);
	snprintf(line, sizeof(line), "smtp.sessions=%zu", nopen);
	smtp_control_answer(IMSG_CTL_LINE, imsg->hdr.peerid, line);
	snprintf(line, sizeof(line), "smtp.sessions.total=%llu",
	    (unsigned long long)total);
	smtp_control_answer(IMSG_CTL_LINE, imsg->hdr.peerid, line);
	smtp_control_answer(IMSG_CTL_END, imsg->hdr.peerid, "");
}

static void
smtp_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_PARENT:
		switch (imsg->hdr.type) {
		case IMSG_PARENT_LISTENER: {
			uint32_t index = imsg_get_u32(imsg);

			proc_check(from, imsg);
			if (imsg->fd == -1)
				fatalx("smtp: listener without a socket");
			smtp_listener_add(imsg->fd, index);
			imsg->fd = -1;
			return;
		}
		case IMSG_PARENT_LISTENERS_DONE:
			proc_check(from, imsg);
			log_info("smtp-in ready");
			return;
		}
		break;
	case PROC_LOOKUP:
		switch (imsg->hdr.type) {
		case IMSG_LOOKUP_SMTP_CONNECT:
		case IMSG_LOOKUP_SMTP_MAIL:
		case IMSG_LOOKUP_SMTP_RCPT:
		case IMSG_LOOKUP_SMTP_VRFY:
		case IMSG_LOOKUP_SMTP_EXPN:
		case IMSG_LOOKUP_SMTP_DATA:
			smtp_session_lookup_reply(imsg->hdr.peerid,
			    imsg->hdr.type, imsg);
			return;
		case IMSG_LOOKUP_SMTP_AUTH:
			smtp_session_auth_reply(imsg->hdr.peerid, imsg);
			return;
		case IMSG_LOOKUP_SMTP_LOCAL:
		case IMSG_LOOKUP_SMTP_WARN:
			smtp_local_reply(imsg->hdr.peerid, imsg->hdr.type,
			    imsg);
			return;
		}
		break;
	case PROC_QUEUE:
		switch (imsg->hdr.type) {
		case IMSG_QUEUE_SMTP_CREATE:
		case IMSG_QUEUE_SMTP_COMMIT:
			smtp_session_queue_reply(imsg->hdr.peerid,
			    imsg->hdr.type, imsg);
			return;
		}
		break;
	case PROC_CONTROL:
		switch (imsg->hdr.type) {
		case IMSG_CTL_PAUSE:
		case IMSG_CTL_RESUME:
			smtp_control_pause(imsg);
			return;
		case IMSG_CTL_SHOW_STATS:
			smtp_control_stats(imsg);
			return;
		}
		break;
	default:
		break;
	}
	proc_bad_imsg(PROC_SMTP, from, imsg);
}

struct tls *
smtp_tls_context(struct listener *l)
{
	struct smtp_tls	*t;

	TAILQ_FOREACH(t, &tls_contexts, entry)
		if (t->index == l->index)
			return t->ctx;
	fatalx("smtp: no TLS context for listener %u", l->index);
}

static void
smtp_tls_fail(struct listener *l, const char *what, struct tls_config *cfg,
    struct tls *ctx)
{
	fatalx("smtp: listener on line %d: %s: %s", l->line, what,
	    tls_config_error(cfg) ? tls_config_error(cfg) : tls_error(ctx));
}

/* A certificate or key of the parent's copy, or die naming it. */
static void
smtp_tls_file(struct listener *l, const char *path, int kind,
    const unsigned char **data, size_t *len)
{
	if (conffile_read(path, kind, data, len) == -1)
		fatal("smtp: listener on line %d: %s", l->line, path);
}

/*
 * Certificates, keys and the CA come from the parent's copy of the
 * files, wiped once the contexts are made: the keys then live only
 * inside libtls.  The first pki is the default; libtls hands a client
 * the certificate of another one whose names match the name the client
 * asked for (SNI).
 */
static struct tls *
smtp_tls_server(struct listener *l)
{
	struct tls_config	*cfg;
	struct tls		*ctx;
	struct pki		*pki;
	const unsigned char	*cert, *key, *ca;
	size_t			 certlen, keylen, calen;
	uint32_t		 protocols;
	int			 i, r;

	if ((cfg = tls_config_new()) == NULL || (ctx = tls_server()) == NULL)
		fatal("smtp: tls");
	for (i = 0; i < l->tls.npki; i++) {
		if ((pki = config_pki(env, l->tls.pki[i])) == NULL)
			fatalx("smtp: no pki %s", l->tls.pki[i]);
		smtp_tls_file(l, pki->cert, CONFFILE_CERT, &cert, &certlen);
		smtp_tls_file(l, pki->key, CONFFILE_KEY, &key, &keylen);
		if (i == 0)
			r = tls_config_set_keypair_mem(cfg, cert, certlen,
			    key, keylen);
		else
			r = tls_config_add_keypair_mem(cfg, cert, certlen,
			    key, keylen);
		if (r == -1)
			smtp_tls_fail(l, pki->name, cfg, ctx);
	}
	protocols = l->tls.protocols;
	if (protocols == 0)
		protocols = TLS_PROTOCOL_TLSv1_2 | TLS_PROTOCOL_TLSv1_3;
	if (tls_config_set_protocols(cfg, protocols) == -1)
		smtp_tls_fail(l, "protocols", cfg, ctx);
	if (l->tls.ciphers[0] != '\0' &&
	    tls_config_set_ciphers(cfg, l->tls.ciphers) == -1)
		smtp_tls_fail(l, "ciphers", cfg, ctx);
	if (l->flags & LISTEN_VERIFY) {
		smtp_tls_file(l, l->tls.ca, CONFFILE_CERT, &ca, &calen);
		if (tls_config_set_ca_mem(cfg, ca, calen) == -1)
			smtp_tls_fail(l, l->tls.ca, cfg, ctx);
		/* Mandatory is judged at MAIL, with a reply that says so. */
		tls_config_verify_client_optional(cfg);
	}
	if (tls_configure(ctx, cfg) == -1)
		smtp_tls_fail(l, "tls_configure", cfg, ctx);
	tls_config_free(cfg);
	return ctx;
}

static void
smtp_tls_init(void)
{
	struct listener		*l;
	struct smtp_tls		*t;

	TAILQ_FOREACH(l, &env->listeners, entry) {
		if (!(l->flags & (LISTEN_TLS | LISTEN_SMTPS)))
			continue;
		if ((t = calloc(1, sizeof(*t))) == NULL)
			fatal("calloc");
		t->index = l->index;
		t->ctx = smtp_tls_server(l);
		TAILQ_INSERT_TAIL(&tls_contexts, t, entry);
	}
}

/* The parent said so in the log when it lowered the limit. */
static void
smtp_fd_limit(void)
{
	struct rlimit	 rl;
	size_t		 fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	fit = config_fd_sessions(rl.rlim_cur);
	if (env->max_sessions > fit)
		env->max_sessions = fit;
}

void
smtp_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };

	smtp_fd_limit();
	event_init();
	proc_peers_from_exec(PROC_SMTP, smtp_dispatch);
	proc_signals();
	tzset();
	if (tls_init() == -1)
		fatalx("smtp: tls_init");
	smtp_tls_init();
	conffiles_free(conffiles_serving());
	proc_drop_privileges(SMTPD_USER, SMTPD_EMPTY_DIR);
	sandbox(PROMISES_SMTP, nopaths);
	event_dispatch();
	fatalx("smtp: event loop ended");
}
