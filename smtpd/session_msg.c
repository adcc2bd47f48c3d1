/*
 * The messages between the listener and lookup about a session, and
 * those around it (lookup and auth, the listener and the queue, the
 * parent handing the listener its sockets): each writer beside its
 * reader, so that the two ends cannot disagree on a layout.  The
 * listener writes the requests and reads the answers; lookup the other
 * way round.  Readers trust nothing: every string is bounded by its
 * field and a payload must be read exactly.
 */
#include <sys/types.h>

#include <string.h>

#include "imsg.h"
#include "imsg_types.h"
#include "proc.h"
#include "session_msg.h"

void
msg_mail_write(uint32_t id, const struct msg_mail *m)
{
	struct ibuf	*b;

	b = proc_create(IMSG_SMTP_LOOKUP_MAIL, id, -1);
	imsg_add_string(b, m->sender);
	imsg_add_string(b, m->helo);
	imsg_add_string(b, m->ret);
	imsg_add_string(b, m->envid);
	proc_close(PROC_LOOKUP, b);
}

int
msg_mail_read(struct imsg *imsg, struct msg_mail *m)
{
	imsg_get_string(imsg, m->sender, sizeof(m->sender));
	imsg_get_string(imsg, m->helo, sizeof(m->helo));
	imsg_get_string(imsg, m->ret, sizeof(m->ret));
	imsg_get_string(imsg, m->envid, sizeof(m->envid));
	return imsg_end(imsg);
}

void
msg_rcpt_write(uint32_t id, const struct msg_rcpt *r)
{
	struct ibuf	*b;

	b = proc_create(IMSG_SMTP_LOOKUP_RCPT, id, -1);
	imsg_add_string(b, r->rcpt);
	imsg_add_string(b, r->notify);
	imsg_add_string(b, r->orcpt);
	proc_close(PROC_LOOKUP, b);
}

int
msg_rcpt_read(struct imsg *imsg, struct msg_rcpt *r)
{
	imsg_get_string(imsg, r->rcpt, sizeof(r->rcpt));
	imsg_get_string(imsg, r->notify, sizeof(r->notify));
	imsg_get_string(imsg, r->orcpt, sizeof(r->orcpt));
	return imsg_end(imsg);
}

void
msg_auth_write(uint32_t id, const char *user, const char *password)
{
	struct ibuf	*b;

	b = proc_create(IMSG_SMTP_LOOKUP_AUTH, id, -1);
	imsg_add_string(b, user);
	imsg_add_string(b, password);
	proc_close(PROC_LOOKUP, b);
}

/* The password is wiped from the message once copied. */
int
msg_auth_read(struct imsg *imsg, struct msg_auth *a)
{
	imsg_get_string(imsg, a->user, sizeof(a->user));
	imsg_get_string(imsg, a->password, sizeof(a->password));
	/* imsg_free() does not promise to wipe what it frees. */
	explicit_bzero(imsg->data, imsg->len);
	return imsg_end(imsg);
}

/* IMSG_SMTP_LOOKUP_VRFY or _EXPN (type): the name asked about. */
void
msg_name_write(uint32_t type, uint32_t id, const char *name)
{
	struct ibuf	*b;

	b = proc_create(type, id, -1);
	imsg_add_string(b, name);
	proc_close(PROC_LOOKUP, b);
}

int
msg_name_read(struct imsg *imsg, char *name, size_t len)
{
	imsg_get_string(imsg, name, len);
	return imsg_end(imsg);
}

void
msg_answer_write(uint32_t type, uint32_t id, const struct msg_answer *a)
{
	struct ibuf	*b;

	b = proc_create(type, id, -1);
	imsg_add_u32(b, a->status);
	imsg_add_string(b, a->text);
	if (type == IMSG_LOOKUP_SMTP_CONNECT)
		imsg_add_string(b, a->rdns);
	proc_close(PROC_SMTP, b);
}

int
msg_answer_read(struct imsg *imsg, struct msg_answer *a)
{
	a->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, a->text, sizeof(a->text));
	a->rdns[0] = '\0';
	if (imsg->hdr.type == IMSG_LOOKUP_SMTP_CONNECT)
		imsg_get_string(imsg, a->rdns, sizeof(a->rdns));
	return imsg_end(imsg);
}

/* IMSG_LOOKUP_SMTP_VRFY or _EXPN (type). */
void
msg_users_write(uint32_t type, uint32_t id, const struct msg_users *u)
{
	struct ibuf	*b;
	uint32_t	 i;

	b = proc_create(type, id, -1);
	imsg_add_u32(b, u->n < MSG_USERS_MAX ? u->n : MSG_USERS_MAX);
	for (i = 0; i < u->n && i < MSG_USERS_MAX; i++)
		imsg_add_string(b, u->name[i]);
	proc_close(PROC_SMTP, b);
}

int
msg_users_read(struct imsg *imsg, struct msg_users *u)
{
	uint32_t	 i;

	u->n = imsg_get_u32(imsg);
	if (u->n > MSG_USERS_MAX)
		return -1;
	for (i = 0; i < u->n; i++)
		imsg_get_string(imsg, u->name[i], sizeof(u->name[i]));
	return imsg_end(imsg);
}

void
msg_login_write(uint32_t id, const struct msg_login *l)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_SMTP_AUTH, id, -1);
	imsg_add_u32(b, l->status);
	imsg_add_string(b, l->user);
	proc_close(PROC_SMTP, b);
}

int
msg_login_read(struct imsg *imsg, struct msg_login *l)
{
	l->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, l->user, sizeof(l->user));
	return imsg_end(imsg);
}

void
msg_check_write(uint32_t id, const struct msg_check *c)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_AUTH_CHECK, id, -1);
	imsg_add_string(b, c->table);
	imsg_add_string(b, c->addr);
	imsg_add_string(b, c->user);
	imsg_add_string(b, c->password);
	proc_close(PROC_AUTH, b);
}

/* The password is wiped from the message once copied. */
int
msg_check_read(struct imsg *imsg, struct msg_check *c)
{
	imsg_get_string(imsg, c->table, sizeof(c->table));
	imsg_get_string(imsg, c->addr, sizeof(c->addr));
	imsg_get_string(imsg, c->user, sizeof(c->user));
	imsg_get_string(imsg, c->password, sizeof(c->password));
	explicit_bzero(imsg->data, imsg->len);
	return imsg_end(imsg);
}

void
msg_verdict_write(uint32_t id, const struct msg_verdict *v)
{
	struct ibuf	*b;

	b = proc_create(IMSG_AUTH_LOOKUP_RESULT, id, -1);
	imsg_add_u32(b, v->status);
	imsg_add_string(b, v->table);
	imsg_add_string(b, v->user);
	proc_close(PROC_LOOKUP, b);
}

int
msg_verdict_read(struct imsg *imsg, struct msg_verdict *v)
{
	v->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, v->table, sizeof(v->table));
	imsg_get_string(imsg, v->user, sizeof(v->user));
	return imsg_end(imsg);
}

void
msg_commit_write(uint32_t id, const struct msg_commit *c)
{
	struct ibuf	*b;

	b = proc_create(IMSG_SMTP_QUEUE_COMMIT, id, -1);
	imsg_add_u32(b, c->msgid);
	imsg_add_u64(b, c->size);
	proc_close(PROC_QUEUE, b);
}

int
msg_commit_read(struct imsg *imsg, struct msg_commit *c)
{
	c->msgid = imsg_get_u32(imsg);
	c->size = imsg_get_u64(imsg);
	return imsg_end(imsg);
}

/* IMSG_SMTP_QUEUE_ROLLBACK: the message of a transaction that ended. */
void
msg_rollback_write(uint32_t id, uint32_t msgid)
{
	struct ibuf	*b;

	b = proc_create(IMSG_SMTP_QUEUE_ROLLBACK, id, -1);
	imsg_add_u32(b, msgid);
	proc_close(PROC_QUEUE, b);
}

int
msg_rollback_read(struct imsg *imsg, uint32_t *msgid)
{
	*msgid = imsg_get_u32(imsg);
	return imsg_end(imsg);
}

void
msg_stored_write(uint32_t type, uint32_t id, const struct msg_stored *s,
    int fd)
{
	struct ibuf	*b;

	b = proc_create(type, id, fd);
	imsg_add_u32(b, s->status);
	imsg_add_u32(b, s->msgid);
	proc_close(PROC_SMTP, b);
}

int
msg_stored_read(struct imsg *imsg, struct msg_stored *s)
{
	s->status = imsg_get_u32(imsg);
	s->msgid = imsg_get_u32(imsg);
	return imsg_end(imsg);
}

/*
 * IMSG_PARENT_LISTENER, with a listening socket: the index of its
 * listener in the configuration the parent sends with it.
 */
void
msg_listener_write(uint32_t index, int fd)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_LISTENER, 0, fd);
	imsg_add_u32(b, index);
	proc_close(PROC_SMTP, b);
}

int
msg_listener_read(struct imsg *imsg, uint32_t *index)
{
	*index = imsg_get_u32(imsg);
	return imsg_end(imsg);
}

/*
 * IMSG_SMTP_LOOKUP_CONNECT (with a copy of the client's socket), _DATA,
 * _TLS and _CLOSE: no payload; lookup takes them with proc_valid(),
 * which refuses any byte and a descriptor where none belongs.
 */
void
msg_session_write(uint32_t type, uint32_t id, int fd)
{
	proc_close(PROC_LOOKUP, proc_create(type, id, fd));
}

void
msg_local_write(uint32_t id, const struct msg_local *l)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_SMTP_LOCAL, id, -1);
	imsg_add_string(b, l->user);
	imsg_add_u32(b, l->uid);
	proc_close(PROC_SMTP, b);
}

int
msg_local_read(struct imsg *imsg, struct msg_local *l)
{
	imsg_get_string(imsg, l->user, sizeof(l->user));
	l->uid = imsg_get_u32(imsg);
	return imsg_end(imsg);
}

/*
 * IMSG_LOOKUP_SMTP_WARN: "<sender>" when a local user's sender is not
 * the user's own and the message is to say so, "" when it is.
 */
void
msg_warn_write(uint32_t id, const char *text)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_SMTP_WARN, id, -1);
	imsg_add_string(b, text);
	proc_close(PROC_SMTP, b);
}

int
msg_warn_read(struct imsg *imsg, char *text, size_t len)
{
	imsg_get_string(imsg, text, len);
	return imsg_end(imsg);
}

/* IMSG_PARENT_LISTENERS_DONE: every socket of a generation was sent. */
void
msg_listeners_done_write(void)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_LISTENERS_DONE, 0, -1);
	proc_close(PROC_SMTP, b);
}

int
msg_listeners_done_read(struct imsg *imsg)
{
	return imsg_end(imsg);
}
