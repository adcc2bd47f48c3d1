/*
 * The peer channels of proc.c, run for real: a child plays the queue,
 * finding its channels where a freshly exec'd child does and setting
 * them up with proc_peers_from_exec() on libevent, with a dispatch
 * written the way the roles write theirs; the test speaks raw imsg as
 * smtp, or as control, on the other end.  What a peer may not do (send
 * a type the receiver does not take, a malformed payload or a broken
 * header, or hang up) must end the receiver with exit status 1 and a
 * line saying why, never be ignored; but smtp and control are not
 * trusted, and a bad message of theirs is refused and logged alone.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atf-c.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/smtpd.h"

/* proc.o wants these from smtpd.c. */
struct smtpd_config	*env;
int			 smtpd_privileged;

/* How a child ends besides fatal()'s 1. */
#define SETUP_FAILED	3
#define LOOP_ENDED	4	/* event_dispatch() ran out of events */

#define UNKNOWN_TYPE	9999

struct child {
	pid_t		 pid;
	int		 errfd;		/* the child's stderr */
	int		 status;
	struct imsgbuf	 ibuf;		/* our end, speaking as smtp */
	char		 err[4096];
	size_t		 errlen;
};

/*
 * The queue's side: a commit is answered, a rollback is only logged,
 * anything else is refused.  Both come from smtp, whose messages are
 * checked with proc_valid().  Control's show stats is answered with an
 * end, read as the queue reads it.
 */
static void
queue_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CTL_SHOW_STATS:
		if (msg_ctl_request_read(imsg) == -1) {
			proc_refuse(from, imsg, "malformed");
			break;
		}
		proc_close(from, msg_ctl_answer_write(IMSG_CTL_END,
		    imsg->hdr.peerid, -1, ""));
		break;
	case IMSG_SMTP_QUEUE_COMMIT:
		if (proc_valid(from, imsg, 0) == -1)
			break;
		proc_compose(PROC_SMTP, IMSG_QUEUE_SMTP_COMMIT,
		    imsg->hdr.peerid, -1, NULL, 0);
		break;
	case IMSG_SMTP_QUEUE_ROLLBACK:
		if (proc_valid(from, imsg, 0) == -1)
			break;
		log_info("rolled back %u", imsg->hdr.peerid);
		break;
	default:
		proc_bad_imsg(PROC_QUEUE, from, imsg);
	}
}

/*
 * Lay out the descriptors as the parent does before exec: the test's
 * socket at PROC_FD_BASE + peer, and one idle socket shared by the
 * queue's other peers, whose far end stays open in auth's slot (the
 * queue does not talk to auth) so that none of them hangs up.
 */
static void
child_channels(int sock, enum smtp_proc peer)
{
	enum smtp_proc	 p;
	int		 q[2], idle, far, src;

	if (proc_talks(PROC_QUEUE, PROC_AUTH) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, q) == -1)
		_exit(SETUP_FAILED);
	/* First out of the way of the fixed slots. */
	if ((sock = fcntl(sock, F_DUPFD, 32)) == -1 ||
	    (idle = fcntl(q[0], F_DUPFD, 32)) == -1 ||
	    (far = fcntl(q[1], F_DUPFD, 32)) == -1)
		_exit(SETUP_FAILED);
	for (p = 0; p < PROC_COUNT; p++) {
		if (p == peer)
			src = sock;
		else if (p == PROC_AUTH)
			src = far;
		else if (proc_talks(PROC_QUEUE, p))
			src = idle;
		else
			continue;
		if (dup2(src, PROC_FD_BASE + p) == -1)
			_exit(SETUP_FAILED);
	}
}

static void
spawn_as(struct child *c, enum smtp_proc peer)
{
	int	 sv[2], ep[2];

	memset(c, 0, sizeof(*c));
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	ATF_REQUIRE(pipe2(ep, O_CLOEXEC) == 0);
	c->pid = fork();
	ATF_REQUIRE(c->pid != -1);
	if (c->pid == 0) {
		close(sv[0]);
		close(ep[0]);
		if (dup2(ep[1], STDERR_FILENO) == -1)
			_exit(SETUP_FAILED);
		child_channels(sv[1], peer);
		log_procinit("queue");
		/* A lost peer is logged only at debug level. */
		log_setverbose(1);
		event_init();
		proc_peers_from_exec(PROC_QUEUE, queue_dispatch);
		event_dispatch();
		_exit(LOOP_ENDED);
	}
	close(sv[1]);
	close(ep[1]);
	c->errfd = ep[0];
	c->status = -1;
	imsgbuf_init(&c->ibuf, sv[0]);
}

/* The test speaks as smtp, the peer most tests are about. */
static void
spawn(struct child *c)
{
	spawn_as(c, PROC_SMTP);
}

/* Read the child's stderr until want shows up; 0 if it ends first. */
static int
read_err_until(struct child *c, const char *want)
{
	ssize_t	 n;

	for (;;) {
		c->err[c->errlen] = '\0';
		if (want != NULL && strstr(c->err, want) != NULL)
			return 1;
		if (c->errlen == sizeof(c->err) - 1)
			return 0;
		n = read(c->errfd, c->err + c->errlen,
		    sizeof(c->err) - 1 - c->errlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		c->errlen += n;
	}
}

/* Hang up on the child, read what it said and wait for it to end. */
static void
reap(struct child *c)
{
	if (c->pid == -1)
		return;
	close(c->ibuf.fd);
	imsgbuf_clear(&c->ibuf);
	read_err_until(c, NULL);
	close(c->errfd);
	ATF_REQUIRE(waitpid(c->pid, &c->status, 0) == c->pid);
	c->pid = -1;
}

/* "exited 1", "killed by signal 9": for failure messages. */
static const char *
how_it_ended(struct child *c)
{
	static char	 buf[64];

	if (WIFEXITED(c->status))
		snprintf(buf, sizeof(buf), "exited %d",
		    WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		snprintf(buf, sizeof(buf), "killed by signal %d",
		    WTERMSIG(c->status));
	else
		snprintf(buf, sizeof(buf), "status %#x", c->status);
	return buf;
}

static void
send_msg(struct child *c, uint32_t type, uint32_t peerid, const void *data,
    size_t len)
{
	ATF_REQUIRE(imsg_compose(&c->ibuf, type, peerid, -1, data, len) == 0);
	ATF_REQUIRE(imsgbuf_flush(&c->ibuf) == 0);
	ATF_REQUIRE(!imsgbuf_pending(&c->ibuf));
}

/* The next message from the child; 0 if the channel ends first. */
static int
recv_msg(struct child *c, struct imsg *imsg)
{
	ssize_t	 n;
	int	 r;

	for (;;) {
		r = imsg_get(&c->ibuf, imsg);
		ATF_REQUIRE_MSG(r != -1, "bad imsg from the child: %s",
		    strerror(errno));
		if (r == 1)
			return 1;
		n = imsgbuf_read(&c->ibuf);
		if (n <= 0)
			return 0;
	}
}

/* The child answers a commit for peerid, and nothing else. */
static void
expect_reply(struct child *c, uint32_t peerid)
{
	struct imsg	 imsg;

	if (!recv_msg(c, &imsg)) {
		reap(c);
		atf_tc_fail("no reply: the child %s saying \"%s\"",
		    how_it_ended(c), c->err);
	}
	ATF_CHECK_EQ(imsg.hdr.type, IMSG_QUEUE_SMTP_COMMIT);
	ATF_CHECK_EQ(imsg.hdr.peerid, peerid);
	ATF_CHECK_EQ(imsg.hdr.pid, (uint32_t)c->pid);
	ATF_CHECK_EQ(imsg.len, 0);
	ATF_CHECK_EQ(imsg.fd, -1);
	imsg_free(&imsg);
}

/* The child answers control's show stats for client with an end. */
static void
expect_end(struct child *c, uint32_t client)
{
	struct imsg	 imsg;
	char		 text[CTL_LINE_MAX];

	if (!recv_msg(c, &imsg)) {
		reap(c);
		atf_tc_fail("no end: the child %s saying \"%s\"",
		    how_it_ended(c), c->err);
	}
	ATF_CHECK_EQ(imsg.hdr.type, IMSG_CTL_END);
	ATF_CHECK_EQ(imsg.hdr.peerid, client);
	ATF_CHECK_EQ(msg_ctl_answer_read(&imsg, text, sizeof(text)), 0);
	ATF_CHECK_STREQ(text, "");
	imsg_free(&imsg);
}

/*
 * The child sends nothing more and hangs up.  Our end stops writing
 * first: a child that ignored what it was sent then dies of the lost
 * peer instead of waiting forever, and says so.
 */
static void
expect_no_reply(struct child *c)
{
	struct imsg	 imsg;

	ATF_REQUIRE(shutdown(c->ibuf.fd, SHUT_WR) == 0);
	if (recv_msg(c, &imsg))
		atf_tc_fail("the child answered with imsg %u", imsg.hdr.type);
}

/* The child exited 1, and its last words say why. */
static void
expect_death(struct child *c, const char *why)
{
	reap(c);
	ATF_REQUIRE_MSG(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 1,
	    "the child %s, not exit 1; it said \"%s\"", how_it_ended(c),
	    c->err);
	ATF_REQUIRE_MSG(strstr(c->err, why) != NULL,
	    "the child said \"%s\", not \"%s\"", c->err, why);
}

static void
write_header(int fd, uint32_t type, uint32_t len)
{
	struct imsg_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.pid = getpid();
	ATF_REQUIRE(write(fd, &hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
}

/* A child that hangs instead of dying fails the case in 30 seconds. */
#define PROC_TC(name)							\
	ATF_TC(name);							\
	ATF_TC_HEAD(name, tc)						\
	{								\
		atf_tc_set_md_var(tc, "timeout", "30");			\
	}

PROC_TC(a_known_type_is_answered);
ATF_TC_BODY(a_known_type_is_answered, tc)
{
	struct child	 c;

	spawn(&c);
	send_msg(&c, IMSG_SMTP_QUEUE_COMMIT, 1, NULL, 0);
	expect_reply(&c, 1);
	send_msg(&c, IMSG_SMTP_QUEUE_COMMIT, 2, NULL, 0);
	expect_reply(&c, 2);
	/* Alive until we hang up, and only then. */
	expect_death(&c, "queue: lost smtp");
}

PROC_TC(the_receiver_keeps_listening_after_a_message_it_does_not_answer);
ATF_TC_BODY(the_receiver_keeps_listening_after_a_message_it_does_not_answer,
    tc)
{
	struct child	 c;

	spawn(&c);
	send_msg(&c, IMSG_SMTP_QUEUE_ROLLBACK, 7, NULL, 0);
	if (!read_err_until(&c, "rolled back 7\n")) {
		reap(&c);
		atf_tc_fail("the rollback was not handled: the child %s "
		    "saying \"%s\"", how_it_ended(&c), c.err);
	}
	/* Sent only once the rollback was handled, so read separately. */
	send_msg(&c, IMSG_SMTP_QUEUE_COMMIT, 8, NULL, 0);
	expect_reply(&c, 8);
	expect_death(&c, "queue: lost smtp");
}

/*
 * The listener is assumed compromised: a bad message of it is refused
 * and logged, and the receiver goes on serving.
 */
static void
expect_refusal(struct child *c, uint32_t type, const char *reason)
{
	char	 line[256];

	snprintf(line, sizeof(line), "queue: result=refused imsg=%u "
	    "from=smtp session=00000001 reason=\"%s\"\n", type, reason);
	if (!read_err_until(c, line)) {
		reap(c);
		atf_tc_fail("no refusal \"%s\": the child %s saying \"%s\"",
		    line, how_it_ended(c), c->err);
	}
	send_msg(c, IMSG_SMTP_QUEUE_COMMIT, 2, NULL, 0);
	expect_reply(c, 2);
	expect_death(c, "queue: lost smtp");
}

PROC_TC(an_unknown_type_from_smtp_is_refused);
ATF_TC_BODY(an_unknown_type_from_smtp_is_refused, tc)
{
	struct child	 c;

	spawn(&c);
	send_msg(&c, UNKNOWN_TYPE, 1, NULL, 0);
	expect_refusal(&c, UNKNOWN_TYPE, "unexpected type");
}

PROC_TC(a_malformed_payload_from_smtp_is_refused);
ATF_TC_BODY(a_malformed_payload_from_smtp_is_refused, tc)
{
	struct child	 c;

	spawn(&c);
	send_msg(&c, IMSG_SMTP_QUEUE_COMMIT, 1, "\1\2\3\4", 4);
	expect_refusal(&c, IMSG_SMTP_QUEUE_COMMIT, "malformed");
}

/*
 * Control passes on what local users send with smtpctl: a bad message
 * of it is refused and logged too, and the receiver goes on serving
 * control.
 */
static void
expect_control_refusal(struct child *c, uint32_t type, const char *reason)
{
	char	 line[256];

	snprintf(line, sizeof(line), "queue: result=refused imsg=%u "
	    "from=control client=1 reason=\"%s\"\n", type, reason);
	if (!read_err_until(c, line)) {
		reap(c);
		atf_tc_fail("no refusal \"%s\": the child %s saying \"%s\"",
		    line, how_it_ended(c), c->err);
	}
	send_msg(c, IMSG_CTL_SHOW_STATS, 2, NULL, 0);
	expect_end(c, 2);
	expect_death(c, "queue: lost control");
}

PROC_TC(an_unknown_type_from_control_is_refused);
ATF_TC_BODY(an_unknown_type_from_control_is_refused, tc)
{
	struct child	 c;

	spawn_as(&c, PROC_CONTROL);
	send_msg(&c, UNKNOWN_TYPE, 1, NULL, 0);
	expect_control_refusal(&c, UNKNOWN_TYPE, "unexpected type");
}

PROC_TC(a_malformed_request_from_control_is_refused);
ATF_TC_BODY(a_malformed_request_from_control_is_refused, tc)
{
	struct child	 c;

	spawn_as(&c, PROC_CONTROL);
	send_msg(&c, IMSG_CTL_SHOW_STATS, 1, "\1\2\3\4", 4);
	expect_control_refusal(&c, IMSG_CTL_SHOW_STATS, "malformed");
}

PROC_TC(an_oversized_header_kills_the_receiver);
ATF_TC_BODY(an_oversized_header_kills_the_receiver, tc)
{
	struct child	 c;

	spawn(&c);
	write_header(c.ibuf.fd, IMSG_SMTP_QUEUE_COMMIT, IMSG_MAXPAYLOAD + 1);
	expect_no_reply(&c);
	expect_death(&c, "fatal in queue: queue: bad imsg from smtp");
}

PROC_TC(a_closed_peer_kills_the_receiver);
ATF_TC_BODY(a_closed_peer_kills_the_receiver, tc)
{
	struct child	 c;

	spawn(&c);
	expect_death(&c, "queue: lost smtp");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, a_known_type_is_answered);
	ATF_TP_ADD_TC(tp,
	    the_receiver_keeps_listening_after_a_message_it_does_not_answer);
	ATF_TP_ADD_TC(tp, an_unknown_type_from_smtp_is_refused);
	ATF_TP_ADD_TC(tp, a_malformed_payload_from_smtp_is_refused);
	ATF_TP_ADD_TC(tp, an_unknown_type_from_control_is_refused);
	ATF_TP_ADD_TC(tp, a_malformed_request_from_control_is_refused);
	ATF_TP_ADD_TC(tp, an_oversized_header_kills_the_receiver);
	ATF_TP_ADD_TC(tp, a_closed_peer_kills_the_receiver);
	return atf_no_error();
}
