/* Envelopes for other hosts, handed to the mta (queue_relay.c). */
#ifndef QUEUE_RELAY_H
#define QUEUE_RELAY_H

struct envelope;
struct imsg;

void	relay_init(void);
void	relay_deliver(struct envelope *, int);
void	relay_result(struct imsg *);

#endif
