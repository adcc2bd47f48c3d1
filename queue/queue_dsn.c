/*
 * Bounces and delay notices.  An envelope that failed for good, or has
 * been in the queue longer than its lifetime, is reported to its sender
 * and removed; one waiting longer than the warning interval is reported
 * once and kept.  The report is written into a pool file like any
 * message, routed by lookup's rules as a local submission from the
 * null sender, and committed in the next batch; the failed envelope
 * goes only once its report is safely queued.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "queue_scheduler.h"
#include "queue_dsn.h"
#include "queue_msg.h"

#define DSN_MAX_DESTS	64

/* A report written and waiting for lookup to say where it goes. */
struct dsn {
	TAILQ_ENTRY(dsn)	 entry;
	uint32_t		 id;		/* lookup request */
	uint32_t		 msgid;		/* the report's message */
	uint64_t		 evpid;		/* the envelope reported on */
	enum bounce_kind	 kind;
	char			 sender[ENVELOPE_ADDRMAX];
	int			 committing;
};
static TAILQ_HEAD(, dsn)	 pending = TAILQ_HEAD_INITIALIZER(pending);

/*
 * Failures whose report could not be queued for now (its routing met a
 * failed table, or the commit failed): the envelope stays, held, and
 * the next sweep writes the report again.
 */
struct dsn_deferred {
	TAILQ_ENTRY(dsn_deferred) entry;
	uint64_t		 evpid;
};
static TAILQ_HEAD(, dsn_deferred) deferred =
    TAILQ_HEAD_INITIALIZER(deferred);
static uint32_t			 next_id = 1;
static struct event		 sweep_ev;

static struct dsn *
dsn_find_id(uint32_t id)
{
	struct dsn	*d;

	TAILQ_FOREACH(d, &pending, entry)
		if (d->id == id)
			return d;
	return NULL;
}

static int
dsn_pending_for(uint64_t evpid)
{
	struct dsn	*d;

	TAILQ_FOREACH(d, &pending, entry)
		if (d->evpid == evpid)
			return 1;
	return 0;
}

/* The envelope reported on is done with (failures only). */
static void
dsn_drop_envelope(uint64_t evpid)
{
	if (scheduler_get(evpid, SCHED_HELD) == NULL &&
	    scheduler_get(evpid, SCHED_WAITING) == NULL)
		return;
	if (store_envelope_remove(evpid) == -1)
		log_warn("queue: evpid=%016" PRIx64 " cannot remove", evpid);
	scheduler_done(evpid);
	queue_removed();
}

/*
 * Whether the report keeps a local agent's words from the sender: for
 * every local delivery (a file or command of an alias or ~/.forward, or
 * a local action) of a message that was not submitted on this host.
 * Relaying reports carry the remote server's reply as it is.
 */
static int
dsn_hides_details(const struct envelope *e)
{
	const struct action	*a;

	if (strncmp(e->client, "local ", 6) == 0)
		return 0;
	switch (envelope_target_kind(e->target)) {
	case TARGET_FILE:
	case TARGET_COMMAND:
		return 1;
	default:
		break;
	}
	a = config_action(env, e->action);
	return a == NULL || a->type != ACTION_RELAY;
}

/*
 * Write the report for e and ask lookup where it goes.  Returns -1 when
 * no report could be written (the caller decides what that means).
 */
static int
dsn_start(const struct envelope *e, enum bounce_kind kind)
{
	struct dsn	*d;
	FILE		*fp;
	uint32_t	 msgid;
	int		 fd, msgfd, r;

	if ((msgfd = store_message_open(envelope_msgid(e->id))) == -1) {
		log_warn("queue: evpid=%016" PRIx64 " report: message",
		    e->id);
		return -1;
	}
	if (store_message_create(&msgid, &fd) == -1) {
		log_warn("queue: evpid=%016" PRIx64 " report", e->id);
		close(msgfd);
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL)
		fatal("fdopen");
	r = bounce_write(fp, e, msgfd, kind, env->hostname, time(NULL),
	    (time_t)e->created + env->queue_ttl, dsn_hides_details(e));
	/* The file may be one used before: cut it where the report ends. */
	if (fflush(fp) == EOF || ftruncate(fd, ftello(fp)) == -1)
		r = -1;
	if (fclose(fp) == EOF)
		r = -1;
	close(msgfd);
	if (r == -1) {
		log_warnx("queue: evpid=%016" PRIx64 " report could not be "
		    "written", e->id);
		store_message_abort(msgid);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->id = next_id++;
	d->msgid = msgid;
	d->evpid = e->id;
	d->kind = kind;
	strlcpy(d->sender, e->sender, sizeof(d->sender));
	TAILQ_INSERT_TAIL(&pending, d, entry);
	msg_route_ask_write(d->id, e->sender);
	return 0;
}

/* A recipient failed for good, or ran out of time. */
void
dsn_failed(struct envelope *e)
{
	if (dsn_pending_for(e->id))
		return;
	if (!bounce_wanted(e, BOUNCE_FAILED) ||
	    dsn_start(e, BOUNCE_FAILED) == -1) {
		log_info("queue: evpid=%016" PRIx64 " from=<%s> to=<%s> "
		    "result=failed bounce=no", e->id, e->sender, e->rcpt);
		dsn_drop_envelope(e->id);
	}
}

static void
dsn_delayed(struct envelope *e)
{
	e->warned = 1;
	if (store_envelope_update(e) == -1)
		log_warn("queue: evpid=%016" PRIx64 " update", e->id);
	if (bounce_wanted(e, BOUNCE_DELAYED))
		(void)dsn_start(e, BOUNCE_DELAYED);
}

/*
 * The report is queued, or could not be.  A failure's envelope goes
 * only once its report is queued; if it could not be for now, it stays
 * for the next sweep to try again.
 */
static void
dsn_finish(struct dsn *d, int queued, int again)
{
	struct dsn_deferred	*w;

	log_info("queue: evpid=%016" PRIx64 " to=<%s> result=%s report=%s%s",
	    d->evpid, d->sender, d->kind == BOUNCE_FAILED ? "failed" :
	    "delayed", queued ? "queued" : again ? "deferred" : "lost",
	    queued ? "" : " error=\"report could not be queued\"");
	if (d->kind == BOUNCE_FAILED && !queued && again) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			fatal("calloc");
		w->evpid = d->evpid;
		TAILQ_INSERT_TAIL(&deferred, w, entry);
	} else if (d->kind == BOUNCE_FAILED)
		dsn_drop_envelope(d->evpid);
	TAILQ_REMOVE(&pending, d, entry);
	free(d);
}

/* Lookup says where a report goes: queue it there. */
void
dsn_lookup_reply(struct imsg *imsg)
{
	struct envelope		 envs[DSN_MAX_DESTS];
	struct msg_routes	*r;
	struct dsn		*d;
	char			 text[MSG_ROUTE_TEXT_MAX];
	uint32_t		 status, n, i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	if (msg_routes_read(imsg, r) == -1 || r->n > DSN_MAX_DESTS)
		fatalx("queue: bad routing answer from lookup");
	status = r->status;
	n = r->n;
	strlcpy(text, r->text, sizeof(text));
	memset(envs, 0, sizeof(envs));
	for (i = 0; i < n; i++) {
		strlcpy(envs[i].action, r->d[i].action, sizeof(envs[i].action));
		strlcpy(envs[i].user, r->d[i].user, sizeof(envs[i].user));
		strlcpy(envs[i].target, r->d[i].target,
		    sizeof(envs[i].target));
	}
	free(r);
	if ((d = dsn_find_id(imsg->hdr.peerid)) == NULL || d->committing)
		fatalx("queue: lookup answer for no report");
	if (status != LOOKUP_OK || n == 0) {
		log_warnx("queue: report to <%s> cannot be routed: %s",
		    d->sender, text);
		store_message_abort(d->msgid);
		dsn_finish(d, 0, status == LOOKUP_TEMPFAIL);
		return;
	}
	for (i = 0; i < n; i++) {
		do {
			envs[i].id = ((uint64_t)d->msgid << 32) |
			    arc4random();
		} while ((uint32_t)envs[i].id == 0);
		/* An alias of the sender may send it on elsewhere. */
		strlcpy(envs[i].rcpt, envelope_target_kind(envs[i].target) ==
		    TARGET_ADDRESS ? envs[i].target : d->sender,
		    sizeof(envs[i].rcpt));
		strlcpy(envs[i].helo, env->hostname, sizeof(envs[i].helo));
		strlcpy(envs[i].client, "local", sizeof(envs[i].client));
		envs[i].created = time(NULL);
	}
	d->committing = 1;
	queue_submit(d->msgid, envs, n);
}

void
dsn_committed(uint32_t msgid, int ok)
{
	struct dsn	*d;

	TAILQ_FOREACH(d, &pending, entry)
		if (d->msgid == msgid)
			break;
	if (d == NULL)
		fatalx("queue: commit of an unknown report");
	dsn_finish(d, ok, 1);
}

/* Envelopes due a report, collected first and acted on after the walk. */
struct due {
	uint64_t		 evpid;
	enum bounce_kind	 kind;
};

struct sweep {
	struct due	*due;
	size_t		 n, size;
	time_t		 now;
};

/* e has been in the queue longer than its lifetime: it fails. */
static void
dsn_expire(struct envelope *e)
{
	char	 err[ENVELOPE_ERRMAX];

	strlcpy(err, "delivery time expired", sizeof(err));
	if (e->lasterr[0] != '\0') {
		strlcat(err, ": ", sizeof(err));
		strlcat(err, e->lasterr, sizeof(err));
	}
	strlcpy(e->lasterr, err, sizeof(e->lasterr));
	log_info("queue: evpid=%016" PRIx64 " to=<%s> result=expired",
	    e->id, e->rcpt);
	scheduler_hold(e->id);
	dsn_failed(e);
}

static int
dsn_sweep_one(const struct envelope *e, enum sched_state state,
    time_t next, void *arg)
{
	struct sweep	*sw = arg;
	time_t		 age = sw->now - (time_t)e->created;
	enum bounce_kind kind;

	if (state == SCHED_INFLIGHT || dsn_pending_for(e->id))
		return 0;
	if (age >= env->queue_ttl)
		kind = BOUNCE_FAILED;
	else if (!e->warned && age >= env->bounce_warn &&
	    env->bounce_warn < env->queue_ttl)
		kind = BOUNCE_DELAYED;
	else
		return 0;
	if (sw->n == sw->size) {
		sw->size = sw->size ? sw->size * 2 : 64;
		if ((sw->due = reallocarray(sw->due, sw->size,
		    sizeof(*sw->due))) == NULL)
			fatal("reallocarray");
	}
	sw->due[sw->n].evpid = e->id;
	sw->due[sw->n].kind = kind;
	sw->n++;
	return 0;
}

static struct envelope *
dsn_lookup_envelope(uint64_t evpid)
{
	struct envelope	*e;

	if ((e = scheduler_get(evpid, SCHED_WAITING)) == NULL)
		e = scheduler_get(evpid, SCHED_HELD);
	return e;
}

/* Reports that could not be queued before: written again. */
static void
dsn_retry_deferred(void)
{
	struct dsn_deferred	*w;
	struct envelope		*e;

	while ((w = TAILQ_FIRST(&deferred)) != NULL) {
		TAILQ_REMOVE(&deferred, w, entry);
		/* smtpctl may have removed it meanwhile. */
		if ((e = dsn_lookup_envelope(w->evpid)) != NULL)
			dsn_failed(e);
		free(w);
	}
}

static void
dsn_sweep(int fd, short event, void *arg)
{
	struct sweep	 sw;
	struct envelope	*e;
	struct timeval	 tv;
	size_t		 i;
	int		 interval;

	dsn_retry_deferred();
	memset(&sw, 0, sizeof(sw));
	sw.now = time(NULL);
	scheduler_walk(0, UINT64_MAX, dsn_sweep_one, &sw);
	for (i = 0; i < sw.n; i++) {
		if ((e = dsn_lookup_envelope(sw.due[i].evpid)) == NULL)
			continue;
		if (sw.due[i].kind == BOUNCE_DELAYED) {
			dsn_delayed(e);
			continue;
		}
		dsn_expire(e);
	}
	log_debug("queue: sweep found %zu envelope(s) due a report", sw.n);
	free(sw.due);
	/* Often enough for the shortest of the two times, at most a minute. */
	interval = (env->bounce_warn < env->queue_ttl ? env->bounce_warn :
	    env->queue_ttl) / 10;
	tv.tv_sec = interval < 1 ? 1 : interval > 60 ? 60 : interval;
	tv.tv_usec = 0;
	evtimer_add(&sweep_ev, &tv);
}

/* Sweep now rather than at the next interval. */
void
dsn_sweep_now(void)
{
	struct timeval	 tv = { 0, 0 };

	evtimer_del(&sweep_ev);
	evtimer_add(&sweep_ev, &tv);
}

void
dsn_init(void)
{
	struct timeval	 tv = { 1, 0 };

	evtimer_set(&sweep_ev, dsn_sweep, NULL);
	evtimer_add(&sweep_ev, &tv);
}
