/*
 * Buffered socket I/O on libevent, with libtls for encrypted sessions.
 *
 * Input is read into an evbuffer the owner consumes; output is appended
 * to another and written as the socket takes it.  One persistent event
 * per socket carries both directions: libtls may want to write while
 * reading (and the other way round), which it says with
 * TLS_WANT_POLLIN/TLS_WANT_POLLOUT.
 *
 * The event's mask changes as seldom as possible, since each change is
 * two epoll_ctl calls.  Output is written at the end of the turn that
 * made it, by making the event active, and EV_WRITE is asked for only
 * when the socket did not take it all.  When the owner stops reading
 * (while another process answers it), EV_READ stays armed until the
 * peer actually sends something; only then is it taken off.
 *
 * Neither buffer grows without bound: nothing more is read from the
 * peer while IO_INPUT_MAX bytes wait for the owner, or IO_OUTPUT_MAX
 * bytes wait for the peer to read them.  A peer that will not read
 * what it is sent stalls its own input, and its owner's deadlines deal
 * with it.  The peer is trusted with nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

#define IO_READ_CHUNK	16384

enum io_tls_state {
	IO_TLS_NONE,
	IO_TLS_HANDSHAKE,
	IO_TLS_RUNNING,
};

struct io {
	int			 fd;
	struct event		 ev;
	int			 ev_set;
	short			 ev_mask;	/* what ev is armed with */
	int			 wblocked;	/* the socket took not all */
	int			 rstrict;	/* EV_READ came unwanted */
	struct evbuffer		*in;
	struct evbuffer		*out;
	io_cb			 cb;
	void			*arg;
	int			 timeout;	/* seconds, 0 none */
	int			 reading;
	struct tls		*tls;
	enum io_tls_state	 tls_state;
	short			 tls_want;	/* what the handshake waits for */
	short			 rd_want;	/* what the last tls_read did */
	short			 wr_want;	/* what the last tls_write did */
	int			 in_cb;
	int			 freed;
	char			 error[256];
};

static void	io_dispatch(int, short, void *);

struct io *
io_new(int fd, io_cb cb, void *arg)
{
	struct io	*io;

	if ((io = calloc(1, sizeof(*io))) == NULL)
		return NULL;
	if ((io->in = evbuffer_new()) == NULL ||
	    (io->out = evbuffer_new()) == NULL) {
		if (io->in != NULL)
			evbuffer_free(io->in);
		free(io);
		return NULL;
	}
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	io->reading = 1;
	return io;
}

static void
io_release(struct io *io)
{
	if (io->ev_set)
		event_del(&io->ev);
	if (io->tls != NULL) {
		tls_close(io->tls);
		tls_free(io->tls);
	}
	if (io->fd != -1)
		close(io->fd);
	evbuffer_free(io->in);
	evbuffer_free(io->out);
	free(io);
}

/* Safe from inside the owner's callback: the io goes when that returns. */
void
io_free(struct io *io)
{
	/*
	 * Another process may hold the socket too (lookup is handed a copy
	 * at connect, which may still be on its way): the connection ends
	 * now, whoever else has it.
	 */
	if (io->fd != -1)
		shutdown(io->fd, SHUT_RDWR);
	if (io->in_cb) {
		io->freed = 1;
		if (io->ev_set) {
			event_del(&io->ev);
			io->ev_set = 0;
		}
		return;
	}
	io_release(io);
}

/* Whether to read more: the owner wants it and both buffers have room. */
static int
io_want_read(struct io *io)
{
	return io->reading && evbuffer_get_length(io->in) < IO_INPUT_MAX &&
	    evbuffer_get_length(io->out) < IO_OUTPUT_MAX;
}

/* Arm the one event with what this io waits for now. */
static void
io_rearm(struct io *io)
{
	struct timeval	 tv;
	short		 events = 0;
	int		 write_now = 0;

	if (io->freed)
		return;
	if (io->tls_state == IO_TLS_HANDSHAKE)
		events = io->tls_want;
	else {
		if (io_want_read(io)) {
			events |= io->rd_want ? io->rd_want : EV_READ;
			io->rstrict = 0;
		}
		if (evbuffer_get_length(io->out) > 0) {
			if (io->wr_want)
				events |= io->wr_want;
			else if (io->wblocked)
				events |= EV_WRITE;
			else
				write_now = 1;
		}
	}
	/* Reading off: leave EV_READ armed until it comes unwanted. */
	if (io->ev_set && !io->rstrict && (io->ev_mask & EV_READ) &&
	    !(events & EV_READ) && io->tls_state != IO_TLS_HANDSHAKE &&
	    (io->ev_mask & ~EV_READ) == events)
		events = io->ev_mask;
	tv.tv_sec = io->timeout;
	tv.tv_usec = 0;
	if (!io->ev_set || events != io->ev_mask) {
		if (io->ev_set)
			event_del(&io->ev);
		event_set(&io->ev, io->fd, events | EV_PERSIST, io_dispatch,
		    io);
		io->ev_set = 1;
		io->ev_mask = events;
		if (events != 0 || io->timeout > 0)
			event_add(&io->ev, io->timeout > 0 ? &tv : NULL);
	} else if (io->timeout > 0)
		event_add(&io->ev, &tv);	/* the deadline starts again */
	if (write_now)
		event_active(&io->ev, EV_WRITE, 1);
}

void
io_set_timeout(struct io *io, int seconds)
{
	io->timeout = seconds;
	if (!io->in_cb)
		io_rearm(io);
}

void
io_set_read(struct io *io, int on)
{
	io->reading = on;
	if (!io->in_cb)
		io_rearm(io);
}

struct evbuffer *
io_input(struct io *io)
{
	return io->in;
}

size_t
io_output_len(struct io *io)
{
	return evbuffer_get_length(io->out);
}

int
io_write(struct io *io, const void *buf, size_t len)
{
	if (evbuffer_add(io->out, buf, len) == -1)
		return -1;
	if (!io->in_cb)
		io_rearm(io);
	return 0;
}

int
io_is_tls(struct io *io)
{
	return io->tls_state == IO_TLS_RUNNING;
}

struct tls *
io_tls(struct io *io)
{
	return io->tls;
}

const char *
io_error(struct io *io)
{
	return io->error;
}

static void
io_callback(struct io *io, enum io_event event)
{
	io->in_cb = 1;
	io->cb(io, event, io->arg);
	io->in_cb = 0;
}

static void
io_set_error(struct io *io, const char *what)
{
	const char	*detail = NULL;

	if (io->tls != NULL)
		detail = tls_error(io->tls);
	if (detail == NULL)
		detail = errno ? strerror(errno) : "unknown error";
	snprintf(io->error, sizeof(io->error), "%s: %s", what, detail);
}

/* Returns the event to report, or -1 when there is nothing to say. */
static int
io_do_read(struct io *io)
{
	struct evbuffer_iovec	 v;
	ssize_t			 n;

	if (evbuffer_reserve_space(io->in, IO_READ_CHUNK, &v, 1) != 1) {
		io_set_error(io, "read");
		return IO_ERROR;
	}
	if (io->tls != NULL) {
		n = tls_read(io->tls, v.iov_base, IO_READ_CHUNK);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			io->rd_want = n == TLS_WANT_POLLIN ? EV_READ :
			    EV_WRITE;
			evbuffer_commit_space(io->in, &v, 0);
			return -1;
		}
	} else
		n = read(io->fd, v.iov_base, IO_READ_CHUNK);
	io->rd_want = 0;
	if (n == -1) {
		evbuffer_commit_space(io->in, &v, 0);
		if (io->tls == NULL && (errno == EAGAIN || errno == EINTR))
			return -1;
		io_set_error(io, "read");
		return IO_ERROR;
	}
	v.iov_len = n;
	evbuffer_commit_space(io->in, &v, 1);
	return n == 0 ? IO_DISCONNECTED : IO_DATAIN;
}

static int
io_do_write(struct io *io)
{
	const unsigned char	*p;
	size_t			 len;
	ssize_t			 n;

	while ((len = evbuffer_get_contiguous_space(io->out)) > 0) {
		if (len > IO_READ_CHUNK)
			len = IO_READ_CHUNK;
		p = evbuffer_pullup(io->out, len);
		if (io->tls != NULL) {
			n = tls_write(io->tls, p, len);
			if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
				io->wr_want = n == TLS_WANT_POLLIN ? EV_READ :
				    EV_WRITE;
				return -1;
			}
		} else
			n = send(io->fd, p, len, MSG_NOSIGNAL);
		io->wr_want = 0;
		if (n == -1) {
			if (io->tls == NULL &&
			    (errno == EAGAIN || errno == EINTR)) {
				io->wblocked = 1;
				return -1;
			}
			io_set_error(io, "write");
			return IO_ERROR;
		}
		evbuffer_drain(io->out, n);
		/* A short write: the socket is full, wait until it is not. */
		if ((size_t)n < len) {
			io->wblocked = 1;
			return -1;
		}
	}
	io->wblocked = 0;
	return IO_DRAINED;
}

static void
io_handshake(struct io *io)
{
	int	 r;

	r = tls_handshake(io->tls);
	if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
		io->tls_want = r == TLS_WANT_POLLIN ? EV_READ : EV_WRITE;
		return;
	}
	io->tls_want = 0;
	if (r == -1) {
		io_set_error(io, "TLS handshake");
		io_callback(io, IO_ERROR);
		return;
	}
	io->tls_state = IO_TLS_RUNNING;
	io_callback(io, IO_TLSREADY);
}

static void
io_dispatch(int fd, short what, void *arg)
{
	struct io	*io = arg;
	int		 ev;

	if (what & EV_TIMEOUT) {
		io_callback(io, IO_TIMEOUT);
		goto done;
	}
	if (io->tls_state == IO_TLS_HANDSHAKE) {
		io_handshake(io);
		goto done;
	}
	/*
	 * A write first, then a read; libtls may have asked for either
	 * direction to finish what the other started.
	 */
	if (evbuffer_get_length(io->out) > 0 && (what & (io->wr_want ?
	    io->wr_want : EV_WRITE))) {
		if ((ev = io_do_write(io)) != -1) {
			io_callback(io, ev);
			if (io->freed || ev == IO_ERROR)
				goto done;
		}
	}
	if (io_want_read(io) && (what & (io->rd_want ? io->rd_want :
	    EV_READ))) {
		if ((ev = io_do_read(io)) != -1)
			io_callback(io, ev);
	} else if ((what & EV_READ) && !io->freed && !io_want_read(io))
		io->rstrict = 1;	/* take the armed EV_READ off */
done:
	if (io->freed) {
		io_release(io);
		return;
	}
	io_rearm(io);
}

/*
 * Switch to TLS as a server.  Whatever the client sent in the clear and
 * is still unread is thrown away, never read as if it were encrypted.
 */
int
io_start_tls_server(struct io *io, struct tls *ctx)
{
	if (io->tls != NULL)
		return -1;
	if (tls_accept_socket(ctx, &io->tls, io->fd) == -1) {
		snprintf(io->error, sizeof(io->error), "tls_accept_socket: %s",
		    tls_error(ctx));
		return -1;
	}
	evbuffer_drain(io->in, evbuffer_get_length(io->in));
	io->tls_state = IO_TLS_HANDSHAKE;
	io->tls_want = EV_READ;
	io->rd_want = io->wr_want = 0;
	if (!io->in_cb)
		io_rearm(io);
	return 0;
}

/*
 * Switch to TLS as a client (the mta), checking the server's name
 * against servername when the context's configuration says so.
 * Anything the server sent in the clear and is unread is dropped.
 */
int
io_start_tls_client(struct io *io, struct tls *ctx, const char *servername)
{
	if (io->tls != NULL)
		return -1;
	if (tls_connect_socket(ctx, io->fd, servername) == -1) {
		snprintf(io->error, sizeof(io->error), "tls_connect_socket: %s",
		    tls_error(ctx));
		return -1;
	}
	io->tls = ctx;
	evbuffer_drain(io->in, evbuffer_get_length(io->in));
	io->tls_state = IO_TLS_HANDSHAKE;
	io->tls_want = EV_WRITE;
	if (!io->in_cb)
		io_rearm(io);
	return 0;
}
