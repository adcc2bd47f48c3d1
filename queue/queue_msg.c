/*
 * The messages between lookup and the queue about routing: the queue's
 * question for a bounce and lookup's answer, and the envelopes of a
 * session's message and the order to make it; between the queue and
 * the parent about local delivery; and between the queue and the mta
 * about relaying, a transfer and each recipient's result.  Each writer
 * sits beside its reader; readers bound every field and every count,
 * and read a payload exactly.  A result comes from the mta, which
 * talks to hostile servers: its reader trusts no length in it.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "../smtpd/imsg.h"
#include "../smtpd/imsg_types.h"
#include "../smtpd/log.h"
#include "../smtpd/proc.h"
#include "queue_msg.h"

/* The least a recipient of a transfer takes: an id, three empty strings. */
#define MSG_TRANSFER_RCPT_MIN	(8 + 3 * 4)

/* IMSG_QUEUE_LOOKUP_RCPT: the recipient of a bounce, to be routed. */
void
msg_route_ask_write(uint32_t id, const char *rcpt)
{
	struct ibuf	*b;

	b = proc_create(IMSG_QUEUE_LOOKUP_RCPT, id, -1);
	imsg_add_string(b, rcpt);
	proc_close(PROC_LOOKUP, b);
}

int
msg_route_ask_read(struct imsg *imsg, char *rcpt, size_t len)
{
	imsg_get_string(imsg, rcpt, len);
	return imsg_end(imsg);
}

void
msg_routes_write(uint32_t id, const struct msg_routes *r)
{
	struct ibuf	*b;
	uint32_t	 i, n = r->n < MSG_ROUTES_MAX ? r->n : MSG_ROUTES_MAX;

	b = proc_create(IMSG_LOOKUP_QUEUE_RCPT, id, -1);
	imsg_add_u32(b, r->status);
	imsg_add_string(b, r->text);
	imsg_add_u32(b, n);
	for (i = 0; i < n; i++) {
		imsg_add_string(b, r->d[i].action);
		imsg_add_string(b, r->d[i].user);
		imsg_add_string(b, r->d[i].target);
	}
	proc_close(PROC_QUEUE, b);
}

int
msg_routes_read(struct imsg *imsg, struct msg_routes *r)
{
	uint32_t	 i;

	r->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, r->text, sizeof(r->text));
	r->n = imsg_get_u32(imsg);
	if (r->n > MSG_ROUTES_MAX)
		return -1;
	for (i = 0; i < r->n; i++) {
		imsg_get_string(imsg, r->d[i].action, sizeof(r->d[i].action));
		imsg_get_string(imsg, r->d[i].user, sizeof(r->d[i].user));
		imsg_get_string(imsg, r->d[i].target, sizeof(r->d[i].target));
	}
	return imsg_end(imsg);
}

/* IMSG_LOOKUP_QUEUE_ENVELOPE: one envelope, in its text format. */
void
msg_envelope_write(uint32_t id, const char *text)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_QUEUE_ENVELOPE, id, -1);
	imsg_add_string(b, text);
	proc_close(PROC_QUEUE, b);
}

int
msg_envelope_read(struct imsg *imsg, char *text, size_t len)
{
	imsg_get_string(imsg, text, len);
	return imsg_end(imsg);
}

/* IMSG_LOOKUP_QUEUE_CREATE: make the message of the n envelopes sent. */
void
msg_create_write(uint32_t id, uint32_t n)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_QUEUE_CREATE, id, -1);
	imsg_add_u32(b, n);
	proc_close(PROC_QUEUE, b);
}

int
msg_create_read(struct imsg *imsg, uint32_t *n)
{
	*n = imsg_get_u32(imsg);
	return imsg_end(imsg);
}

void
msg_deliver_write(const struct msg_deliver *d, int fd)
{
	struct ibuf	*b;

	b = proc_create(IMSG_QUEUE_PARENT_DELIVER, 0, fd);
	imsg_add_u64(b, d->evpid);
	imsg_add_u64(b, d->created);
	imsg_add_string(b, d->action);
	imsg_add_string(b, d->user);
	imsg_add_string(b, d->target);
	imsg_add_string(b, d->sender);
	imsg_add_string(b, d->rcpt);
	proc_close(PROC_PARENT, b);
}

int
msg_deliver_read(struct imsg *imsg, struct msg_deliver *d)
{
	d->evpid = imsg_get_u64(imsg);
	d->created = imsg_get_u64(imsg);
	imsg_get_string(imsg, d->action, sizeof(d->action));
	imsg_get_string(imsg, d->user, sizeof(d->user));
	imsg_get_string(imsg, d->target, sizeof(d->target));
	imsg_get_string(imsg, d->sender, sizeof(d->sender));
	imsg_get_string(imsg, d->rcpt, sizeof(d->rcpt));
	return imsg_end(imsg);
}

void
msg_delivered_write(const struct msg_delivered *d)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_QUEUE_DELIVERED, 0, -1);
	imsg_add_u64(b, d->evpid);
	imsg_add_u32(b, d->status);
	imsg_add_string(b, d->err);
	proc_close(PROC_QUEUE, b);
}

int
msg_delivered_read(struct imsg *imsg, struct msg_delivered *d)
{
	d->evpid = imsg_get_u64(imsg);
	d->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, d->err, sizeof(d->err));
	return imsg_end(imsg);
}

void
msg_transfer_write(const struct msg_transfer *t, int fd)
{
	struct ibuf	*b;
	uint32_t	 i;

	/* Never cut: a recipient left out would wait for ever. */
	if (t->n == 0 || t->n > MSG_TRANSFER_MAX)
		fatalx("%s: a transfer of %u recipients", __func__, t->n);
	b = proc_create(IMSG_QUEUE_MTA_TRANSFER, 0, fd);
	imsg_add_u32(b, t->msgid);
	imsg_add_string(b, t->action);
	imsg_add_string(b, t->domain);
	imsg_add_string(b, t->sender);
	imsg_add_string(b, t->ret);
	imsg_add_string(b, t->envid);
	imsg_add_u32(b, t->n);
	for (i = 0; i < t->n; i++) {
		imsg_add_u64(b, t->rcpts[i].evpid);
		imsg_add_string(b, t->rcpts[i].rcpt);
		imsg_add_string(b, t->rcpts[i].notify);
		imsg_add_string(b, t->rcpts[i].orcpt);
	}
	proc_close(PROC_MTA, b);
}

/*
 * The count is judged before anything is allocated for it: no more
 * than a transfer may hold, nor than the rest of the payload could.
 * On success t->rcpts is the caller's to free; on failure it is NULL.
 */
int
msg_transfer_read(struct imsg *imsg, struct msg_transfer *t)
{
	uint32_t	 i;

	t->rcpts = NULL;
	t->msgid = imsg_get_u32(imsg);
	imsg_get_string(imsg, t->action, sizeof(t->action));
	imsg_get_string(imsg, t->domain, sizeof(t->domain));
	imsg_get_string(imsg, t->sender, sizeof(t->sender));
	imsg_get_string(imsg, t->ret, sizeof(t->ret));
	imsg_get_string(imsg, t->envid, sizeof(t->envid));
	t->n = imsg_get_u32(imsg);
	if (imsg->error || t->n == 0 || t->n > MSG_TRANSFER_MAX ||
	    t->n > (imsg->len - imsg->rpos) / MSG_TRANSFER_RCPT_MIN)
		return -1;
	if ((t->rcpts = calloc(t->n, sizeof(*t->rcpts))) == NULL)
		fatal("calloc");
	for (i = 0; i < t->n; i++) {
		t->rcpts[i].evpid = imsg_get_u64(imsg);
		imsg_get_string(imsg, t->rcpts[i].rcpt,
		    sizeof(t->rcpts[i].rcpt));
		imsg_get_string(imsg, t->rcpts[i].notify,
		    sizeof(t->rcpts[i].notify));
		imsg_get_string(imsg, t->rcpts[i].orcpt,
		    sizeof(t->rcpts[i].orcpt));
	}
	if (imsg_end(imsg) == -1) {
		free(t->rcpts);
		t->rcpts = NULL;
		return -1;
	}
	return 0;
}

void
msg_result_write(const struct msg_result *r)
{
	struct ibuf	*b;

	b = proc_create(IMSG_MTA_QUEUE_RESULT, 0, -1);
	imsg_add_u64(b, r->evpid);
	imsg_add_u32(b, r->status);
	imsg_add_string(b, r->err);
	imsg_add_string(b, r->remote);
	proc_close(PROC_QUEUE, b);
}

/*
 * Only the layout is checked here; whether the envelope is one the
 * queue handed the mta, and the status one it knows, is for the queue.
 */
int
msg_result_read(struct imsg *imsg, struct msg_result *r)
{
	r->evpid = imsg_get_u64(imsg);
	r->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, r->err, sizeof(r->err));
	imsg_get_string(imsg, r->remote, sizeof(r->remote));
	return imsg_end(imsg);
}

/* IMSG_LOOKUP_QUEUE_CLOSE: a session is over; no payload. */
void
msg_close_write(uint32_t id)
{
	proc_close(PROC_QUEUE, proc_create(IMSG_LOOKUP_QUEUE_CLOSE, id, -1));
}

int
msg_close_read(struct imsg *imsg)
{
	return imsg_end(imsg);
}
