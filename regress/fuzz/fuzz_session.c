/*
 * libFuzzer target: the listener's SMTP session, fed a whole dialogue.
 * smtp_session.c, smtp_data.c and smtp_auth.c run as they do in the
 * smtp process; this file plays everything around them: the socket
 * (an io that takes the client's bytes from the input and drops the
 * replies), and the other processes, which answer every question as a
 * healthy daemon would.  The first byte chooses how lookup and auth
 * answer; the second how the rest is cut into the pieces the client
 * sends.  Nothing a client sends may reach fatal(), leak a session,
 * or leave a message half sent.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/smtpd.h"
#include "smtpd/smtp.h"
#include "smtpd/io.h"

struct smtpd_config	*env;

/* The harness's configuration is never retired: never freed. */
void
config_free(struct smtpd_config *c)
{
	abort();
}
int			 smtpd_privileged;

/* Logging is silent; reaching fatal() from a client's input is a bug. */

/* The io: input from the fuzzer, output dropped. */
struct io {
	int		 fd;
	struct evbuffer	*in;
	size_t		 out;
	io_cb		 cb;
	void		*arg;
	int		 freed;
};

static struct io	*the_io;

struct io *
io_new(int fd, io_cb cb, void *arg)
{
	struct io	*io;

	if ((io = calloc(1, sizeof(*io))) == NULL ||
	    (io->in = evbuffer_new()) == NULL)
		abort();
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	the_io = io;
	return io;
}

void
io_free(struct io *io)
{
	if (io == the_io)
		the_io = NULL;
	close(io->fd);
	evbuffer_free(io->in);
	free(io);
}

void	io_set_timeout(struct io *io, int s) { }
void	io_set_read(struct io *io, int on) { }
struct evbuffer *io_input(struct io *io) { return io->in; }
size_t	io_output_len(struct io *io) { return io->out; }
int	io_is_tls(struct io *io) { return 0; }
struct tls *io_tls(struct io *io) { return NULL; }
const char *io_error(struct io *io) { return "fuzzing"; }
struct tls *smtp_tls_context(struct listener *l) { return NULL; }

int
io_write(struct io *io, const void *buf, size_t len)
{
	io->out += len;
	return 0;
}

int
io_start_tls_server(struct io *io, struct tls *ctx)
{
	return -1;
}

/* The other processes: every message the session sends waits here. */
struct sent {
	TAILQ_ENTRY(sent)	 entry;
	enum smtp_proc		 to;
	struct ibuf		*b;
};
static TAILQ_HEAD(, sent)	 sent = TAILQ_HEAD_INITIALIZER(sent);
static uint8_t			 answers;
static int			 pipe_rd = -1;

void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	struct sent	*s;

	if (b->error)
		abort();	/* a message that would not fit */
	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->to = p;
	s->b = b;
	TAILQ_INSERT_TAIL(&sent, s, entry);
}

/* An answer as a peer would send it, handed to the session. */
static struct ibuf *
answer(uint32_t type, uint32_t peerid, int fd)
{
	return imsg_create(type, peerid, fd);
}

static void
deliver(struct ibuf *b, void (*fn)(uint32_t, uint32_t, struct imsg *))
{
	struct imsg_hdr	 hdr;
	struct imsg	 imsg;

	memcpy(&hdr, b->buf, sizeof(hdr));
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr = hdr;
	imsg.hdr.len = b->len - IMSG_HDRSIZE;
	imsg.data = b->buf + IMSG_HDRSIZE;
	imsg.len = b->len - IMSG_HDRSIZE;
	imsg.fd = b->fd;
	b->fd = -1;
	fn(hdr.peerid, hdr.type, &imsg);
	if (imsg.fd != -1)
		close(imsg.fd);
	free(b->buf);
	free(b);
}

static void
auth_reply(uint32_t id, uint32_t type, struct imsg *imsg)
{
	smtp_session_auth_reply(id, imsg);
}

static void
status_answer(uint32_t type, uint32_t id, uint32_t status, const char *text,
    void (*fn)(uint32_t, uint32_t, struct imsg *))
{
	struct ibuf	*b = answer(type, id, -1);

	imsg_add_u32(b, status);
	imsg_add_string(b, text);
	if (type == IMSG_LOOKUP_SMTP_CONNECT)
		imsg_add_string(b, "client.example");
	deliver(b, fn);
}

static void
queue_answer(uint32_t type, uint32_t id, uint32_t status, uint32_t msgid,
    int fd)
{
	struct ibuf	*b = answer(type, id, fd);

	imsg_add_u32(b, status);
	imsg_add_u32(b, msgid);
	deliver(b, smtp_session_queue_reply);
}

static void
drain_pipe(void)
{
	char	 buf[65536];

	if (pipe_rd == -1)
		return;
	while (read(pipe_rd, buf, sizeof(buf)) > 0)
		;
}

/* Answer one message the session sent, as its peer would. */
static void
play(struct sent *s)
{
	struct imsg_hdr	 hdr;
	uint32_t	 id, ok;
	int		 p[2];

	memcpy(&hdr, s->b->buf, sizeof(hdr));
	id = hdr.peerid;
	if (s->b->fd != -1)
		close(s->b->fd);
	free(s->b->buf);
	free(s->b);
	free(s);
	ok = LOOKUP_OK;
	switch (hdr.type) {
	case IMSG_SMTP_LOOKUP_CONNECT:
		status_answer(IMSG_LOOKUP_SMTP_CONNECT, id,
		    (answers & 1) ? LOOKUP_PERMFAIL : LOOKUP_OK,
		    "554 5.7.1 Connection refused", smtp_session_lookup_reply);
		break;
	case IMSG_SMTP_LOOKUP_MAIL:
		status_answer(IMSG_LOOKUP_SMTP_MAIL, id, (answers & 2) ?
		    LOOKUP_PERMFAIL : ok, "550 5.7.1 Sender refused",
		    smtp_session_lookup_reply);
		break;
	case IMSG_SMTP_LOOKUP_RCPT:
		status_answer(IMSG_LOOKUP_SMTP_RCPT, id, (answers & 4) ?
		    LOOKUP_TEMPFAIL : ok, "451 4.3.0 Try later",
		    smtp_session_lookup_reply);
		break;
	case IMSG_SMTP_LOOKUP_VRFY:
	case IMSG_SMTP_LOOKUP_EXPN: {
		struct ibuf *b = answer(hdr.type == IMSG_SMTP_LOOKUP_VRFY ?
		    IMSG_LOOKUP_SMTP_VRFY : IMSG_LOOKUP_SMTP_EXPN, id, -1);

		imsg_add_u32(b, 1);
		imsg_add_string(b, "user");
		deliver(b, smtp_session_lookup_reply);
		break;
	}
	case IMSG_SMTP_LOOKUP_DATA:
		if (answers & 8) {
			status_answer(IMSG_LOOKUP_SMTP_DATA, id,
			    LOOKUP_TEMPFAIL, "451 4.3.0 Try later",
			    smtp_session_lookup_reply);
			break;
		}
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
			abort();
		if (pipe_rd != -1)
			close(pipe_rd);
		pipe_rd = p[0];
		queue_answer(IMSG_QUEUE_SMTP_CREATE, id, 0, 0x1234, p[1]);
		break;
	case IMSG_SMTP_QUEUE_COMMIT:
		drain_pipe();
		queue_answer(IMSG_QUEUE_SMTP_COMMIT, id, (answers & 16) ? 2 : 0,
		    0x1234, -1);
		break;
	case IMSG_SMTP_LOOKUP_AUTH: {
		struct ibuf *b = answer(IMSG_LOOKUP_SMTP_AUTH, id, -1);

		imsg_add_u32(b, (answers >> 5) & 3);
		imsg_add_string(b, (answers & 0x60) == 0 ? "user" : "");
		deliver(b, auth_reply);
		break;
	}
	case IMSG_SMTP_QUEUE_ROLLBACK:
	case IMSG_SMTP_LOOKUP_TLS:
	case IMSG_SMTP_LOOKUP_CLOSE:
		break;
	default:
		abort();	/* a message the listener may not send */
	}
}

/*
 * Answer what the session asked, and let the client read the replies
 * (which may end the session), until nothing is left to do.
 */
static void
play_all(void)
{
	struct sent	*s;

	for (;;) {
		drain_pipe();
		event_loop(EVLOOP_NONBLOCK);
		if ((s = TAILQ_FIRST(&sent)) != NULL) {
			TAILQ_REMOVE(&sent, s, entry);
			play(s);
			continue;
		}
		if (the_io == NULL || the_io->out == 0)
			break;
		the_io->out = 0;
		the_io->cb(the_io, IO_DRAINED, the_io->arg);
	}
}

static struct listener	 listener;

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	event_init();
	if ((env = calloc(1, sizeof(*env))) == NULL)
		abort();
	strlcpy(env->hostname, "fuzz.example", sizeof(env->hostname));
	env->max_message_size = 64 * 1024;
	env->max_rcpt = 20;
	env->max_sessions = 10;
	env->max_sessions_per_addr = 10;
	env->max_errors = 30;
	env->timeout_command = 300;
	env->timeout_data = 300;
	env->timeout_message = 1800;
	env->timeout_session = 3600;
	env->help = 1;
	env->vrfy = SMTP_ALLOW_ON;
	env->expn = SMTP_ALLOW_AUTH;
	listener.flags = LISTEN_TLS | LISTEN_AUTH | LISTEN_AUTH_PLAINTEXT |
	    LISTEN_REQUIRE_SENDER | LISTEN_MASQUERADE;
	listener.port = 25;
	strlcpy(listener.auth_table, "creds", sizeof(listener.auth_table));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in	 sin;
	size_t			 step, off, n;
	size_t			 nopen;
	uint64_t		 total;
	int			 sv[2];

	if (size < 2)
		return 0;
	answers = data[0];
	step = (data[1] & 0x3f) + 1;
	data += 2;
	size -= 2;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	close(sv[1]);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xc0000207);	/* 192.0.2.7 */
	smtp_session_accept(&listener, sv[0], (struct sockaddr *)&sin,
	    sizeof(sin));
	play_all();
	for (off = 0; off < size && the_io != NULL; off += n) {
		n = size - off < step ? size - off : step;
		evbuffer_add(the_io->in, data + off, n);
		the_io->cb(the_io, IO_DATAIN, the_io->arg);
		play_all();
	}
	if (the_io != NULL)
		the_io->cb(the_io, IO_DISCONNECTED, the_io->arg);
	play_all();
	smtp_session_counts(&nopen, &total);
	if (nopen != 0)
		abort();	/* a session outlived its client */
	if (pipe_rd != -1) {
		close(pipe_rd);
		pipe_rd = -1;
	}
	return 0;
}
