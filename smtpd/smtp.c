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
TAILQ_HEAD(smtp_listeners, smtp_listener);
static struct smtp_listeners	 smtp_listeners =
    TAILQ_HEAD_INITIALIZER(smtp_listeners);

/*
 * A reload: the new configuration and the sockets of its listeners, as
 * they come; they replace the running ones all at once when the parent
 * has sent the last socket.
 */
static struct smtpd_config	*smtp_next;
static struct smtp_listeners	 smtp_next_listeners =
    TAILQ_HEAD_INITIALIZER(smtp_next_listeners);

static void	smtp_tls_init(struct smtpd_config *);
static void	smtp_fd_limit(void);

/* smtpctl pause smtp: no accept(2) at all until resume. */
static int				 smtp_paused;

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
smtp_listener_add(struct smtpd_config *c, struct smtp_listeners *list,
    int fd, uint32_t index)
{
	struct smtp_listener	*l;
	struct listener		*conf;

	TAILQ_FOREACH(conf, &c->listeners, entry)
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
	TAILQ_INSERT_TAIL(list, l, entry);
}

/* Stop accepting on each listener of list, and close its socket. */
static void
smtp_listeners_close(struct smtp_listeners *list)
{
	struct smtp_listener	*l;

	while ((l = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, l, entry);
		event_del(&l->ev);
		evtimer_del(&l->pause);
		close(l->fd);
		free(l);
	}
}

static void
smtp_listeners_start(void)
{
	struct smtp_listener	*l;

	if (smtp_paused)
		return;
	TAILQ_FOREACH(l, &smtp_listeners, entry)
		event_add(&l->ev, NULL);
}

/*
 * The new generation takes over: its listeners accept from now on (the
 * parent passed the same socket again for a listener that stayed, so
 * its queue of clients is kept) and the old ones close.  Sessions open
 * keep their configuration until they end.
 */
static void
smtp_switch(void)
{
	smtp_listeners_close(&smtp_listeners);
	TAILQ_CONCAT(&smtp_listeners, &smtp_next_listeners, entry);
	config_retire(env);
	env = smtp_next;
	smtp_next = NULL;
	smtp_fd_limit();
	smtp_listeners_start();
	log_info("smtp-in reload generation=%u", env->generation);
	reload_confirm(env);
}

/* A generation that never took over: the parent moved past it. */
static void
smtp_next_drop(void)
{
	smtp_listeners_close(&smtp_next_listeners);
	config_free(smtp_next);
	smtp_next = NULL;
}

static void
smtp_reload(struct imsg *imsg)
{
	if (smtp_next != NULL) {
		log_warnx("smtp-in generation %u dropped for a newer one",
		    smtp_next->generation);
		smtp_next_drop();
	}
	smtp_next = reload_receive(imsg, 0);
	smtp_tls_init(smtp_next);
	conffiles_free(conffiles_serving());
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
	proc_close(PROC_CONTROL, msg_ctl_answer_write(type, client, -1, text));
}

/* Control's requests are checked, never trusted: a bad one is refused. */
static void
smtp_control_pause(struct imsg *imsg)
{
	int		 pause = imsg->hdr.type == IMSG_CTL_PAUSE;
	uint32_t	 what;

	if (msg_ctl_pause_read(imsg, &what) == -1 || what != CTL_PAUSE_SMTP) {
		proc_refuse(PROC_CONTROL, imsg, "malformed");
		return;
	}
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

	if (msg_ctl_request_read(imsg) == -1) {
		proc_refuse(PROC_CONTROL, imsg, "malformed");
		return;
	}
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
			uint32_t index;

			if (msg_listener_read(imsg, &index) == -1)
				fatalx("smtp: malformed listener from the "
				    "parent");
			if (imsg->fd == -1)
				fatalx("smtp: listener without a socket");
			if (smtp_next != NULL)
				smtp_listener_add(smtp_next,
				    &smtp_next_listeners, imsg->fd, index);
			else
				smtp_listener_add(env, &smtp_listeners,
				    imsg->fd, index);
			imsg->fd = -1;
			return;
		}
		case IMSG_PARENT_LISTENERS_DONE:
			if (msg_listeners_done_read(imsg) == -1)
				fatalx("smtp: malformed end of listeners from "
				    "the parent");
			if (smtp_next != NULL) {
				smtp_switch();
				return;
			}
			smtp_listeners_start();
			log_info("smtp-in ready");
			return;
		case IMSG_PARENT_RELOAD:
			smtp_reload(imsg);
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
	if (l->tls_ctx == NULL)
		fatalx("smtp: no TLS context for listener %u", l->index);
	return l->tls_ctx;
}

/*
 * The TLS context of each listener of c, from the parent's copy of the
 * files, wiped once the contexts are made: the keys then live only
 * inside libtls.  The parent made the same contexts before it sent the
 * files, so a failure here is not the admin's.
 */
static void
smtp_tls_init(struct smtpd_config *c)
{
	struct listener		*l;
	char			 err[512];

	TAILQ_FOREACH(l, &c->listeners, entry) {
		if (!(l->flags & (LISTEN_TLS | LISTEN_SMTPS)))
			continue;
		if ((l->tls_ctx = config_tls_server(c, l, err,
		    sizeof(err))) == NULL)
			fatalx("smtp: %s", err);
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
	smtp_tls_init(env);
	conffiles_free(conffiles_serving());
	proc_drop_privileges(SMTPD_USER, SMTPD_EMPTY_DIR);
	sandbox(PROMISES_SMTP, nopaths);
	event_dispatch();
	fatalx("smtp: event loop ended");
}
