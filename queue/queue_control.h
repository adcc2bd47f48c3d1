/* smtpctl's requests to the queue process (queue_control.c). */
#ifndef QUEUE_CONTROL_H
#define QUEUE_CONTROL_H

struct imsg;

/* 0 when handled, -1 for a type the queue does not take from control. */
int	queue_control_dispatch(struct imsg *);

#endif
