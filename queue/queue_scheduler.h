/* The scheduler, private to the queue process. */
#ifndef QUEUE_SCHEDULER_H
#define QUEUE_SCHEDULER_H

#include <time.h>

#define SCHED_MAX_INFLIGHT	64	/* of each kind */
#define SCHED_KINDS		2	/* local delivery, relaying */

enum sched_state {
	SCHED_WAITING,
	SCHED_INFLIGHT,
	SCHED_HELD,
};

struct envelope;

void		 scheduler_init(void (*)(struct envelope *));
void		 scheduler_set_retry(const int *, int);
void		 scheduler_insert(const struct envelope *);
struct envelope	*scheduler_get(uint64_t, enum sched_state);
void		 scheduler_done(uint64_t);
time_t		 scheduler_retry(uint64_t);
void		 scheduler_hold(uint64_t);

/* For smtpctl (queue_control.c). */
int		 scheduler_walk(uint64_t, uint64_t,
		    int (*)(const struct envelope *, enum sched_state, time_t,
		    void *), void *);
int		 scheduler_schedule(uint64_t);
int		 scheduler_remove(uint64_t);
void		 scheduler_filter(int (*)(const struct envelope *));
void		 scheduler_set_kind(int (*)(const struct envelope *));

#endif
