/*
 * lmtp delivery (RFC 2033): hand the message to an LMTP server, over
 * TCP or a local socket, for the one recipient of this envelope, named
 * by the local user's login.
 *
 * The agent is a short-lived process of its own, so it talks in plain
 * blocking style: one command, then its reply, each wait bounded by
 * poll(2).  A 2yz reply to the data is delivered, 4yz is tried again
 * later, 5yz fails for good.  A server that cannot be reached, stops
 * answering, or answers what LMTP does not allow is tried again later:
 * nothing is lost for a fault that may pass.
 *
 * The message goes as it is in the queue, lines ending in CR LF and
 * dot-stuffed; no Return-Path or Delivered-To header is added, as the
 * LMTP server does the final delivery and adds them itself.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mda.h"

#define LMTP_CONNECT_TIMEOUT	30	/* seconds */
#define LMTP_TIMEOUT		300	/* for a reply, or to write on */
#define LMTP_DATA_TIMEOUT	600	/* for the status after the data */
#define LMTP_LINE_MAX		1024

struct lmtp {
	int		 fd;
	const char	*dest;
	char		*err;
	size_t		 errlen;
	char		 in[LMTP_LINE_MAX];
	size_t		 inlen;
	size_t		 outlen;
	char		 out[65536];
};

/*
 * Split "host:port", "[address]:port" or "/socket/path"; host and port
 * may be NULL to check the syntax only.  A socket has an empty port.
 */
int
mda_lmtp_split(const char *dest, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	struct sockaddr_un	 sun;
	const char		*h = dest, *hend, *colon, *errstr;

	if (dest[0] == '/') {
		if (strlen(dest) >= sizeof(sun.sun_path))
			return -1;
		hend = dest + strlen(dest);
		colon = NULL;
	} else if (dest[0] == '[') {
		h = dest + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			return -1;
		colon = hend + 1;
	} else {
		/* An IPv6 address must be in brackets. */
		if ((colon = strchr(dest, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return -1;
		hend = colon;
	}
	if (hend == h)
		return -1;
	if (colon != NULL) {
		strtonum(colon + 1, 1, 65535, &errstr);
		if (errstr != NULL)
			return -1;
	}
	if (host == NULL)
		return 0;
	if ((size_t)(hend - h) >= hostlen ||
	    strlcpy(port, colon != NULL ? colon + 1 : "", portlen) >= portlen)
		return -1;
	memcpy(host, h, hend - h);
	host[hend - h] = '\0';
	return 0;
}

static int
lmtp_fail(struct lmtp *l, const char *fmt, ...)
{
	char	 what[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "lmtp %s: %s", l->dest, what);
	return -1;
}

/* Wait until fd is ready for events, for at most secs seconds. */
static int
lmtp_poll(int fd, short events, int secs)
{
	struct pollfd	 pfd;
	struct timespec	 start, now;
	int		 left, r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = secs * 1000 - (int)((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		if ((r = poll(&pfd, 1, left)) == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 1)
			return 0;
	}
}

static int
lmtp_connect_unix(struct lmtp *l, const char *path)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return lmtp_fail(l, "socket: %s", strerror(errno));
	if (connect(l->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return lmtp_fail(l, "connect: %s", strerror(errno));
	return 0;
}

static int
lmtp_connect_one(struct lmtp *l, const struct addrinfo *ai)
{
	socklen_t	 len;
	int		 e;

	if ((l->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol)) == -1)
		return -1;
	if (connect(l->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno == EINPROGRESS &&
	    lmtp_poll(l->fd, POLLOUT, LMTP_CONNECT_TIMEOUT) == 0) {
		len = sizeof(e);
		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
			e = errno;
		if (e == 0)
			return 0;
		errno = e;
	}
	e = errno;
	close(l->fd);
	l->fd = -1;
	errno = e;
	return -1;
}

/* Try each address of the host in turn. */
static int
lmtp_connect_tcp(struct lmtp *l, const char *host, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0)
		return lmtp_fail(l, "%s", gai_strerror(error));
	errno = EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (lmtp_connect_one(l, ai) == 0)
			break;
	freeaddrinfo(res);
	if (l->fd == -1)
		return lmtp_fail(l, "connect: %s", strerror(errno));
	return 0;
}

static int
lmtp_flush(struct lmtp *l)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < l->outlen) {
		n = write(l->fd, l->out + off, l->outlen - off);
		if (n == -1 && errno == EAGAIN &&
		    lmtp_poll(l->fd, POLLOUT, LMTP_TIMEOUT) == 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return lmtp_fail(l, "write: %s", strerror(errno));
		off += n;
	}
	l->outlen = 0;
	return 0;
}

static int
lmtp_write(struct lmtp *l, const char *p, size_t n)
{
	size_t	 take;

	while (n > 0) {
		if (l->outlen == sizeof(l->out) && lmtp_flush(l) == -1)
			return -1;
		take = sizeof(l->out) - l->outlen;
		if (take > n)
			take = n;
		memcpy(l->out + l->outlen, p, take);
		l->outlen += take;
		p += take;
		n -= take;
	}
	return 0;
}

/* One line of a reply, without its CR LF. */
static int
lmtp_getline(struct lmtp *l, char *line, size_t linelen, int secs)
{
	char	*nl;
	size_t	 n;
	ssize_t	 r;

	while ((nl = memchr(l->in, '\n', l->inlen)) == NULL) {
		if (l->inlen == sizeof(l->in))
			return lmtp_fail(l, "reply line too long");
		r = read(l->fd, l->in + l->inlen, sizeof(l->in) - l->inlen);
		if (r == -1 && errno == EAGAIN &&
		    lmtp_poll(l->fd, POLLIN, secs) == 0)
			continue;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return lmtp_fail(l, "read: %s", strerror(errno));
		if (r == 0)
			return lmtp_fail(l, "connection closed by server");
		l->inlen += r;
	}
	n = nl - l->in;
	if (n > 0 && l->in[n - 1] == '\r')
		n--;
	if (n >= linelen)
		n = linelen - 1;
	memcpy(line, l->in, n);
	line[n] = '\0';
	l->inlen -= nl + 1 - l->in;
	memmove(l->in, nl + 1, l->inlen);
	return 0;
}

/*
 * Read a reply, of one line or several, and return its code; its last
 * line is left in line.
 */
static int
lmtp_reply(struct lmtp *l, char *line, size_t linelen, int secs)
{
	for (;;) {
		if (lmtp_getline(l, line, linelen, secs) == -1)
			return -1;
		if (!isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
			return lmtp_fail(l, "bad reply \"%.64s\"", line);
		if (line[3] != '-')
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
	}
}

/* Send a command and read its reply. */
static int
lmtp_cmd(struct lmtp *l, char *line, size_t linelen, const char *fmt, ...)
{
	char	 cmd[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 2)
		return lmtp_fail(l, "command too long");
	memcpy(cmd + n, "\r\n", 2);
	if (lmtp_write(l, cmd, n + 2) == -1 || lmtp_flush(l) == -1)
		return -1;
	return lmtp_reply(l, line, linelen, LMTP_TIMEOUT);
}

/* The message, dot-stuffed, in CR LF lines, and the final dot. */
static int
lmtp_data(struct lmtp *l, int msgfd)
{
	struct mda_reader	 r;
	char			*line;
	ssize_t			 n;
	int			 rc = 0;

	mda_reader_init(&r, msgfd);
	while (rc == 0 && (n = mda_reader_line(&r, &line)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if ((n > 0 && line[0] == '.' && lmtp_write(l, ".", 1) == -1) ||
		    lmtp_write(l, line, n) == -1 ||
		    lmtp_write(l, "\r\n", 2) == -1)
			rc = -1;
	}
	if (rc == 0 && n == -1)
		rc = lmtp_fail(l, "cannot read the message: %s",
		    strerror(errno));
	mda_reader_free(&r);
	if (rc == 0 && (lmtp_write(l, ".\r\n", 3) == -1 ||
	    lmtp_flush(l) == -1))
		rc = -1;
	return rc;
}

/* The exit code for a reply that is not the one hoped for. */
static int
lmtp_refused(struct lmtp *l, int code, const char *after, const char *line)
{
	snprintf(l->err, l->errlen, "lmtp %s: %s: %s", l->dest, after, line);
	if (code >= 500 && code < 600)
		return EX_UNAVAILABLE;
	return EX_TEMPFAIL;
}

static int
lmtp_session(struct lmtp *l, const char *user, int msgfd,
    const struct mda_envelope *e, const char *helo)
{
	char	 line[LMTP_LINE_MAX];
	int	 code;

	if ((code = lmtp_reply(l, line, sizeof(line), LMTP_TIMEOUT)) == -1)
		return EX_TEMPFAIL;
	if (code / 100 != 2)
		return lmtp_refused(l, code, "greeting", line);
	if ((code = lmtp_cmd(l, line, sizeof(line), "LHLO %s", helo)) == -1)
		return EX_TEMPFAIL;
	if (code / 100 != 2)
		return lmtp_refused(l, code, "LHLO", line);
	if ((code = lmtp_cmd(l, line, sizeof(line), "MAIL FROM:<%s>",
	    e->sender)) == -1)
		return EX_TEMPFAIL;
	if (code / 100 != 2)
		return lmtp_refused(l, code, "MAIL FROM", line);
	if ((code = lmtp_cmd(l, line, sizeof(line), "RCPT TO:<%s>",
	    user)) == -1)
		return EX_TEMPFAIL;
	if (code / 100 != 2)
		return lmtp_refused(l, code, "RCPT TO", line);
	if ((code = lmtp_cmd(l, line, sizeof(line), "DATA")) == -1)
		return EX_TEMPFAIL;
	if (code / 100 != 3)
		return lmtp_refused(l, code, "DATA", line);
	/* One status per accepted recipient: here, exactly one. */
	if (lmtp_data(l, msgfd) == -1 ||
	    (code = lmtp_reply(l, line, sizeof(line), LMTP_DATA_TIMEOUT)) == -1)
		return EX_TEMPFAIL;
	if (code / 100 != 2)
		return lmtp_refused(l, code, "end of data", line);
	/* Delivered: a QUIT that goes astray changes nothing. */
	(void)lmtp_write(l, "QUIT\r\n", 6);
	(void)lmtp_flush(l);
	return EX_OK;
}

int
mda_lmtp_deliver(const char *dest, const char *user, int msgfd,
    const struct mda_envelope *e, const char *helo, char *err, size_t errlen)
{
	char		 host[PATH_MAX], port[8];
	struct lmtp	*l;
	int		 rc;

	if (mda_lmtp_split(dest, host, sizeof(host), port, sizeof(port)) ==
	    -1) {
		snprintf(err, errlen, "lmtp %s: bad destination", dest);
		return EX_CONFIG;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return EX_TEMPFAIL;
	}
	l->fd = -1;
	l->dest = dest;
	l->err = err;
	l->errlen = errlen;
	/* A server that hangs up makes write fail, not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	if ((host[0] == '/' ? lmtp_connect_unix(l, host) :
	    lmtp_connect_tcp(l, host, port)) == -1)
		rc = EX_TEMPFAIL;
	else
		rc = lmtp_session(l, user, msgfd, e, helo);
	if (l->fd != -1)
		close(l->fd);
	free(l);
	return rc;
}
