/*
 * imsg framing over a SOCK_STREAM socketpair.
 *
 * A descriptor travels with the first byte of the message that carries
 * it, and a read never runs past data that came with descriptors, so
 * the last byte of the read that brought a descriptor belongs to the
 * message it was sent with: that message must be flagged IMSGF_HASFD
 * and claims it.  A header that announces more than
 * IMSG_MAXPAYLOAD bytes, a flagged message with no descriptor of its
 * own, or a descriptor that its message does not claim is a protocol
 * error: the caller decides whether that kills the process (a peer) or
 * drops a client.
 *
 * A descriptor the kernel could not hand over because this process had
 * none left (MSG_CTRUNC) is no fault of the sender: its message comes
 * out flagged but with fd -1, and the receiver fails that one piece of
 * work, not the process.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "log.h"

#define IMSG_RBUFSIZE	(IMSG_HDRSIZE + IMSG_MAXPAYLOAD)
#define IMSG_INITSIZE	256

/* Who sends, for the header: asked once, not for every message. */
static pid_t	 imsg_pid;

void
imsgbuf_init(struct imsgbuf *ib, int fd)
{
	memset(ib, 0, sizeof(*ib));
	ib->fd = fd;
	ib->pid = imsg_pid = getpid();
	TAILQ_INIT(&ib->wq);
	if ((ib->rbuf = malloc(IMSG_RBUFSIZE)) == NULL)
		fatal("%s", __func__);
}

static void
ibuf_free(struct ibuf *b)
{
	if (b->fd != -1)
		close(b->fd);
	free(b->buf);
	free(b);
}

void
imsgbuf_clear(struct imsgbuf *ib)
{
	struct ibuf	*b;
	int		 i;

	while ((b = TAILQ_FIRST(&ib->wq)) != NULL) {
		TAILQ_REMOVE(&ib->wq, b, entry);
		ibuf_free(b);
	}
	for (i = 0; i < ib->nfds; i++)
		if (ib->fds[i] != -1)
			close(ib->fds[i]);
	ib->nfds = 0;
	ib->wqlen = 0;
	free(ib->rbuf);
	ib->rbuf = NULL;
}

/*
 * Read what the socket has.  Returns the number of bytes read, 0 at end
 * of file, -1 on error (errno EAGAIN when nothing was there).
 */
ssize_t
imsgbuf_read(struct imsgbuf *ib)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IMSG_MAXFDS)];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	int		*fdp, nfds, i, got = 0;

	if (ib->rlen >= IMSG_RBUFSIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = ib->rbuf + ib->rlen;
	iov.iov_len = IMSG_RBUFSIZE - ib->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	do {
		n = recvmsg(ib->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fdp = (int *)CMSG_DATA(cmsg);
		for (i = 0; i < nfds; i++) {
			if (ib->nfds == IMSG_MAXFDS) {
				close(fdp[i]);
				continue;
			}
			ib->fdend[ib->nfds] = ib->roff + ib->rlen + n;
			ib->fds[ib->nfds++] = fdp[i];
			got++;
		}
	}
	/* What was lost belongs where a descriptor would have been. */
	if ((msg.msg_flags & MSG_CTRUNC) && got == 0 &&
	    ib->nfds < IMSG_MAXFDS) {
		ib->fdend[ib->nfds] = ib->roff + ib->rlen + n;
		ib->fds[ib->nfds++] = -1;
	}
	ib->rlen += n;
	return n;
}

/*
 * Take one complete message out of the read buffer.  Returns 1 with
 * *imsg filled in, 0 when more bytes are needed, -1 on a protocol error
 * (errno EMSGSIZE for an oversized message, EBADMSG for a missing fd).
 */
int
imsg_get(struct imsgbuf *ib, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	size_t		 total;

	if (ib->rlen < IMSG_HDRSIZE)
		return 0;
	memcpy(&hdr, ib->rbuf, sizeof(hdr));
	if (hdr.len > IMSG_MAXPAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	total = IMSG_HDRSIZE + hdr.len;
	if (ib->rlen < total)
		return 0;

	memset(imsg, 0, sizeof(*imsg));
	imsg->hdr = hdr;
	imsg->fd = -1;
	if (hdr.flags & IMSGF_HASFD) {
		if (ib->nfds == 0 || ib->fdend[0] <= ib->roff ||
		    ib->fdend[0] > ib->roff + total) {
			errno = EBADMSG;
			return -1;
		}
		imsg->fd = ib->fds[0];
		ib->nfds--;
		memmove(ib->fds, ib->fds + 1, ib->nfds * sizeof(int));
		memmove(ib->fdend, ib->fdend + 1, ib->nfds * sizeof(uint64_t));
	} else if (ib->nfds > 0 && ib->fdend[0] <= ib->roff + total) {
		/* A descriptor came with a message that does not want it. */
		errno = EBADMSG;
		return -1;
	}
	imsg->len = hdr.len;
	if (hdr.len > 0) {
		if ((imsg->data = malloc(hdr.len)) == NULL)
			fatal("%s", __func__);
		memcpy(imsg->data, ib->rbuf + IMSG_HDRSIZE, hdr.len);
	}
	ib->rlen -= total;
	ib->roff += total;
	memmove(ib->rbuf, ib->rbuf + total, ib->rlen);
	return 1;
}

void
imsg_free(struct imsg *imsg)
{
	free(imsg->data);
	imsg->data = NULL;
	imsg->len = 0;
}

struct ibuf *
imsg_create(uint32_t type, uint32_t peerid, int fd)
{
	struct ibuf	*b;
	struct imsg_hdr	 hdr;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->buf = malloc(IMSG_INITSIZE)) == NULL)
		fatal("%s", __func__);
	b->size = IMSG_INITSIZE;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.peerid = peerid;
	hdr.pid = imsg_pid;
	if (fd != -1)
		hdr.flags |= IMSGF_HASFD;
	memcpy(b->buf, &hdr, sizeof(hdr));
	b->len = IMSG_HDRSIZE;
	b->fd = fd;
	return b;
}

void
imsg_add_data(struct ibuf *b, const void *data, size_t len)
{
	size_t	 want;
	uint8_t	*p;

	if (b->error || len > IMSG_HDRSIZE + IMSG_MAXPAYLOAD - b->len) {
		b->error = 1;
		return;
	}
	/* Most messages are small: grow by doubling, up to the limit. */
	if (b->len + len > b->size) {
		for (want = b->size; want < b->len + len; want *= 2)
			;
		if (want > IMSG_HDRSIZE + IMSG_MAXPAYLOAD)
			want = IMSG_HDRSIZE + IMSG_MAXPAYLOAD;
		if ((p = realloc(b->buf, want)) == NULL)
			fatal("%s", __func__);
		b->buf = p;
		b->size = want;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

void
imsg_add_u8(struct ibuf *b, uint8_t v)
{
	imsg_add_data(b, &v, sizeof(v));
}

void
imsg_add_u32(struct ibuf *b, uint32_t v)
{
	imsg_add_data(b, &v, sizeof(v));
}

void
imsg_add_u64(struct ibuf *b, uint64_t v)
{
	imsg_add_data(b, &v, sizeof(v));
}

/* A string travels as its length then its bytes, with no NUL. */
void
imsg_add_string(struct ibuf *b, const char *s)
{
	size_t	 len = strlen(s);

	if (len > IMSG_MAXPAYLOAD) {
		b->error = 1;
		return;
	}
	imsg_add_u32(b, (uint32_t)len);
	imsg_add_data(b, s, len);
}

/*
 * Queue a built message.  A message that outgrew the payload limit is
 * never sent: the caller learns it with -1 (EMSGSIZE) and the fd it
 * carried is closed.
 */
int
imsg_close(struct imsgbuf *ib, struct ibuf *b)
{
	struct imsg_hdr	 hdr;

	if (b->error) {
		ibuf_free(b);
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(&hdr, b->buf, sizeof(hdr));
	hdr.len = b->len - IMSG_HDRSIZE;
	memcpy(b->buf, &hdr, sizeof(hdr));
	TAILQ_INSERT_TAIL(&ib->wq, b, entry);
	ib->wqlen++;
	return 0;
}

int
imsg_compose(struct imsgbuf *ib, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct ibuf	*b;

	b = imsg_create(type, peerid, fd);
	if (len > 0)
		imsg_add_data(b, data, len);
	return imsg_close(ib, b);
}

int
imsgbuf_pending(struct imsgbuf *ib)
{
	return !TAILQ_EMPTY(&ib->wq);
}

/* Make msg carry fd, in buf, which must live as long as msg. */
void
imsg_fd_attach(struct msghdr *msg, union imsg_fdbuf *buf, int fd)
{
	struct cmsghdr	*cmsg;

	memset(buf, 0, sizeof(*buf));
	msg->msg_control = buf->buf;
	msg->msg_controllen = sizeof(buf->buf);
	cmsg = CMSG_FIRSTHDR(msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
}

/*
 * The messages the next sendmsg(2) carries: one with a descriptor goes
 * alone, as the reader expects; messages without one go together, up
 * to IMSG_GATHER_MAX of them, so that what one turn of the event loop
 * composed costs one system call and one wakeup of the peer.
 */
#define IMSG_GATHER_MAX	16

static int
imsgbuf_gather(struct imsgbuf *ib, struct iovec *iov)
{
	struct ibuf	*b;
	int		 n = 0;

	TAILQ_FOREACH(b, &ib->wq, entry) {
		if (b->fd != -1 && b->wpos == 0 && n > 0)
			break;
		iov[n].iov_base = b->buf + b->wpos;
		iov[n].iov_len = b->len - b->wpos;
		if (++n == IMSG_GATHER_MAX || (b->fd != -1 && b->wpos == 0))
			break;
	}
	return n;
}

/*
 * Write as much of the queue as the socket takes.  Returns 0 when all
 * was written or the socket is full (errno EAGAIN leaves the rest
 * queued), -1 on a real error.
 */
int
imsgbuf_flush(struct imsgbuf *ib)
{
	union imsg_fdbuf fdbuf;
	struct msghdr	 msg;
	struct iovec	 iov[IMSG_GATHER_MAX];
	struct ibuf	*b;
	ssize_t		 n;
	size_t		 left;

	while ((b = TAILQ_FIRST(&ib->wq)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = imsgbuf_gather(ib, iov);
		if (b->fd != -1 && b->wpos == 0)
			imsg_fd_attach(&msg, &fdbuf, b->fd);
		do {
			n = sendmsg(ib->fd, &msg, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return 0;
			return -1;
		}
		if (b->fd != -1 && b->wpos == 0) {
			close(b->fd);
			b->fd = -1;
		}
		/* What went: whole messages, then maybe part of one. */
		while (n > 0 && (b = TAILQ_FIRST(&ib->wq)) != NULL) {
			left = b->len - b->wpos;
			if ((size_t)n < left) {
				b->wpos += n;
				break;
			}
			n -= left;
			TAILQ_REMOVE(&ib->wq, b, entry);
			ib->wqlen--;
			ibuf_free(b);
		}
	}
	return 0;
}

static int
imsg_take(struct imsg *imsg, void *out, size_t len)
{
	if (imsg->error || len > imsg->len - imsg->rpos) {
		imsg->error = 1;
		memset(out, 0, len);
		return -1;
	}
	memcpy(out, imsg->data + imsg->rpos, len);
	imsg->rpos += len;
	return 0;
}

uint8_t
imsg_get_u8(struct imsg *imsg)
{
	uint8_t	 v;

	imsg_take(imsg, &v, sizeof(v));
	return v;
}

uint32_t
imsg_get_u32(struct imsg *imsg)
{
	uint32_t v;

	imsg_take(imsg, &v, sizeof(v));
	return v;
}

uint64_t
imsg_get_u64(struct imsg *imsg)
{
	uint64_t v;

	imsg_take(imsg, &v, sizeof(v));
	return v;
}

void
imsg_get_data(struct imsg *imsg, void *out, size_t len)
{
	imsg_take(imsg, out, len);
}

/*
 * Copy a string into buf.  A string that does not fit, or that holds a
 * NUL, marks the message bad rather than being cut short.
 */
void
imsg_get_string(struct imsg *imsg, char *buf, size_t size)
{
	uint32_t len;

	len = imsg_get_u32(imsg);
	if (size == 0 || len >= size || imsg->error ||
	    len > imsg->len - imsg->rpos ||
	    memchr(imsg->data + imsg->rpos, '\0', len) != NULL) {
		imsg->error = 1;
		if (size > 0)
			buf[0] = '\0';
		return;
	}
	memcpy(buf, imsg->data + imsg->rpos, len);
	buf[len] = '\0';
	imsg->rpos += len;
}

/* 0 when every reader succeeded and the payload was consumed exactly. */
int
imsg_end(struct imsg *imsg)
{
	if (imsg->error || imsg->rpos != imsg->len)
		return -1;
	return 0;
}
