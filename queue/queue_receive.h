/*
 * Private to the queue process: receiving and committing messages
 * (queue_receive.c).
 */
#ifndef QUEUE_RECEIVE_H
#define QUEUE_RECEIVE_H

struct imsg;

void	receive_init(void);
void	receive_envelope(struct imsg *);	/* from lookup */
void	receive_create(struct imsg *);		/* from lookup */
void	receive_close(struct imsg *);		/* from lookup */
void	receive_commit(struct imsg *);		/* from smtp */
void	receive_rollback(struct imsg *);	/* from smtp */

#endif
