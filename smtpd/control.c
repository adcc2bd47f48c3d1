/*
 * The control process: serves smtpctl on the control socket the parent
 * created.  Only the owner of the daemon (root, or the user running an
 * unprivileged smtpd) is served.  Clients are local users and trusted
 * for nothing: each request is read with its reader in control_msg.c,
 * and a client that sends something malformed is dropped on its own;
 * the daemon carries on.  What goes on to another process is written
 * afresh by the request's writer, never copied.
 *
 * A request another process answers goes to it with the client's id as
 * its peerid, and the answer comes back by that id: lines, then an end,
 * an ok or a failure.  A client has one request at a time.  The message
 * file that show message answers with is passed on as a descriptor:
 * control never reads it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"

#define CONTROL_MAX_CLIENTS	32

struct control_client {
	TAILQ_ENTRY(control_client)	 entry;
	uint32_t			 id;
	struct imsgbuf			 ibuf;
	struct event			 ev;
	uid_t				 uid;
	int				 closing;
	uint32_t			 pending;	/* awaiting an answer */
	enum smtp_proc			 owed;		/* ... from whom */
	size_t				 lines;		/* of it so far */
};

/* The most lines the listener may answer one request with. */
#define CONTROL_SMTP_LINES	64

static TAILQ_HEAD(, control_client) clients = TAILQ_HEAD_INITIALIZER(clients);
static struct event	 control_ev;
static int		 control_fd = -1;
static uid_t		 control_owner;
static gid_t		 control_group = (gid_t)-1;
static size_t		 nclients;
static uint32_t		 next_client_id = 1;
static time_t		 control_started;

static void	control_client_event(int, short, void *);

static void
control_client_free(struct control_client *c)
{
	event_del(&c->ev);
	close(c->ibuf.fd);
	imsgbuf_clear(&c->ibuf);
	TAILQ_REMOVE(&clients, c, entry);
	free(c);
	nclients--;
}

static void
control_client_update(struct control_client *c)
{
	short	 events = EV_READ;

	if (imsgbuf_pending(&c->ibuf))
		events |= EV_WRITE;
	event_del(&c->ev);
	event_set(&c->ev, c->ibuf.fd, events, control_client_event, c);
	event_add(&c->ev, NULL);
}

static void
control_client_reply(struct control_client *c, uint32_t type, int fd,
    const char *text)
{
	if (imsg_close(&c->ibuf, msg_ctl_answer_write(type, 0, fd, text)) ==
	    -1)
		fatal("control: reply");
	control_client_update(c);
}

static time_t
control_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ts.tv_sec;
}

/* The client's request went to another process, which owes the answer. */
static void
control_owe(struct control_client *c, enum smtp_proc to, uint32_t type)
{
	c->pending = type;
	c->owed = to;
	c->lines = 0;
}

/* Hand a request that names nothing to the process that answers it. */
static void
control_forward(struct control_client *c, enum smtp_proc to, uint32_t type)
{
	proc_close(to, msg_ctl_request_write(type, c->id));
	control_owe(c, to, type);
}

/* Show, schedule or remove: the queue answers. */
static int
control_queue_target(struct control_client *c, struct imsg *imsg)
{
	struct msg_ctl_target	 t;

	if (msg_ctl_target_read(imsg, &t) == -1)
		return -1;
	proc_close(PROC_QUEUE, msg_ctl_target_write(imsg->hdr.type, c->id,
	    &t));
	control_owe(c, PROC_QUEUE, imsg->hdr.type);
	return 0;
}

/* The scheduler pauses delivery; the listener pauses accepting. */
static int
control_pause(struct control_client *c, struct imsg *imsg)
{
	enum smtp_proc	 to;
	uint32_t	 what;

	if (msg_ctl_pause_read(imsg, &what) == -1)
		return -1;
	to = what == CTL_PAUSE_SMTP ? PROC_SMTP : PROC_QUEUE;
	proc_close(to, msg_ctl_pause_write(imsg->hdr.type, c->id, what));
	control_owe(c, to, imsg->hdr.type);
	return 0;
}

/* Returns -1 when the client must be dropped. */
static int
control_client_command(struct control_client *c, struct imsg *imsg)
{
	char		 name[CTL_TABLE_MAX];
	uint32_t	 v;

	if (c->pending != IMSG_NONE)
		return -1;
	switch (imsg->hdr.type) {
	case IMSG_CTL_STOP:
		if (msg_ctl_request_read(imsg) == -1)
			return -1;
		control_client_reply(c, IMSG_CTL_OK, -1, "smtpd stopping");
		/* Answer before the parent takes us down with it. */
		(void)imsgbuf_flush(&c->ibuf);
		proc_close(PROC_PARENT, msg_ctl_request_write(IMSG_CTL_STOP,
		    0));
		return 0;
	case IMSG_CTL_RELOAD:
		/* The parent answers, in lines, then OK or FAIL. */
		if (msg_ctl_request_read(imsg) == -1)
			return -1;
		control_forward(c, PROC_PARENT, IMSG_CTL_RELOAD);
		return 0;
	case IMSG_CTL_UPDATE_TABLE:
		if (msg_ctl_table_read(imsg, name, sizeof(name)) == -1)
			return -1;
		/*
		 * The parent reads the file, lookup loads it and answers;
		 * the answer comes back by client id.
		 */
		proc_close(PROC_PARENT, msg_ctl_table_write(c->id, name));
		control_owe(c, PROC_LOOKUP, IMSG_CTL_UPDATE_TABLE);
		return 0;
	case IMSG_CTL_SHOW_QUEUE:
		if (msg_ctl_request_read(imsg) == -1)
			return -1;
		control_forward(c, PROC_QUEUE, IMSG_CTL_SHOW_QUEUE);
		return 0;
	case IMSG_CTL_SHOW_ENVELOPE:
	case IMSG_CTL_SHOW_MESSAGE:
	case IMSG_CTL_SCHEDULE:
	case IMSG_CTL_REMOVE:
		return control_queue_target(c, imsg);
	case IMSG_CTL_PAUSE:
	case IMSG_CTL_RESUME:
		return control_pause(c, imsg);
	case IMSG_CTL_SHOW_HOSTS:
		if (msg_ctl_request_read(imsg) == -1)
			return -1;
		control_forward(c, PROC_MTA, IMSG_CTL_SHOW_HOSTS);
		return 0;
	case IMSG_CTL_SHOW_STATS:
		/* smtp's counters, then the queue's, then ours. */
		if (msg_ctl_request_read(imsg) == -1)
			return -1;
		control_forward(c, PROC_SMTP, IMSG_CTL_SHOW_STATS);
		return 0;
	case IMSG_CTL_VERBOSE:
		if (msg_ctl_verbose_read(imsg, &v) == -1)
			return -1;
		proc_close(PROC_PARENT, msg_ctl_verbose_write(v));
		control_client_reply(c, IMSG_CTL_OK, -1, v ? "verbose logging" :
		    "brief logging");
		return 0;
	default:
		log_warnx("control: client uid=%u sent unknown request %u: "
		    "dropped", (unsigned)c->uid, imsg->hdr.type);
		return -1;
	}
}

static void
control_client_event(int fd, short event, void *arg)
{
	struct control_client	*c = arg;
	struct imsg		 imsg;
	ssize_t			 n;
	int			 r;

	if (event & EV_WRITE) {
		if (imsgbuf_flush(&c->ibuf) == -1) {
			control_client_free(c);
			return;
		}
	}
	if (event & EV_READ) {
		n = imsgbuf_read(&c->ibuf);
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			control_client_free(c);
			return;
		}
		while ((r = imsg_get(&c->ibuf, &imsg)) == 1) {
			if (imsg.fd != -1)
				close(imsg.fd);
			r = control_client_command(c, &imsg);
			imsg_free(&imsg);
			if (r == -1)
				break;
		}
		if (r == -1) {
			log_warnx("control: malformed request from uid=%u: "
			    "client dropped", (unsigned)c->uid);
			control_client_free(c);
			return;
		}
	}
	control_client_update(c);
}

/* Root, the daemon's owner, or a member of the configured group. */
static int
control_peer_allowed(int s, const struct ucred *cred)
{
	gid_t		 groups[256];
	socklen_t	 len = sizeof(groups);
	size_t		 i;

	if (cred->uid == 0 || cred->uid == control_owner)
		return 1;
	if (control_group == (gid_t)-1)
		return 0;
	if (cred->gid == control_group)
		return 1;
	if (getsockopt(s, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == control_group)
			return 1;
	return 0;
}

static void
control_accept(int fd, short event, void *arg)
{
	struct control_client	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    !control_peer_allowed(s, &cred)) {
		log_warnx("control: connection from uid=%u refused",
		    len == sizeof(cred) ? (unsigned)cred.uid : 0);
		close(s);
		return;
	}
	if (nclients >= CONTROL_MAX_CLIENTS) {
		close(s);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	imsgbuf_init(&c->ibuf, s);
	c->uid = cred.uid;
	c->id = next_client_id++;
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
	event_set(&c->ev, s, EV_READ, control_client_event, c);
	event_add(&c->ev, NULL);
}

/*
 * An answer from another process for the client with this id.  A
 * descriptor that comes with it goes on to the client; when the client
 * has left, the caller closes it.
 */
static void
control_relay_answer(enum smtp_proc from, struct imsg *imsg)
{
	struct control_client	*c;
	char			 text[CTL_LINE_MAX];

	if (msg_ctl_answer_read(imsg, text, sizeof(text)) == -1) {
		proc_refuse(from, imsg, "malformed");
		return;
	}
	/* The listener's words: no descriptor goes on to a client. */
	if (from == PROC_SMTP && proc_valid(from, imsg, 0) == -1)
		return;
	TAILQ_FOREACH(c, &clients, entry)
		if (c->id == imsg->hdr.peerid)
			break;
	if (c == NULL)
		return;		/* the client left before the answer */
	/*
	 * The listener speaks only when it owes this client an answer, and
	 * briefly: it cannot answer for another process or fill our memory.
	 */
	if (from == PROC_SMTP && (c->pending == IMSG_NONE ||
	    c->owed != PROC_SMTP || (imsg->hdr.type == IMSG_CTL_LINE &&
	    ++c->lines > CONTROL_SMTP_LINES))) {
		proc_refuse(from, imsg, "answer not owed");
		return;
	}
	if (c->pending == IMSG_CTL_SHOW_STATS &&
	    imsg->hdr.type == IMSG_CTL_END) {
		if (from == PROC_SMTP) {
			control_forward(c, PROC_QUEUE, IMSG_CTL_SHOW_STATS);
			return;
		}
		snprintf(text, sizeof(text), "uptime=%lld",
		    (long long)(control_now() - control_started));
		control_client_reply(c, IMSG_CTL_LINE, -1, text);
		text[0] = '\0';
	}
	if (imsg->hdr.type != IMSG_CTL_LINE)
		c->pending = IMSG_NONE;
	control_client_reply(c, imsg->hdr.type, imsg->fd, text);
	imsg->fd = -1;
}

static void
control_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_LOOKUP:
		switch (imsg->hdr.type) {
		case IMSG_CTL_OK:
		case IMSG_CTL_FAIL:
			control_relay_answer(from, imsg);
			return;
		}
		break;
	case PROC_QUEUE:
	case PROC_SMTP:
	case PROC_MTA:
		switch (imsg->hdr.type) {
		case IMSG_CTL_LINE:
		case IMSG_CTL_END:
		case IMSG_CTL_OK:
		case IMSG_CTL_FAIL:
			control_relay_answer(from, imsg);
			return;
		}
		break;
	case PROC_PARENT:
		switch (imsg->hdr.type) {
		case IMSG_CTL_LINE:
		case IMSG_CTL_OK:
		case IMSG_CTL_FAIL:
			control_relay_answer(from, imsg);
			return;
		case IMSG_PARENT_RELOAD:
			/* Nothing here depends on it but the generation. */
			config_retire(env);
			env = reload_receive(imsg, 0);
			reload_confirm(env);
			return;
		case IMSG_PARENT_CONTROL_SOCKET: {
			struct msg_ctl_socket	 s;

			if (msg_ctl_socket_read(imsg, &s) == -1 ||
			    control_fd != -1)
				fatalx("control: bad control socket");
			control_owner = s.owner;
			control_group = s.group;
			control_fd = imsg->fd;
			imsg->fd = -1;
			event_set(&control_ev, control_fd, EV_READ | EV_PERSIST,
			    control_accept, NULL);
			event_add(&control_ev, NULL);
			return;
		}
		}
		break;
	default:
		break;
	}
	proc_bad_imsg(PROC_CONTROL, from, imsg);
}

void
control_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };

	control_started = control_now();
	event_init();
	proc_peers_from_exec(PROC_CONTROL, control_dispatch);
	proc_signals();
	proc_drop_privileges(SMTPD_USER, SMTPD_EMPTY_DIR);
	/* Nothing of the parent's copy of the files is kept. */
	conffiles_free(conffiles_serving());
	sandbox(PROMISES_CONTROL, nopaths);
	event_dispatch();
	fatalx("control: event loop ended");
}
