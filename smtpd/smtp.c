/*
 * The listener process.  It holds no file system access and no right
 * to open connections: it accepts on the sockets the parent bound and
 * handed over, speaks SMTP, and asks lookup and the queue for every
 * decision and every byte of storage.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"
#include "smtp.h"

struct event_base	*smtp_base;

struct smtp_listener {
	struct event	 ev;
	struct event	 pause;
	int		 fd;
};

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
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: stop accepting for a while. */
			log_warn("smtp-in accept");
			event_del(&l->ev);
			evtimer_add(&l->pause, &tv);
		}
		return;
	}
	smtp_session_accept(s, (struct sockaddr *)&ss, len);
}

static void
smtp_accept_resume(int fd, short event, void *arg)
{
	struct smtp_listener	*l = arg;

	event_add(&l->ev, NULL);
}

static void
smtp_listener_add(int fd)
{
	struct smtp_listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("calloc");
	l->fd = fd;
	set_nonblocking(fd);
	event_set(&l->ev, fd, EV_READ | EV_PERSIST, smtp_accept, l);
	evtimer_set(&l->pause, smtp_accept_resume, l);
	event_add(&l->ev, NULL);
}

static void
smtp_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_PARENT:
		switch (imsg->hdr.type) {
		case IMSG_PARENT_LISTENER:
			(void)imsg_get_u32(imsg);
			proc_check(from, imsg);
			if (imsg->fd == -1)
				fatalx("smtp: listener without a socket");
			smtp_listener_add(imsg->fd);
			imsg->fd = -1;
			return;
		case IMSG_PARENT_LISTENERS_DONE:
			proc_check(from, imsg);
			log_info("smtp-in ready");
			return;
		}
		break;
	case PROC_LOOKUP:
		switch (imsg->hdr.type) {
		case IMSG_LOOKUP_SMTP_MAIL:
		case IMSG_LOOKUP_SMTP_RCPT:
			smtp_session_lookup_reply(imsg->hdr.peerid,
			    imsg->hdr.type, imsg);
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
	default:
		break;
	}
	proc_bad_imsg(PROC_SMTP, from, imsg);
}

void
smtp_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };

	smtp_base = event_init();
	proc_peers_from_exec(PROC_SMTP, smtp_dispatch);
	proc_signals();
	tzset();
	proc_drop_privileges(SMTPD_USER, SMTPD_EMPTY_DIR);
	sandbox(PROMISES_SMTP, nopaths);
	event_dispatch();
	fatalx("smtp: event loop ended");
}
