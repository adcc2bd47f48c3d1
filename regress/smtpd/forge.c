/*
 * A listener taken over by an attacker, for the tests of what the other
 * processes trust; and, for two scenarios, an mta or a lookup process
 * taken over, for what the queue and the parent trust of them.  smtpd-forge is smtpd linked with this file and the
 * linker's --wrap for the calls below: every role runs as in smtpd, but
 * the smtp role, when SMTPD_FORGE names a scenario, also sends what a
 * compromised listener would (forged envelopes, facts and descriptors)
 * around what the real listener sends, and keeps descriptors it should
 * let go.  Each forgery is logged as "forge: ..." so a test can wait for
 * it; what the other processes make of it is in their own log lines.
 *
 * Scenarios:
 *	routing		at DATA, send the queue an envelope of our own that
 *			runs a command, and a create for it, as lookup would
 *	login		at MAIL, tell lookup the session logged in, as auth
 *			would, ask lookup to check a password on a
 *			listener without AUTH, and try to ask auth itself
 *			with an address of our own; at RCPT, ask with the
 *			facts the listener used to vouch for
 *	connect-pipe	at connect, hand lookup a pipe instead of the socket
 *	connect-local	at connect, hand lookup a socket of a pair of our
 *			own, as if root had connected to the submission
 *			socket
 *	connect-reuse	at the second connect, hand lookup the first
 *			session's socket
 *	commit-fd	at commit, first send a commit with a descriptor
 *	commit-other	at commit, first commit a message that is not ours,
 *			and after the answer roll back the committed one
 *	keep-pipe	keep the pipe of each message; at the next message,
 *			write into the kept one
 *	no-rollback	never roll a message back: a session that goes in
 *			the middle of DATA leaves it to the queue
 *	control-lines	answer smtpctl's show stats with 100 lines more
 *	mta-result	the mta, before its first real result, sends the
 *			queue a result for an envelope it was never handed,
 *			one with an unknown status for the real envelope,
 *			and one cut short
 *	forward-question
 *			lookup, before its first real question about a
 *			~/.forward, asks the parent with a name longer than
 *			any user's, one with a line break, an empty one,
 *			and one with bytes after the name
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/smtpd.h"

void	__real_proc_close(enum smtp_proc, struct ibuf *);
void	__wrap_proc_close(enum smtp_proc, struct ibuf *);
void	__wrap_proc_compose(enum smtp_proc, uint32_t, uint32_t, int,
	    const void *, size_t);
void	__real_smtp_session_queue_reply(uint32_t, uint32_t, struct imsg *);
void	__wrap_smtp_session_queue_reply(uint32_t, uint32_t, struct imsg *);

static int	 kept_pipe = -1;
static int	 kept_socket = -1;
static uint32_t	 last_msgid;

static int
scenario(const char *name)
{
	const char	*s = getenv("SMTPD_FORGE");

	return s != NULL && strcmp(s, name) == 0;
}

static uint32_t
header_type(struct ibuf *b)
{
	struct imsg_hdr	 hdr;

	memcpy(&hdr, b->buf, sizeof(hdr));
	return hdr.type;
}

static uint32_t
header_peerid(struct ibuf *b)
{
	struct imsg_hdr	 hdr;

	memcpy(&hdr, b->buf, sizeof(hdr));
	return hdr.peerid;
}

/* An envelope that would run a command as nobody, were it obeyed. */
static void
forge_routing(uint32_t session)
{
	struct envelope	 e;
	struct ibuf	*b;
	char		 text[8192];
	const char	*cmd = getenv("SMTPD_FORGE_COMMAND");

	memset(&e, 0, sizeof(e));
	e.id = 1;
	strlcpy(e.sender, "attacker@example.org", sizeof(e.sender));
	strlcpy(e.rcpt, "nobody@localhost", sizeof(e.rcpt));
	strlcpy(e.action, "local", sizeof(e.action));
	strlcpy(e.user, "nobody", sizeof(e.user));
	snprintf(e.target, sizeof(e.target), "|%s", cmd ? cmd : "true");
	if (envelope_dump(&e, text, sizeof(text)) == -1)
		fatalx("forge: envelope_dump");
	b = imsg_create(IMSG_LOOKUP_QUEUE_ENVELOPE, session, -1);
	imsg_add_string(b, text);
	__real_proc_close(PROC_QUEUE, b);
	b = imsg_create(IMSG_LOOKUP_QUEUE_CREATE, session, -1);
	imsg_add_u32(b, 1);
	__real_proc_close(PROC_QUEUE, b);
	log_info("forge: sent an envelope of our own to the queue");
}

static void
forge_login(uint32_t session)
{
	struct ibuf	*b;

	b = imsg_create(IMSG_AUTH_LOOKUP_RESULT, session, -1);
	imsg_add_u32(b, AUTH_OK);
	imsg_add_string(b, "");
	imsg_add_string(b, "alice");
	__real_proc_close(PROC_LOOKUP, b);
	log_info("forge: told lookup the session logged in");
}

/*
 * An AUTH where the listener offers none, and a check sent to auth
 * directly, with an address whose failures we would like to spend.
 */
static void
forge_auth(uint32_t session)
{
	struct ibuf	*b;

	b = imsg_create(IMSG_SMTP_LOOKUP_AUTH, session, -1);
	imsg_add_string(b, "alice");
	imsg_add_string(b, "password");
	__real_proc_close(PROC_LOOKUP, b);
	log_info("forge: asked lookup to check a password");
	if (!proc_talks(PROC_SMTP, PROC_AUTH)) {
		log_info("forge: no channel to auth");
		return;
	}
	b = imsg_create(IMSG_LOOKUP_AUTH_CHECK, session, -1);
	imsg_add_string(b, "creds");
	imsg_add_string(b, "203.0.113.9");
	imsg_add_string(b, "alice");
	imsg_add_string(b, "password");
	__real_proc_close(PROC_AUTH, b);
	log_info("forge: asked auth with an address of our own");
}

/* A RCPT as the listener used to ask it, vouching for the client. */
static void
forge_rcpt_facts(uint32_t session)
{
	struct sockaddr_storage	 ss;
	struct ibuf		*b;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	b = imsg_create(IMSG_SMTP_LOOKUP_RCPT, session, -1);
	imsg_add_string(b, "someone@elsewhere.example");
	imsg_add_string(b, "");
	imsg_add_string(b, "");
	imsg_add_u32(b, sizeof(ss));
	imsg_add_data(b, &ss, sizeof(ss));
	imsg_add_u8(b, 1);
	imsg_add_string(b, "alice");
	__real_proc_close(PROC_LOOKUP, b);
	log_info("forge: asked for a recipient with facts of our own");
}

static void
forge_commit_fd(struct ibuf *real)
{
	struct ibuf	*b;
	int		 p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("forge: pipe2");
	close(p[0]);
	b = imsg_create(IMSG_SMTP_QUEUE_COMMIT, header_peerid(real), p[1]);
	imsg_add_data(b, real->buf + IMSG_HDRSIZE, real->len - IMSG_HDRSIZE);
	__real_proc_close(PROC_QUEUE, b);
	log_info("forge: sent a commit with a descriptor");
}

static void
forge_commit_other(struct ibuf *real)
{
	struct ibuf	*b;
	uint32_t	 msgid;

	memcpy(&msgid, real->buf + IMSG_HDRSIZE, sizeof(msgid));
	last_msgid = msgid;
	b = imsg_create(IMSG_SMTP_QUEUE_COMMIT, header_peerid(real), -1);
	imsg_add_u32(b, msgid ^ 0x5a5a5a5a);
	imsg_add_u64(b, 0);
	__real_proc_close(PROC_QUEUE, b);
	log_info("forge: committed a message that is not ours");
}

/* Whether this is the smtp process: it started in smtp_main(). */
static int	 listener;

static int
is_listener(void)
{
	return listener;
}

void	__real_smtp_main(void) __attribute__((__noreturn__));
void	__wrap_smtp_main(void) __attribute__((__noreturn__));

void
__wrap_smtp_main(void)
{
	listener = 1;
	__real_smtp_main();
}

/* More answer lines than a request of smtpctl gets from the listener. */
static void
forge_control_lines(uint32_t client)
{
	struct ibuf	*b;
	char		 line[64];
	int		 i;

	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "forged line %d", i);
		b = imsg_create(IMSG_CTL_LINE, client, -1);
		imsg_add_string(b, line);
		__real_proc_close(PROC_CONTROL, b);
	}
	log_info("forge: sent control 100 lines more");
}

static void
forge_results(struct ibuf *real)
{
	static int	 done;
	struct ibuf	*b;
	uint64_t	 evpid;

	if (done++)
		return;
	memcpy(&evpid, real->buf + IMSG_HDRSIZE, sizeof(evpid));
	b = imsg_create(IMSG_MTA_QUEUE_RESULT, 0, -1);
	imsg_add_u64(b, evpid ^ 0xffff);
	imsg_add_u32(b, DELIVERY_OK);
	imsg_add_string(b, "250 made up");
	imsg_add_string(b, "");
	__real_proc_close(PROC_QUEUE, b);
	b = imsg_create(IMSG_MTA_QUEUE_RESULT, 0, -1);
	imsg_add_u64(b, evpid);
	imsg_add_u32(b, 7);
	imsg_add_string(b, "599 no such status");
	imsg_add_string(b, "");
	__real_proc_close(PROC_QUEUE, b);
	b = imsg_create(IMSG_MTA_QUEUE_RESULT, 0, -1);
	imsg_add_u64(b, evpid);
	__real_proc_close(PROC_QUEUE, b);
	log_info("forge: sent the queue three results of our own");
}

static void
forge_questions(uint32_t id)
{
	static int	 done;
	struct ibuf	*b;
	char		 name[300];

	if (done++)
		return;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	b = imsg_create(IMSG_LOOKUP_PARENT_FORWARD, id, -1);
	imsg_add_string(b, name);
	__real_proc_close(PROC_PARENT, b);
	b = imsg_create(IMSG_LOOKUP_PARENT_FORWARD, id, -1);
	imsg_add_string(b, "root\nforge: injected");
	__real_proc_close(PROC_PARENT, b);
	b = imsg_create(IMSG_LOOKUP_PARENT_FORWARD, id, -1);
	imsg_add_string(b, "");
	__real_proc_close(PROC_PARENT, b);
	b = imsg_create(IMSG_LOOKUP_PARENT_FORWARD, id, -1);
	imsg_add_string(b, "root");
	imsg_add_u32(b, 0);
	__real_proc_close(PROC_PARENT, b);
	log_info("forge: asked the parent four questions of our own");
}

void
__wrap_proc_close(enum smtp_proc p, struct ibuf *b)
{
	int	 fd;

	switch (header_type(b)) {
	case IMSG_SMTP_LOOKUP_CONNECT:
		if (scenario("connect-pipe")) {
			int	 q[2];

			if (pipe2(q, O_CLOEXEC) == -1)
				fatal("forge: pipe2");
			close(q[1]);
			close(b->fd);
			b->fd = q[0];
			log_info("forge: handed lookup a pipe at connect");
		} else if (scenario("connect-local")) {
			int	 sv[2];

			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			    sv) == -1)
				fatal("forge: socketpair");
			close(b->fd);
			b->fd = sv[0];
			kept_socket = sv[1];
			log_info("forge: handed lookup a local socket of our "
			    "own at connect");
		} else if (scenario("connect-reuse")) {
			if (kept_socket == -1) {
				if ((kept_socket = dup(b->fd)) == -1)
					fatal("forge: dup");
			} else if ((fd = dup(kept_socket)) != -1) {
				close(b->fd);
				b->fd = fd;
				log_info("forge: handed lookup the socket of "
				    "another session");
			}
		}
		break;
	case IMSG_SMTP_LOOKUP_MAIL:
		if (scenario("login")) {
			forge_login(header_peerid(b));
			forge_auth(header_peerid(b));
		}
		break;
	case IMSG_SMTP_LOOKUP_RCPT:
		if (scenario("login"))
			forge_rcpt_facts(header_peerid(b));
		break;
	case IMSG_SMTP_LOOKUP_DATA:
		if (scenario("routing"))
			forge_routing(header_peerid(b));
		break;
	case IMSG_SMTP_QUEUE_COMMIT:
		if (scenario("commit-fd"))
			forge_commit_fd(b);
		else if (scenario("commit-other"))
			forge_commit_other(b);
		break;
	case IMSG_SMTP_QUEUE_ROLLBACK:
		if (scenario("no-rollback")) {
			log_info("forge: kept a message from being rolled back");
			free(b->buf);
			free(b);
			return;
		}
		break;
	case IMSG_MTA_QUEUE_RESULT:
		if (scenario("mta-result"))
			forge_results(b);
		break;
	case IMSG_LOOKUP_PARENT_FORWARD:
		if (scenario("forward-question"))
			forge_questions(header_peerid(b));
		break;
	case IMSG_CTL_END:
		/* Other processes answer control too; only ours lies. */
		if (scenario("control-lines") && p == PROC_CONTROL &&
		    is_listener())
			forge_control_lines(header_peerid(b));
		break;
	}
	__real_proc_close(p, b);
}

/* proc_compose's own call to proc_close is not wrapped: build it here. */
void
__wrap_proc_compose(enum smtp_proc p, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	struct ibuf	*b;

	b = imsg_create(type, peerid, fd);
	if (len > 0)
		imsg_add_data(b, data, len);
	__wrap_proc_close(p, b);
}

void
__wrap_smtp_session_queue_reply(uint32_t id, uint32_t type,
    struct imsg *imsg)
{
	struct ibuf	*b;
	ssize_t		 n;

	if (scenario("keep-pipe") && type == IMSG_QUEUE_SMTP_CREATE &&
	    imsg->fd != -1) {
		if (kept_pipe != -1) {
			n = write(kept_pipe, "X-Forged: yes\n", 14);
			log_info("forge: wrote into a kept pipe: %s",
			    n == -1 ? strerror(errno) : "written");
			close(kept_pipe);
		}
		if ((kept_pipe = dup(imsg->fd)) == -1)
			fatal("forge: dup");
	}
	if (scenario("commit-other") && type == IMSG_QUEUE_SMTP_COMMIT &&
	    last_msgid != 0) {
		b = imsg_create(IMSG_SMTP_QUEUE_ROLLBACK, id, -1);
		imsg_add_u32(b, last_msgid);
		__real_proc_close(PROC_QUEUE, b);
		log_info("forge: rolled back a committed message");
		last_msgid = 0;
	}
	__real_smtp_session_queue_reply(id, type, imsg);
}
