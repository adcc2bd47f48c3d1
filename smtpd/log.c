/*
 * Logging.  A process logs either to stderr (children always, the parent
 * in the foreground) or to syslog (the parent of a daemon, which also
 * forwards what its children wrote to their stderr pipes).  Log lines
 * carry text from clients and remote servers, so every control
 * character in them is escaped here, whoever formatted the line: one
 * event stays one line, and nothing reaches a terminal as a command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		 log_tostderr = 1;
static int		 log_verbose;
static const char	*log_procname = "smtpd";

void
log_init(int tostderr, int facility)
{
	log_tostderr = tostderr;
	if (!tostderr) {
		openlog("smtpd", LOG_PID | LOG_NDELAY, facility);
		tzset();
	}
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
	if (log_tostderr) {
		if ((size_t)n >= sizeof(line) - 1)
			n = sizeof(line) - 2;
		line[n++] = '\n';
		(void)write(STDERR_FILENO, line, n);
	} else
		syslog(pri, "%s", line);
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
		syslog(pri, "%s", line);
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
