/*
 * Logging for the fuzz targets, in place of smtpd/log.c: every message
 * is formatted (so a bad argument still shows) and dropped, since a
 * parser that logs each error would spend the run writing to stderr.
 * fatal() and fatalx() abort: input that reaches them is a finding.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "smtpd/log.h"

static void
fuzz_vlog(const char *fmt, va_list ap)
{
	char	 line[4096];
	int	 saved = errno;

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	errno = saved;
}

void
log_init(int tostderr, int facility)
{
}

void
log_procinit(const char *name)
{
}

void
log_setverbose(int v)
{
}

int
log_getverbose(void)
{
	return 0;
}

void
log_syslog_line(int pri, const char *line)
{
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}
