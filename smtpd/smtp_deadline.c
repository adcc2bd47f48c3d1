/*
 * The deadlines of a listener session, which no byte rate can push
 * back: a command must be read, answered and followed by the next
 * command line within the command timeout, counted from the moment the
 * previous line was taken; a message, from its 354 to its final dot,
 * within the message timeout; and the whole session must end within
 * the session timeout.  The data timeout, the longest silence inside a
 * message, is io's idle timer and lives with the DATA phase.
 *
 * One timer per session, always armed for the nearest deadline.  The
 * client is trusted with nothing; the clock is the monotonic one.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtpd.h"
#include "smtp_session.h"
#include "io.h"

static time_t
smtp_deadline_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ts.tv_sec;
}

/* Which deadline comes first, and when. */
static time_t
smtp_deadline_next(struct smtp_session *s, const char **why)
{
	time_t	 session, phase;

	session = s->started + s->conf->timeout_session;
	if (s->phase_data) {
		phase = s->phase_start + s->conf->timeout_message;
		*why = "message";
	} else {
		phase = s->phase_start + s->conf->timeout_command;
		*why = "command";
	}
	if (session <= phase) {
		*why = "session";
		return session;
	}
	return phase;
}

static void
smtp_deadline_arm(struct smtp_session *s, time_t when)
{
	struct timeval	 tv;
	time_t		 now = smtp_deadline_now();

	tv.tv_sec = when > now ? when - now : 0;
	tv.tv_usec = 0;
	evtimer_add(&s->deadline, &tv);
}

static void
smtp_deadline_expired(int fd, short event, void *arg)
{
	struct smtp_session	*s = arg;
	const char		*why;

	smtp_deadline_next(s, &why);
	if (s->waiting) {
		/* The answer, if it ever comes, finds the session dead. */
		log_warnx("smtp-in session=%08x address=%s result=timeout "
		    "reason=%s", s->id, s->addr, strcmp(why, "session") == 0 ?
		    why : "no-answer");
		smtp_free(s, "timeout");
		return;
	}
	if (s->state == S_QUIT || s->state <= S_HANDSHAKE) {
		/* Nothing to tell it, or it does not read what it is told. */
		smtp_free(s, "timeout");
		return;
	}
	log_info("smtp-in session=%08x address=%s result=timeout reason=%s",
	    s->id, s->addr, why);
	smtp_reply(s, "421 4.4.2 %s Timeout", s->conf->hostname);
	smtp_deadline_arm(s, smtp_deadline_now() + SMTP_CLOSE_GRACE);
	smtp_close_after_reply(s, "timeout");
}

/* At accept: the first command phase runs from now. */
void
smtp_deadline_init(struct smtp_session *s)
{
	const char	*why;

	evtimer_set(&s->deadline, smtp_deadline_expired, s);
	s->started = s->phase_start = smtp_deadline_now();
	s->phase_data = 0;
	smtp_deadline_arm(s, smtp_deadline_next(s, &why));
}

/* A whole command line was taken: the next command's time starts. */
void
smtp_deadline_command(struct smtp_session *s)
{
	s->phase_start = smtp_deadline_now();
}

/*
 * After the session has done what it could: start the message's time
 * on entering DATA and a command's on leaving it, and arm the timer
 * for the nearest deadline.  A closing session keeps what it has.
 */
void
smtp_deadline_update(struct smtp_session *s)
{
	const char	*why;
	int		 data = s->state == S_DATA;

	if (s->state == S_QUIT)
		return;
	if (data != s->phase_data) {
		s->phase_data = data;
		s->phase_start = smtp_deadline_now();
	}
	smtp_deadline_arm(s, smtp_deadline_next(s, &why));
}

void
smtp_deadline_clear(struct smtp_session *s)
{
	evtimer_del(&s->deadline);
}
