/*
 * Process plumbing shared by every role: which processes talk to which,
 * the imsg channel to each peer on top of libevent, and dropping
 * privileges.  A peer that closes its channel, sends a malformed message
 * or a type the receiver does not take kills the receiver: the parent
 * sees that and stops everything (fail closed).  The listener is the
 * exception: it faces the network and is assumed compromised, so what
 * it sends is checked, and a message of it that breaks the protocol is
 * refused and logged, never obeyed and never fatal.  (A listener that
 * breaks the framing itself still stops the daemon, as its death would.)
 * So is control, which passes on what local users ask with smtpctl: a
 * request it should not have passed on costs that request alone.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg_types.h"
#include "control_msg.h"
#include "log.h"
#include "proc.h"
#include "util.h"

struct peer {
	struct imsgbuf		 ibuf;
	struct event		 ev;
	short			 events;
	int			 active;
	int			 blocked;	/* the socket took not all */
	proc_dispatch_fn	 dispatch;
};

/* Answers to the listener that may wait before it is read no more. */
#define PROC_SMTP_BACKLOG	1024

static struct peer	 peers[PROC_COUNT];
static enum smtp_proc	 proc_self = PROC_PARENT;

/*
 * What is composed during one turn of the event loop is written at the
 * end of that turn, by an event made active rather than by waiting for
 * the socket to be writable: a channel is almost always writable, and
 * arming EV_WRITE for each message cost two epoll_ctl and a wakeup.
 * Only what the socket did not take waits for EV_WRITE.
 */
static struct event	 proc_flush_ev;
static int		 proc_flush_set, proc_flush_armed;

static const char *const proc_names[PROC_COUNT] = {
	[PROC_PARENT] = "parent",
	[PROC_SMTP] = "smtp",
	[PROC_LOOKUP] = "lookup",
	[PROC_AUTH] = "auth",
	[PROC_QUEUE] = "queue",
	[PROC_MTA] = "mta",
	[PROC_CONTROL] = "control",
};

/* Who may talk to whom; the parent talks to everyone. */
static const unsigned char proc_links[PROC_COUNT][PROC_COUNT] = {
	[PROC_SMTP] = {
		[PROC_LOOKUP] = 1, [PROC_QUEUE] = 1, [PROC_CONTROL] = 1 },
	[PROC_LOOKUP] = {
		[PROC_SMTP] = 1, [PROC_AUTH] = 1, [PROC_QUEUE] = 1,
		[PROC_MTA] = 1, [PROC_CONTROL] = 1 },
	/* Auth hears only lookup: the listener cannot reach it. */
	[PROC_AUTH] = { [PROC_LOOKUP] = 1 },
	[PROC_QUEUE] = {
		[PROC_SMTP] = 1, [PROC_LOOKUP] = 1, [PROC_MTA] = 1,
		[PROC_CONTROL] = 1 },
	[PROC_MTA] = {
		[PROC_QUEUE] = 1, [PROC_LOOKUP] = 1, [PROC_CONTROL] = 1 },
	[PROC_CONTROL] = {
		[PROC_SMTP] = 1, [PROC_LOOKUP] = 1, [PROC_QUEUE] = 1,
		[PROC_MTA] = 1 },
};

const char *
proc_name(enum smtp_proc p)
{
	if (p >= PROC_COUNT)
		return "unknown";
	return proc_names[p];
}

int
proc_talks(enum smtp_proc a, enum smtp_proc b)
{
	if (a == b || a >= PROC_COUNT || b >= PROC_COUNT)
		return 0;
	if (a == PROC_PARENT || b == PROC_PARENT)
		return 1;
	return proc_links[a][b];
}

static void	proc_peer_event(int, short, void *);
static void	proc_flush(int, short, void *);
static void	proc_peer_write(enum smtp_proc);

static void
proc_peer_update(enum smtp_proc p)
{
	struct peer	*peer = &peers[p];
	short		 events = EV_READ;

	if (peer->blocked)
		events |= EV_WRITE;
	/*
	 * A listener that does not read our answers gets no more of its
	 * questions read until it does: it cannot grow our memory.
	 */
	if (p == PROC_SMTP && proc_self != PROC_PARENT &&
	    peer->ibuf.wqlen > PROC_SMTP_BACKLOG)
		events &= ~EV_READ;
	if (peer->events == events)
		return;
	if (peer->events)
		event_del(&peer->ev);
	peer->events = events;
	event_set(&peer->ev, peer->ibuf.fd, events | EV_PERSIST,
	    proc_peer_event, (void *)(intptr_t)p);
	event_add(&peer->ev, NULL);
}

/* Every process follows the parent's log level. */
static void
proc_verbose(struct imsg *imsg)
{
	uint32_t	 v;

	if (msg_ctl_verbose_read(imsg, &v) == -1)
		fatalx("%s: malformed imsg %u from parent",
		    proc_name(proc_self), imsg->hdr.type);
	log_setverbose(v);
	log_info("%s: verbose logging %s", proc_name(proc_self),
	    v ? "on" : "off");
}

static void
proc_peer_event(int fd, short event, void *arg)
{
	enum smtp_proc	 p = (enum smtp_proc)(intptr_t)arg;
	struct peer	*peer = &peers[p];
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	if (event & EV_READ) {
		n = imsgbuf_read(&peer->ibuf);
		if (n == -1 && errno != EAGAIN)
			fatal("%s: read from %s", proc_name(proc_self),
			    proc_name(p));
		if (n == 0) {
			/*
			 * The parent learns of a death from waitpid and logs
			 * it; a child that loses a peer only follows it.
			 */
			log_debug("%s: lost %s", proc_name(proc_self),
			    proc_name(p));
			if (proc_self != PROC_PARENT)
				exit(1);
			/* The child is dying: SIGCHLD stops everything. */
			event_del(&peer->ev);
			peer->active = 0;
			peer->events = 0;
			return;
		}
		for (;;) {
			r = imsg_get(&peer->ibuf, &imsg);
			if (r == -1)
				fatal("%s: bad imsg from %s",
				    proc_name(proc_self), proc_name(p));
			if (r == 0)
				break;
			if (p == PROC_PARENT &&
			    imsg.hdr.type == IMSG_CTL_VERBOSE)
				proc_verbose(&imsg);
			else
				peer->dispatch(p, &imsg);
			if (imsg.fd != -1)
				close(imsg.fd);
			imsg_free(&imsg);
		}
	}
	if (event & EV_WRITE)
		proc_peer_write(p);
	proc_peer_update(p);
}

void
proc_peer_setup(enum smtp_proc p, int fd, proc_dispatch_fn dispatch)
{
	struct peer	*peer = &peers[p];

	if (!proc_flush_set) {
		event_set(&proc_flush_ev, -1, 0, proc_flush, NULL);
		proc_flush_set = 1;
	}
	set_nonblocking(fd);
	imsgbuf_init(&peer->ibuf, fd);
	peer->dispatch = dispatch;
	peer->active = 1;
	peer->events = 0;
	peer->blocked = 0;
	proc_peer_update(p);
}

/*
 * A freshly exec'd child finds its socket to each peer at a fixed
 * descriptor; main() has closed everything else it inherited.
 */
void
proc_peers_from_exec(enum smtp_proc self, proc_dispatch_fn dispatch)
{
	enum smtp_proc	 p;
	int		 fd;

	proc_self = self;
	for (p = 0; p < PROC_COUNT; p++) {
		if (!proc_talks(self, p))
			continue;
		fd = PROC_FD_BASE + p;
		if (fcntl(fd, F_GETFD) == -1)
			fatalx("%s: no channel to %s", proc_name(self),
			    proc_name(p));
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
			fatal("fcntl");
		proc_peer_setup(p, fd, dispatch);
	}
}

static struct peer *
proc_peer(enum smtp_proc p)
{
	if (p >= PROC_COUNT || !peers[p].active)
		fatalx("%s: no channel to %s", proc_name(proc_self),
		    proc_name(p));
	return &peers[p];
}

struct ibuf *
proc_create(uint32_t type, uint32_t peerid, int fd)
{
	return imsg_create(type, peerid, fd);
}

void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	struct peer	*peer = proc_peer(p);

	if (imsg_close(&peer->ibuf, b) == -1)
		fatal("%s: imsg to %s", proc_name(proc_self), proc_name(p));
	if (!proc_flush_armed) {
		proc_flush_armed = 1;
		event_active(&proc_flush_ev, EV_WRITE, 1);
	}
}

static void
proc_peer_write(enum smtp_proc p)
{
	struct peer	*peer = &peers[p];

	if (imsgbuf_flush(&peer->ibuf) == -1)
		fatal("%s: write to %s", proc_name(proc_self), proc_name(p));
	peer->blocked = imsgbuf_pending(&peer->ibuf);
}

/* The end of a turn: write what each channel takes now. */
static void
proc_flush(int fd, short event, void *arg)
{
	enum smtp_proc	 p;

	proc_flush_armed = 0;
	for (p = 0; p < PROC_COUNT; p++) {
		if (!peers[p].active || !imsgbuf_pending(&peers[p].ibuf))
			continue;
		/* Waiting for EV_WRITE already: the socket was full. */
		if (peers[p].blocked)
			continue;
		proc_peer_write(p);
		proc_peer_update(p);
	}
}

void
proc_compose(enum smtp_proc p, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct ibuf	*b;

	b = imsg_create(type, peerid, fd);
	if (len > 0)
		imsg_add_data(b, data, len);
	proc_close(p, b);
}

/* Whether a peer's bad message is refused rather than fatal. */
static int
proc_untrusted(enum smtp_proc from)
{
	return from == PROC_SMTP || from == PROC_CONTROL;
}

void
proc_bad_imsg(enum smtp_proc self, enum smtp_proc from, struct imsg *imsg)
{
	if (proc_untrusted(from)) {
		proc_refuse(from, imsg, "unexpected type");
		return;
	}
	fatalx("%s: unexpected imsg %u from %s", proc_name(self),
	    imsg->hdr.type, proc_name(from));
}

/* A payload that was not read exactly is a protocol error from a peer. */
void
proc_check(enum smtp_proc from, struct imsg *imsg)
{
	if (from == PROC_SMTP)
		fatalx("%s: proc_check on a message of smtp",
		    proc_name(proc_self));
	if (imsg_end(imsg) == -1)
		fatalx("%s: malformed imsg %u from %s", proc_name(proc_self),
		    imsg->hdr.type, proc_name(from));
}

/*
 * Log a message of the listener or of control that is not obeyed.
 * From any other peer a bad message is a bug of ours, and fatal.
 */
int
proc_refuse(enum smtp_proc from, struct imsg *imsg, const char *why)
{
	if (!proc_untrusted(from))
		fatalx("%s: bad imsg %u from %s: %s", proc_name(proc_self),
		    imsg->hdr.type, proc_name(from), why);
	if (from == PROC_CONTROL)
		log_warnx("%s: result=refused imsg=%u from=control "
		    "client=%u reason=\"%s\"", proc_name(proc_self),
		    imsg->hdr.type, imsg->hdr.peerid, why);
	else
		log_warnx("%s: result=refused imsg=%u from=smtp "
		    "session=%08x reason=\"%s\"", proc_name(proc_self),
		    imsg->hdr.type, imsg->hdr.peerid, why);
	return -1;
}

/*
 * Whether a message of the listener or control was read exactly and
 * came with a descriptor only where one belongs: 0, or -1 once refused.
 */
int
proc_valid(enum smtp_proc from, struct imsg *imsg, int wants_fd)
{
	if (imsg_end(imsg) == -1)
		return proc_refuse(from, imsg, "malformed");
	if (wants_fd && imsg->fd == -1)
		return proc_refuse(from, imsg, "descriptor missing");
	if (!wants_fd && imsg->fd != -1)
		return proc_refuse(from, imsg, "unexpected descriptor");
	return 0;
}

/*
 * As root: chroot (when asked) and become the role's user.  As anyone
 * else there is nothing to drop; the sandbox does the confining.
 */
void
proc_drop_privileges(const char *user, const char *root)
{
	struct passwd	*pw;

	if (!smtpd_privileged)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	if (root != NULL) {
		if (chroot(root) == -1)
			fatal("chroot %s", root);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", user);
}

/*
 * A child leaves SIGINT to the parent (a ^C in the foreground reaches
 * the whole process group) and dies on SIGTERM, which only the parent
 * should send.
 */
void
proc_signals(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
}
