/*
 * smtpctl's requests to the queue process, as relayed by control.  A
 * request carries the client's id as its peerid and the answer goes
 * back with it: IMSG_CTL_LINE lines and an IMSG_CTL_END, or a single
 * IMSG_CTL_OK or IMSG_CTL_FAIL.  Requests and answers are read and
 * written by control_msg.c.  Control checks what smtpctl sends, but is
 * not trusted for it: a request the reader refuses is logged and
 * dropped, and the queue goes on.
 *
 * An envelope in flight is never removed: the result of its delivery
 * must still find it.  The admin is told, and removes it once that
 * result is in.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../smtpd/smtpd.h"
#include "queue_scheduler.h"
#include "queue_control.h"

/* Room for envelope_dump(): every field at its longest. */
#define CTL_ENVELOPE_MAX	8192

/* The envelopes one request names, as a range of ids. */
struct target {
	uint32_t	 kind;		/* CTL_TARGET_* */
	uint64_t	 lo;
	uint64_t	 hi;
};

/* What a walk over the target did. */
struct tally {
	uint32_t		 client;
	int			 done;
	int			 inflight;
	int			 failed;
	size_t			 state[3];	/* by enum sched_state */
	const struct envelope	*found;
};

static uint64_t	 delivered_ok, delivered_tempfail, delivered_permfail;
static uint32_t	 paused;		/* CTL_PAUSE_MDA | CTL_PAUSE_MTA */

static void	 ctl_answer(uint32_t, uint32_t, int, const char *, ...)
		    __attribute__((__format__(__printf__, 4, 5)));

static void
ctl_answer(uint32_t type, uint32_t client, int fd, const char *fmt, ...)
{
	char		 text[CTL_LINE_MAX];
	va_list		 ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	proc_close(PROC_CONTROL, msg_ctl_answer_write(type, client, fd, text));
}

/* The range of ids a request names; -1 when it is refused. */
static int
ctl_target(struct imsg *imsg, struct target *t)
{
	struct msg_ctl_target	 m;

	if (msg_ctl_target_read(imsg, &m) == -1)
		return proc_refuse(PROC_CONTROL, imsg, "malformed");
	t->kind = m.kind;
	switch (m.kind) {
	case CTL_TARGET_ALL:
		t->lo = 0;
		t->hi = UINT64_MAX;
		break;
	case CTL_TARGET_MESSAGE:
		t->lo = m.id << 32;
		t->hi = t->lo | UINT32_MAX;
		break;
	default:
		t->lo = t->hi = m.id;
		break;
	}
	return 0;
}

/* Nothing matched: only "all" may match nothing. */
static void
ctl_unknown(uint32_t client, const struct target *t)
{
	if (t->kind == CTL_TARGET_MESSAGE)
		ctl_answer(IMSG_CTL_FAIL, client, -1, "unknown message %08x",
		    envelope_msgid(t->lo));
	else
		ctl_answer(IMSG_CTL_FAIL, client, -1, "unknown envelope %016"
		    PRIx64, t->lo);
}

static const char *
ctl_state_name(enum sched_state state)
{
	switch (state) {
	case SCHED_WAITING:
		return "waiting";
	case SCHED_INFLIGHT:
		return "inflight";
	case SCHED_HELD:
		return "held";
	}
	return "unknown";
}

/* The next try, from now, in the largest unit that fits. */
static void
ctl_next_try(char *buf, size_t len, enum sched_state state, time_t next)
{
	long long	 d = (long long)(next - time(NULL));

	if (state == SCHED_HELD)
		strlcpy(buf, "never", len);
	else if (state == SCHED_INFLIGHT || d <= 0)
		strlcpy(buf, "now", len);
	else if (d < 60)
		snprintf(buf, len, "in %llds", d);
	else if (d < 3600)
		snprintf(buf, len, "in %lldm", d / 60);
	else if (d < 86400)
		snprintf(buf, len, "in %lldh", d / 3600);
	else
		snprintf(buf, len, "in %lldd", d / 86400);
}

/*
 * Fields are separated by tabs.  The values came from clients and
 * remote servers: a control character in one, a tab included, is
 * escaped so that it can neither split a field nor drive the admin's
 * terminal.
 */
static int
ctl_list_one(const struct envelope *e, enum sched_state state, time_t next,
    void *arg)
{
	struct tally	*t = arg;
	char		 when[32];
	char		 sender[4 * ENVELOPE_ADDRMAX], rcpt[4 * ENVELOPE_ADDRMAX];
	char		 lasterr[4 * ENVELOPE_ERRMAX];

	ctl_next_try(when, sizeof(when), state, next);
	log_escape(sender, sizeof(sender), e->sender[0] != '\0' ? e->sender :
	    "<>");
	log_escape(rcpt, sizeof(rcpt), e->rcpt);
	log_escape(lasterr, sizeof(lasterr), e->lasterr[0] != '\0' ?
	    e->lasterr : "-");
	ctl_answer(IMSG_CTL_LINE, t->client, -1,
	    "%016" PRIx64 "\t%s\t%s\t%s\t%" PRIu32 "\t%s\t%s", e->id,
	    sender, rcpt, ctl_state_name(state), e->tries, when, lasterr);
	return 0;
}

static void
ctl_show_queue(uint32_t client)
{
	struct tally	 t = { .client = client };

	(void)scheduler_walk(0, UINT64_MAX, ctl_list_one, &t);
	ctl_answer(IMSG_CTL_END, client, -1, "%s", "");
}

/* Counts by state and keeps the first envelope met. */
static int
ctl_count_one(const struct envelope *e, enum sched_state state, time_t next,
    void *arg)
{
	struct tally	*t = arg;

	if (t->found == NULL)
		t->found = e;
	t->state[state]++;
	return 0;
}

/*
 * The envelope as the queue keeps it, in its file's format, but with
 * control characters escaped as in show queue.
 */
static void
ctl_show_envelope(uint32_t client, const struct target *target)
{
	struct tally	 t = { .client = client };
	char		 buf[CTL_ENVELOPE_MAX], *p, *line;
	char		 safe[4 * ENVELOPE_TARGETMAX];
	int		 n;

	(void)scheduler_walk(target->lo, target->hi, ctl_count_one, &t);
	if (t.found == NULL) {
		ctl_unknown(client, target);
		return;
	}
	/* As its file has it, check line and all. */
	if ((n = envelope_dump_sealed(t.found, buf, sizeof(buf) - 1)) == -1) {
		ctl_answer(IMSG_CTL_FAIL, client, -1, "envelope %016" PRIx64
		    " cannot be shown", t.found->id);
		return;
	}
	buf[n] = '\0';
	p = buf;
	while ((line = strsep(&p, "\n")) != NULL)
		if (line[0] != '\0')
			ctl_answer(IMSG_CTL_LINE, client, -1, "%s",
			    log_escape(safe, sizeof(safe), line));
	ctl_answer(IMSG_CTL_END, client, -1, "%s", "");
}

/* The message file itself goes to smtpctl, through control. */
static void
ctl_show_message(uint32_t client, const struct target *target)
{
	struct tally	 t = { .client = client };
	uint32_t	 msgid = envelope_msgid(target->lo);
	int		 fd;

	if (scheduler_walk(target->lo, target->hi, ctl_count_one, &t) == 0) {
		ctl_unknown(client, target);
		return;
	}
	if ((fd = store_message_open(msgid)) == -1) {
		ctl_answer(IMSG_CTL_FAIL, client, -1, "message %08x: %s",
		    msgid, strerror(errno));
		return;
	}
	ctl_answer(IMSG_CTL_OK, client, fd, "%s", "");
}

static int
ctl_schedule_one(const struct envelope *e, enum sched_state state,
    time_t next, void *arg)
{
	struct tally	*t = arg;

	if (scheduler_schedule(e->id) == 0)
		t->done++;
	else
		t->inflight++;
	return 0;
}

static void
ctl_schedule(uint32_t client, const struct target *target)
{
	struct tally	 t = { .client = client };

	if (scheduler_walk(target->lo, target->hi, ctl_schedule_one, &t) ==
	    0 && target->kind != CTL_TARGET_ALL) {
		ctl_unknown(client, target);
		return;
	}
	if (t.done > 0)
		log_info("queue: %d envelope(s) scheduled by smtpctl", t.done);
	if (t.inflight > 0)
		ctl_answer(IMSG_CTL_OK, client, -1, "%d envelope%s scheduled, "
		    "%d in flight already", t.done, t.done == 1 ? "" : "s",
		    t.inflight);
	else
		ctl_answer(IMSG_CTL_OK, client, -1, "%d envelope%s scheduled",
		    t.done, t.done == 1 ? "" : "s");
}

static int
ctl_remove_one(const struct envelope *e, enum sched_state state,
    time_t next, void *arg)
{
	struct tally	*t = arg;
	uint64_t	 id = e->id;

	if (state == SCHED_INFLIGHT) {
		t->inflight++;
		return 0;
	}
	/* A file already gone is removed as far as the admin cares. */
	if (store_envelope_remove(id) == -1 && errno != ENOENT) {
		log_warn("queue: evpid=%016" PRIx64 " cannot remove", id);
		t->failed++;
		return 0;
	}
	log_info("remove evpid=%016" PRIx64 " from=<%s> to=<%s> "
	    "result=removed by=smtpctl", id, e->sender, e->rcpt);
	if (scheduler_remove(id) == -1)
		fatalx("queue: removed envelope %016" PRIx64 " not in the "
		    "scheduler", id);
	t->done++;
	return 0;
}

static void
ctl_remove(uint32_t client, const struct target *target)
{
	struct tally	 t = { .client = client };

	if (scheduler_walk(target->lo, target->hi, ctl_remove_one, &t) ==
	    0 && target->kind != CTL_TARGET_ALL) {
		ctl_unknown(client, target);
		return;
	}
	/* As for a delivery: a removed envelope must not come back. */
	if (t.done > 0 && store_sync() == -1)
		log_warn("queue: syncfs");
	if (target->kind == CTL_TARGET_ENVELOPE && t.inflight > 0)
		ctl_answer(IMSG_CTL_FAIL, client, -1, "envelope %016" PRIx64
		    " is in flight: remove it once its delivery returns",
		    target->lo);
	else if (t.failed > 0)
		ctl_answer(IMSG_CTL_FAIL, client, -1, "%d envelope%s removed, "
		    "%d could not be (see the log)", t.done,
		    t.done == 1 ? "" : "s", t.failed);
	else if (t.inflight > 0)
		ctl_answer(IMSG_CTL_OK, client, -1, "%d envelope%s removed, "
		    "%d in flight left", t.done, t.done == 1 ? "" : "s",
		    t.inflight);
	else
		ctl_answer(IMSG_CTL_OK, client, -1, "%d envelope%s removed",
		    t.done, t.done == 1 ? "" : "s");
}

/*
 * The scheduler's filter while something is paused.  An envelope with
 * no action is held at once by queue_deliver(): never kept back.
 */
static int
ctl_may_run(const struct envelope *e)
{
	struct action	*a;

	if ((a = config_action(env, e->action)) == NULL)
		return 1;
	if (a->type == ACTION_RELAY)
		return (paused & CTL_PAUSE_MTA) == 0;
	return (paused & CTL_PAUSE_MDA) == 0;
}

static void
ctl_pause(struct imsg *imsg, int pause)
{
	const char	*name;
	uint32_t	 what;

	if (msg_ctl_pause_read(imsg, &what) == -1 ||
	    (what != CTL_PAUSE_MDA && what != CTL_PAUSE_MTA)) {
		proc_refuse(PROC_CONTROL, imsg, "malformed");
		return;
	}
	name = what == CTL_PAUSE_MDA ? "mda" : "mta";
	if (pause)
		paused |= what;
	else
		paused &= ~what;
	scheduler_filter(paused != 0 ? ctl_may_run : NULL);
	log_info("queue: %s %s by smtpctl", name, pause ? "paused" :
	    "resumed");
	ctl_answer(IMSG_CTL_OK, imsg->hdr.peerid, -1, "%s %s", name,
	    pause ? "paused" : "resumed");
}

static void
ctl_stats(uint32_t client)
{
	struct tally	 t = { .client = client };
	int		 n;

	n = scheduler_walk(0, UINT64_MAX, ctl_count_one, &t);
	ctl_answer(IMSG_CTL_LINE, client, -1, "queue.envelopes=%d", n);
	ctl_answer(IMSG_CTL_LINE, client, -1, "queue.waiting=%zu",
	    t.state[SCHED_WAITING]);
	ctl_answer(IMSG_CTL_LINE, client, -1, "queue.inflight=%zu",
	    t.state[SCHED_INFLIGHT]);
	ctl_answer(IMSG_CTL_LINE, client, -1, "queue.held=%zu",
	    t.state[SCHED_HELD]);
	ctl_answer(IMSG_CTL_LINE, client, -1, "delivery.ok=%" PRIu64,
	    delivered_ok);
	ctl_answer(IMSG_CTL_LINE, client, -1, "delivery.tempfail=%" PRIu64,
	    delivered_tempfail);
	ctl_answer(IMSG_CTL_LINE, client, -1, "delivery.permfail=%" PRIu64,
	    delivered_permfail);
	ctl_answer(IMSG_CTL_END, client, -1, "%s", "");
}

void
queue_control_delivered(uint32_t status)
{
	switch (status) {
	case DELIVERY_OK:
		delivered_ok++;
		break;
	case DELIVERY_TEMPFAIL:
		delivered_tempfail++;
		break;
	default:
		delivered_permfail++;
		break;
	}
}

int
queue_control_dispatch(struct imsg *imsg)
{
	struct target	 t;
	uint32_t	 client = imsg->hdr.peerid;

	switch (imsg->hdr.type) {
	case IMSG_CTL_SHOW_QUEUE:
	case IMSG_CTL_SHOW_STATS:
		if (msg_ctl_request_read(imsg) == -1)
			proc_refuse(PROC_CONTROL, imsg, "malformed");
		else if (imsg->hdr.type == IMSG_CTL_SHOW_QUEUE)
			ctl_show_queue(client);
		else
			ctl_stats(client);
		return 0;
	case IMSG_CTL_SHOW_ENVELOPE:
		if (ctl_target(imsg, &t) == 0)
			ctl_show_envelope(client, &t);
		return 0;
	case IMSG_CTL_SHOW_MESSAGE:
		if (ctl_target(imsg, &t) == 0)
			ctl_show_message(client, &t);
		return 0;
	case IMSG_CTL_SCHEDULE:
		if (ctl_target(imsg, &t) == 0)
			ctl_schedule(client, &t);
		return 0;
	case IMSG_CTL_REMOVE:
		if (ctl_target(imsg, &t) == 0)
			ctl_remove(client, &t);
		return 0;
	case IMSG_CTL_PAUSE:
	case IMSG_CTL_RESUME:
		ctl_pause(imsg, imsg->hdr.type == IMSG_CTL_PAUSE);
		return 0;
	}
	return -1;
}
