/*
 * Logging.  In the foreground every process writes its lines to stderr.
 * As a daemon every process writes its own lines to the system log,
 * through a socket it connects before its sandbox: the parent carries
 * none of them.  glibc's syslog(3) is not used, since it reconnects on
 * its own when the log daemon restarts, and a sandboxed process may not
 * make a socket; a line that cannot be sent goes to stderr, whose pipe
 * the parent reads and passes on.  Log lines carry text from clients
 * and remote servers, so every control character in them is escaped
 * here, whoever formatted the line: one event stays one line, and
 * nothing reaches a terminal as a command.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		 log_tostderr = 1;
static int		 log_fd = -1;		/* the system log */
static int		 log_facility = LOG_MAIL;
static int		 log_verbose;
static const char	*log_procname = "smtpd";
static char		*log_captured;		/* see log_capture() */
static size_t		 log_capsize;

/*
 * To stderr, or to the system log at SMTPD_SYSLOG from the environment
 * (/dev/log by default).  Called before chroot and sandbox.
 */
void
log_init(int tostderr, int facility)
{
	struct sockaddr_un	 sun;
	const char		*path;

	log_tostderr = tostderr;
	log_facility = facility;
	if (log_fd != -1) {
		close(log_fd);
		log_fd = -1;
	}
	if (tostderr)
		return;
	/* The time zone is read now: a chroot has none. */
	tzset();
	if ((path = getenv("SMTPD_SYSLOG")) == NULL || path[0] == '\0')
		path = _PATH_LOG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path) ||
	    (log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (connect(log_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(log_fd);
		log_fd = -1;
	}
}

/*
 * One line to the system log, in the form syslog(3) gives it, without
 * waiting: if the log daemon cannot take it now, it goes to stderr.
 */
static void
log_send(int pri, const char *line)
{
	char		 msg[4096 + 128], ts[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n;

	if (log_fd != -1 && localtime_r(&now, &tm) != NULL &&
	    strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm) > 0) {
		n = snprintf(msg, sizeof(msg), "<%d>%s smtpd[%d]: %s",
		    log_facility | pri, ts, (int)getpid(), line);
		if (n > 0 && (size_t)n >= sizeof(msg))
			n = sizeof(msg) - 1;
		if (n > 0 && send(log_fd, msg, n, MSG_DONTWAIT) == n)
			return;
	}
	dprintf(STDERR_FILENO, "%s\n", line);
}

/* After closefrom(): the system log's socket is gone, open another. */
void
log_reopen(void)
{
	log_fd = -1;
	log_init(log_tostderr, log_facility);
}

void
log_procinit(const char *name)
{
	log_procname = name;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/*
 * Copy src into dst, each ASCII control character and DEL written as a
 * backslash and three octal digits; what does not fit is cut off, never
 * half an escape.  Returns dst.
 */
char *
log_escape(char *dst, size_t dstsz, const char *src)
{
	const unsigned char	*p;
	size_t			 n = 0;

	if (dstsz == 0)
		return dst;
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			if (n + 1 >= dstsz)
				break;
			dst[n++] = *p;
		} else {
			if (n + 4 >= dstsz)
				break;
			(void)snprintf(dst + n, 5, "\\%03o", *p);
			n += 4;
		}
	}
	dst[n] = '\0';
	return dst;
}

/*
 * One complete line, written with a single write(2) so that lines from
 * several processes sharing a pipe or terminal never interleave.
 */
static void
log_vemit(int pri, const char *prefix, const char *fmt, va_list ap,
    const char *suffix)
{
	char	 raw[4096], line[4096];
	int	 n, m;

	n = snprintf(raw, sizeof(raw), "%s", prefix);
	if (n < 0 || (size_t)n >= sizeof(raw))
		n = 0;
	m = vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	if (m < 0)
		m = 0;
	n = (size_t)(n + m) >= sizeof(raw) ? (int)sizeof(raw) - 1 : n + m;
	if (suffix != NULL) {
		m = snprintf(raw + n, sizeof(raw) - n, ": %s", suffix);
		if (m > 0)
			n = (size_t)(n + m) >= sizeof(raw) ?
			    (int)sizeof(raw) - 1 : n + m;
	}
	n = strlen(log_escape(line, sizeof(line), raw));
	if (log_captured != NULL && pri <= LOG_ERR &&
	    strlen(log_captured) + n + 2 <= log_capsize) {
		strlcat(log_captured, line, log_capsize);
		strlcat(log_captured, "\n", log_capsize);
	}
	if (log_tostderr) {
		if ((size_t)n >= sizeof(line) - 1)
			n = sizeof(line) - 2;
		line[n++] = '\n';
		(void)write(STDERR_FILENO, line, n);
	} else
		log_send(pri, line);
}

/*
 * From now on, and until NULL, the warnings logged are also kept in
 * buf, one per line, as long as they fit whole: a reload answers its
 * smtpctl with what the parser said.
 */
void
log_capture(char *buf, size_t size)
{
	log_captured = buf;
	log_capsize = size;
	if (buf != NULL && size > 0)
		buf[0] = '\0';
}

/* A line a child wrote, which the parent does not take on trust. */
void
log_syslog_line(int pri, const char *raw)
{
	char	 line[4096];

	log_escape(line, sizeof(line), raw);
	if (log_tostderr)
		dprintf(STDERR_FILENO, "%s\n", line);
	else
		log_send(pri, line);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, "", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, "", fmt, ap, NULL);
	va_end(ap);
}

static void
log_vfatal(int witherrno, const char *fmt, va_list ap)
{
	char	 prefix[64];
	int	 saved = errno;

	snprintf(prefix, sizeof(prefix), "fatal in %s: ", log_procname);
	log_vemit(LOG_CRIT, prefix, fmt, ap, witherrno ? strerror(saved) : NULL);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vfatal(1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vfatal(0, fmt, ap);
	va_end(ap);
	exit(1);
}
