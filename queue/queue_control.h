/* smtpctl's requests to the queue process (queue_control.c). */
#ifndef QUEUE_CONTROL_H
#define QUEUE_CONTROL_H

#include <stdint.h>

struct imsg;

/* 0 when handled, -1 for a type the queue does not take from control. */
int	queue_control_dispatch(struct imsg *);

/* A delivery came back with this DELIVERY_* status: counted for stats. */
void	queue_control_delivered(uint32_t);

#endif
