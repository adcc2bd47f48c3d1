/*
 * The scheduler: which envelope is tried when.  Each envelope waits for
 * its next try; a temporary failure pushes that back along a fixed
 * schedule.  The scheduler only decides; queue_process.c does the I/O.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"
#include "queue_scheduler.h"
#include "../smtpd/log.h"

struct sched_entry {
	RB_ENTRY(sched_entry)	 node;
	struct envelope		 evp;
	time_t			 next_try;
	enum sched_state	 state;
	int			 kind;		/* while in flight */
};

RB_HEAD(sched_tree, sched_entry);
static int
sched_cmp(struct sched_entry *a, struct sched_entry *b)
{
	return a->evp.id < b->evp.id ? -1 : a->evp.id > b->evp.id;
}
RB_GENERATE_STATIC(sched_tree, sched_entry, node, sched_cmp);

static struct sched_tree	 entries = RB_INITIALIZER(&entries);
static struct event		 sched_timer;
static void			(*sched_deliver)(struct envelope *);
static int			(*sched_filter)(const struct envelope *);
static int			(*sched_kind)(const struct envelope *);
/*
 * In flight by kind, each kind with its own limit: mail waiting on a
 * slow remote host never holds up local delivery.
 */
static size_t			 sched_inflight[SCHED_KINDS];

/* Seconds to wait after the n-th temporary failure. */
static int		 retry_delays[16] = { 60, 300, 900, 1800, 3600 };
static int		 nretry_delays = 5;

static struct sched_entry *
sched_find(uint64_t id)
{
	struct sched_entry	 key;

	key.evp.id = id;
	return RB_FIND(sched_tree, &entries, &key);
}

static void
sched_run(int fd, short event, void *arg)
{
	struct sched_entry	*e;
	struct timeval		 tv = { 1, 0 };
	time_t			 now = time(NULL);
	size_t			 held_back = 0;
	int			 kind;

	RB_FOREACH(e, sched_tree, &entries) {
		if (e->state != SCHED_WAITING || e->next_try > now)
			continue;
		kind = sched_kind != NULL ? sched_kind(&e->evp) : 0;
		if (sched_inflight[kind] >= SCHED_MAX_INFLIGHT)
			continue;
		if (sched_filter != NULL && !sched_filter(&e->evp)) {
			held_back++;
			continue;
		}
		e->state = SCHED_INFLIGHT;
		e->kind = kind;
		sched_inflight[kind]++;
		sched_deliver(&e->evp);
	}
	if (held_back > 0)
		log_debug("scheduler: %zu due envelope(s) held back by a pause",
		    held_back);
	evtimer_add(&sched_timer, &tv);
}

/* Seconds to wait after the 1st, 2nd, ... failure; the last repeats. */
void
scheduler_set_retry(const int *delays, int n)
{
	int	 i;

	if (n < 1 || (size_t)n > sizeof(retry_delays) / sizeof(retry_delays[0]))
		fatalx("scheduler: %d retry delays", n);
	for (i = 0; i < n; i++)
		retry_delays[i] = delays[i];
	nretry_delays = n;
}

void
scheduler_init(void (*deliver)(struct envelope *))
{
	struct timeval	 tv = { 1, 0 };

	sched_deliver = deliver;
	evtimer_set(&sched_timer, sched_run, NULL);
	evtimer_add(&sched_timer, &tv);
}

/* Run soon rather than at the next tick. */
static void
sched_kick(void)
{
	struct timeval	 tv = { 0, 0 };

	evtimer_del(&sched_timer);
	evtimer_add(&sched_timer, &tv);
}

void
scheduler_insert(const struct envelope *evp)
{
	struct sched_entry	*e;

	if (sched_find(evp->id) != NULL)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("calloc");
	e->evp = *evp;
	e->next_try = 0;
	e->state = SCHED_WAITING;
	RB_INSERT(sched_tree, &entries, e);
	sched_kick();
}

struct envelope *
scheduler_get(uint64_t id, enum sched_state state)
{
	struct sched_entry	*e;

	if ((e = sched_find(id)) == NULL || e->state != state)
		return NULL;
	return &e->evp;
}

void
scheduler_done(uint64_t id)
{
	struct sched_entry	*e;

	if ((e = sched_find(id)) == NULL)
		fatalx("scheduler: unknown envelope %016llx",
		    (unsigned long long)id);
	if (e->state == SCHED_INFLIGHT)
		sched_inflight[e->kind]--;
	RB_REMOVE(sched_tree, &entries, e);
	free(e);
	sched_kick();
}

time_t
scheduler_retry(uint64_t id)
{
	struct sched_entry	*e;
	size_t			 n;

	if ((e = sched_find(id)) == NULL)
		fatalx("scheduler: unknown envelope %016llx",
		    (unsigned long long)id);
	if (e->state == SCHED_INFLIGHT)
		sched_inflight[e->kind]--;
	n = e->evp.tries == 0 ? 0 : e->evp.tries - 1;
	if (n >= (size_t)nretry_delays)
		n = nretry_delays - 1;
	e->next_try = time(NULL) + retry_delays[n];
	e->state = SCHED_WAITING;
	sched_kick();
	return e->next_try;
}

/* Kept, never tried again without an admin: bounces are not sent yet. */
void
scheduler_hold(uint64_t id)
{
	struct sched_entry	*e;

	if ((e = sched_find(id)) == NULL)
		fatalx("scheduler: unknown envelope %016llx",
		    (unsigned long long)id);
	if (e->state == SCHED_INFLIGHT)
		sched_inflight[e->kind]--;
	e->state = SCHED_HELD;
	sched_kick();
}

/*
 * Call cb for each envelope whose id is within [lo, hi], in id order,
 * until it returns -1.  The next entry is found before cb runs, so cb
 * may remove the one it is given.  Returns how many cb was called for.
 */
int
scheduler_walk(uint64_t lo, uint64_t hi, int (*cb)(const struct envelope *,
    enum sched_state, time_t, void *), void *arg)
{
	struct sched_entry	 key, *e, *next;
	int			 n = 0;

	key.evp.id = lo;
	for (e = RB_NFIND(sched_tree, &entries, &key);
	    e != NULL && e->evp.id <= hi; e = next) {
		next = RB_NEXT(sched_tree, &entries, e);
		n++;
		if (cb(&e->evp, e->state, e->next_try, arg) == -1)
			break;
	}
	return n;
}

/*
 * Make a waiting or held envelope due now.  One in flight is being
 * tried already: -1.
 */
int
scheduler_schedule(uint64_t id)
{
	struct sched_entry	*e;

	if ((e = sched_find(id)) == NULL || e->state == SCHED_INFLIGHT)
		return -1;
	e->state = SCHED_WAITING;
	e->next_try = 0;
	sched_kick();
	return 0;
}

/*
 * Forget an envelope the admin removed.  One in flight is refused:
 * its delivery's result must find it.
 */
int
scheduler_remove(uint64_t id)
{
	struct sched_entry	*e;

	if ((e = sched_find(id)) == NULL || e->state == SCHED_INFLIGHT)
		return -1;
	RB_REMOVE(sched_tree, &entries, e);
	free(e);
	return 0;
}

/* Which limit of in-flight envelopes e counts against: 0 or 1. */
void
scheduler_set_kind(int (*kind)(const struct envelope *))
{
	sched_kind = kind;
}

/*
 * Only envelopes the filter accepts are handed to delivery; the others
 * wait, due or not, until the filter changes (NULL accepts all).
 */
void
scheduler_filter(int (*may_run)(const struct envelope *))
{
	sched_filter = may_run;
	sched_kick();
}
