/*
 * Logging for every process: one line per event, to stderr in the
 * foreground, to the system log as a daemon (see log.c).
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

void	log_init(int, int);
void	log_procinit(const char *);
void	log_reopen(void);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_syslog_line(int, const char *);
void	log_capture(char *, size_t);
char	*log_escape(char *, size_t, const char *);

void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2), __noreturn__));
void	fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2), __noreturn__));

#endif
