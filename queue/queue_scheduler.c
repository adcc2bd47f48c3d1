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

/*
 * An envelope waiting or held is kept packed (envelope_pack()): a
 * struct envelope is some 3.6 KiB, most of it room no value fills, and
 * thousands may wait for a slow mailbox or host.  It is whole while in
 * flight, and when scheduler_get() asks for it; a whole one that waits
 * again is packed at the next run, so that a pointer the scheduler gave
 * out stays good until then.  Which limit it counts against (kind) and
 * whether the filter lets it run are kept from when they were last
 * worked out, and worked out again when the filter changes.
 */
struct sched_entry {
	RB_ENTRY(sched_entry)	 node;
	uint64_t		 id;
	struct envelope		*evp;		/* whole, or NULL */
	char			*packed;	/* or NULL */
	size_t			 packedlen;
	time_t			 next_try;
	enum sched_state	 state;
	int			 kind;
	int			 may_run;	/* as the filter said */
	unsigned int		 judged;	/* in generation sched_gen */
};

RB_HEAD(sched_tree, sched_entry);
static int
sched_cmp(struct sched_entry *a, struct sched_entry *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}
RB_GENERATE_STATIC(sched_tree, sched_entry, node, sched_cmp);

static struct sched_tree	 entries = RB_INITIALIZER(&entries);
static struct event		 sched_timer;
static void			(*sched_deliver)(struct envelope *);
static int			(*sched_filter)(const struct envelope *);
static int			(*sched_kind)(const struct envelope *);
static unsigned int		 sched_gen = 1;
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

	key.id = id;
	return RB_FIND(sched_tree, &entries, &key);
}

/* The envelope of e into dst, from its packed form. */
static void
sched_unpack(const struct sched_entry *e, struct envelope *dst)
{
	if (envelope_unpack(dst, e->packed, e->packedlen) == -1)
		fatalx("scheduler: envelope %016llx does not unpack",
		    (unsigned long long)e->id);
}

/* The whole envelope of e, unpacked into the entry. */
static struct envelope *
sched_whole(struct sched_entry *e)
{
	if (e->evp != NULL)
		return e->evp;
	if ((e->evp = malloc(sizeof(*e->evp))) == NULL)
		fatal("malloc");
	sched_unpack(e, e->evp);
	free(e->packed);
	e->packed = NULL;
	return e->evp;
}

/* Pack a whole envelope; short of memory, it stays whole. */
static void
sched_pack(struct sched_entry *e)
{
	char	*p;

	if (e->evp == NULL || (p = envelope_pack(e->evp,
	    &e->packedlen)) == NULL)
		return;
	e->packed = p;
	free(e->evp);
	e->evp = NULL;
}

/*
 * The envelope of e to read, without keeping it whole: valid until the
 * next call.
 */
static const struct envelope *
sched_peek(struct sched_entry *e)
{
	static struct envelope	 scratch;

	if (e->evp != NULL)
		return e->evp;
	sched_unpack(e, &scratch);
	return &scratch;
}

/* Work out again what is kept of the kind and the filter of e. */
static void
sched_judge(struct sched_entry *e)
{
	const struct envelope	*evp;

	if (e->judged == sched_gen)
		return;
	evp = sched_peek(e);
	e->kind = sched_kind != NULL ? sched_kind(evp) : 0;
	e->may_run = sched_filter == NULL || sched_filter(evp);
	e->judged = sched_gen;
}

static void
sched_entry_free(struct sched_entry *e)
{
	RB_REMOVE(sched_tree, &entries, e);
	free(e->evp);
	free(e->packed);
	free(e);
}

static void
sched_run(int fd, short event, void *arg)
{
	struct sched_entry	*e;
	struct timeval		 tv = { 1, 0 };
	time_t			 now = time(NULL);
	size_t			 held_back = 0;

	RB_FOREACH(e, sched_tree, &entries) {
		if (e->state == SCHED_INFLIGHT)
			continue;
		sched_pack(e);
		if (e->state != SCHED_WAITING || e->next_try > now)
			continue;
		sched_judge(e);
		if (sched_inflight[e->kind] >= SCHED_MAX_INFLIGHT)
			continue;
		if (!e->may_run) {
			held_back++;
			continue;
		}
		e->state = SCHED_INFLIGHT;
		sched_inflight[e->kind]++;
		sched_deliver(sched_whole(e));
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
	e->id = evp->id;
	/* Packed from the caller's copy; short of memory, kept whole. */
	if ((e->packed = envelope_pack(evp, &e->packedlen)) == NULL) {
		if ((e->evp = malloc(sizeof(*e->evp))) == NULL)
			fatal("malloc");
		*e->evp = *evp;
	}
	e->next_try = 0;
	e->state = SCHED_WAITING;
	RB_INSERT(sched_tree, &entries, e);
	sched_kick();
}

/*
 * The envelope, whole, if it is in that state; the pointer is good
 * until the scheduler runs next or the envelope is done.
 */
struct envelope *
scheduler_get(uint64_t id, enum sched_state state)
{
	struct sched_entry	*e;

	if ((e = sched_find(id)) == NULL || e->state != state)
		return NULL;
	return sched_whole(e);
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
	sched_entry_free(e);
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
	n = sched_peek(e)->tries;
	n = n == 0 ? 0 : n - 1;
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

	key.id = lo;
	for (e = RB_NFIND(sched_tree, &entries, &key);
	    e != NULL && e->id <= hi; e = next) {
		next = RB_NEXT(sched_tree, &entries, e);
		n++;
		if (cb(sched_peek(e), e->state, e->next_try, arg) == -1)
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
	sched_entry_free(e);
	return 0;
}

/* Which limit of in-flight envelopes e counts against: 0 or 1. */
void
scheduler_set_kind(int (*kind)(const struct envelope *))
{
	sched_kind = kind;
	sched_gen++;
}

/*
 * Only envelopes the filter accepts are handed to delivery; the others
 * wait, due or not, until the filter changes (NULL accepts all).
 */
void
scheduler_filter(int (*may_run)(const struct envelope *))
{
	sched_filter = may_run;
	sched_gen++;
	sched_kick();
}
