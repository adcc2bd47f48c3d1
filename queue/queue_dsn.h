/* Bounces and delay notices in the queue process (queue_dsn.c). */
#ifndef QUEUE_DSN_H
#define QUEUE_DSN_H

#include <stdint.h>

struct envelope;
struct imsg;

void	dsn_init(void);
void	dsn_failed(struct envelope *);
void	dsn_sweep_now(void);
void	dsn_lookup_reply(struct imsg *);
void	dsn_committed(uint32_t, int);

/* queue_process.c */
void	queue_submit(uint32_t, const struct envelope *, size_t);
void	queue_removed(void);

#endif
