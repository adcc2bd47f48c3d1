/*
 * libFuzzer target: the queue receiving messages (queue_receive.c).
 * Lookup's part is played here as lookup plays it (well-formed
 * envelopes, then a create); the listener's part comes from the input:
 * bytes written into its pipes, pipes closed, and commits and rollbacks
 * with any payload, any message id and stray descriptors.  Whatever the
 * listener does must end in a commit of exactly what came through, a
 * refusal, or an abandoned message: never fatal(), never a commit of a
 * message whose byte count does not match.
 *
 * Each operation is three bytes: what, which session (of four), and an
 * argument; a write takes that many bytes from the input.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/queue.h>

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
#include "queue/queue_dsn.h"
#include "queue/queue_receive.h"
#include "queue/queue_scheduler.h"

struct smtpd_config	*env;
int			 smtpd_privileged;

#define SESSIONS	4

static struct {
	int		 pipe;		/* our write end, or -1 */
	uint32_t	 msgid;		/* what the queue gave us */
	uint64_t	 written;
	int		 waiting;	/* for a create or a commit */
} sess[SESSIONS];

/* The store: message files in memory, commits that always work. */
static uint32_t	 next_msgid = 1;

int
store_message_create(uint32_t *msgid, int *fd)
{
	if ((*fd = memfd_create("message", MFD_CLOEXEC)) == -1)
		return -1;
	*msgid = next_msgid++;
	return 0;
}

int	store_file_finish(int fd, off_t size) { return close(fd); }
void	store_message_abort(uint32_t msgid) { }
int	store_sync(void) { return 0; }
void	scheduler_insert(const struct envelope *e) { }
void	dsn_committed(uint32_t msgid, int ok) { }

void
store_commit_batch(struct store_commit *batch, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		batch[i].status = 0;
}

/* The queue answers the listener: a pipe, or the commit's outcome. */
void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	struct imsg_hdr	 hdr;
	uint32_t	 status, msgid, i;

	memcpy(&hdr, b->buf, sizeof(hdr));
	if (b->error || p != PROC_SMTP || hdr.peerid >= SESSIONS)
		abort();
	i = hdr.peerid;
	memcpy(&status, b->buf + IMSG_HDRSIZE, sizeof(status));
	memcpy(&msgid, b->buf + IMSG_HDRSIZE + 4, sizeof(msgid));
	if (hdr.type == IMSG_QUEUE_SMTP_CREATE) {
		if ((status == 0) != (b->fd != -1))
			abort();
		if (sess[i].pipe != -1)
			close(sess[i].pipe);
		sess[i].pipe = b->fd;
		b->fd = -1;
		sess[i].msgid = status == 0 ? msgid : 0;
		sess[i].written = 0;
	} else if (hdr.type != IMSG_QUEUE_SMTP_COMMIT)
		abort();
	if (b->fd != -1)
		close(b->fd);
	free(b->buf);
	free(b);
}

/* A message of a peer, as the imsg layer hands it over. */
static void
feed(void (*fn)(struct imsg *), uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct imsg	 imsg;
	uint8_t		 buf[64];

	memset(&imsg, 0, sizeof(imsg));
	if (len > sizeof(buf))
		len = sizeof(buf);
	memcpy(buf, data, len);
	imsg.hdr.type = type;
	imsg.hdr.peerid = peerid;
	imsg.hdr.len = len;
	imsg.data = buf;
	imsg.len = len;
	imsg.fd = fd;
	fn(&imsg);
	if (imsg.fd != -1)
		close(imsg.fd);
}

/* Lookup routes a transaction of session i: one envelope, a create. */
static void
lookup_routes(uint32_t i)
{
	struct envelope	 e;
	struct imsg	 imsg;
	struct ibuf	*b;
	char		 text[8192];
	uint32_t	 one = 1;

	memset(&e, 0, sizeof(e));
	e.id = 1;
	strlcpy(e.sender, "a@example.org", sizeof(e.sender));
	strlcpy(e.rcpt, "b@example.net", sizeof(e.rcpt));
	strlcpy(e.action, "local", sizeof(e.action));
	strlcpy(e.user, "b", sizeof(e.user));
	if (envelope_dump(&e, text, sizeof(text)) == -1)
		abort();
	b = imsg_create(IMSG_LOOKUP_QUEUE_ENVELOPE, i, -1);
	imsg_add_string(b, text);
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_LOOKUP_QUEUE_ENVELOPE;
	imsg.hdr.peerid = i;
	imsg.data = b->buf + IMSG_HDRSIZE;
	imsg.len = b->len - IMSG_HDRSIZE;
	imsg.fd = -1;
	receive_envelope(&imsg);
	free(b->buf);
	free(b);
	feed(receive_create, IMSG_LOOKUP_QUEUE_CREATE, i, -1, &one,
	    sizeof(one));
}

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t	 i;

	event_init();
	receive_init();
	if ((env = calloc(1, sizeof(*env))) == NULL)
		abort();
	env->max_message_size = 4096;
	env->max_sessions = 16;
	for (i = 0; i < SESSIONS; i++)
		sess[i].pipe = -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		 payload[12];
	uint64_t	 n64;
	uint32_t	 i, msgid;
	size_t		 off = 0, n;
	int		 fd;

	while (off + 3 <= size) {
		i = data[off + 1] % SESSIONS;
		n = data[off + 2];
		switch (data[off] % 7) {
		case 0:
			lookup_routes(i);
			break;
		case 1:
			off += 3;
			if (n > size - off)
				n = size - off;
			if (sess[i].pipe != -1 &&
			    write(sess[i].pipe, data + off, n) > 0)
				sess[i].written += n;
			off += n;
			continue;
		case 2:
			if (sess[i].pipe != -1)
				close(sess[i].pipe);
			sess[i].pipe = -1;
			break;
		case 3:
		case 4:
			/* The right message and count, or one byte off. */
			msgid = sess[i].msgid ^ ((n & 1) ? 0 : 0x10000);
			n64 = sess[i].written + ((n & 2) ? 1 : 0);
			memcpy(payload, &msgid, 4);
			memcpy(payload + 4, &n64, 8);
			fd = (n & 4) ? dup(0) : -1;
			if (data[off] % 7 == 3)
				feed(receive_commit, IMSG_SMTP_QUEUE_COMMIT, i,
				    fd, payload, (n & 8) ? 11 : 12);
			else
				feed(receive_rollback,
				    IMSG_SMTP_QUEUE_ROLLBACK, i, fd, payload,
				    (n & 8) ? 3 : 4);
			break;
		default:
			event_loop(EVLOOP_NONBLOCK);
			break;
		}
		off += 3;
	}
	/* The listener goes away: every message is committed or dropped. */
	for (i = 0; i < SESSIONS; i++) {
		if (sess[i].pipe != -1)
			close(sess[i].pipe);
		sess[i].pipe = -1;
		event_loop(EVLOOP_NONBLOCK);
		if (sess[i].msgid != 0) {
			memcpy(payload, &sess[i].msgid, 4);
			feed(receive_rollback, IMSG_SMTP_QUEUE_ROLLBACK, i, -1,
			    payload, 4);
		}
		sess[i].msgid = 0;
	}
	event_loop(EVLOOP_NONBLOCK);
	return 0;
}
