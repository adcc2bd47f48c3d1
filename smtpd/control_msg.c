/*
 * The control messages: smtpctl's requests, as a client writes them and
 * as control passes them on, and the answers the processes give back
 * through control.  Each writer sits beside its reader, so that smtpctl,
 * control and the processes behind it cannot disagree on a layout.
 *
 * Readers trust no one: smtpctl is run by local users, and control
 * passes on what they send.  Every string is bounded by its field and
 * holds no NUL, every number is one its writer may write, a payload
 * must be read exactly, and a descriptor comes only where one belongs.
 */
#include <sys/types.h>

#include <string.h>

#include "imsg.h"
#include "imsg_types.h"
#include "control_msg.h"

/* A reader's verdict on a field it read whole but cannot take. */
static int
msg_ctl_refuse(struct imsg *imsg)
{
	imsg->error = 1;
	return -1;
}

/* The end of a message that carries no descriptor. */
static int
msg_ctl_end(struct imsg *imsg)
{
	if (imsg_end(imsg) == -1)
		return -1;
	if (imsg->fd != -1 || (imsg->hdr.flags & IMSGF_HASFD))
		return msg_ctl_refuse(imsg);
	return 0;
}

/*
 * IMSG_CTL_STOP, _RELOAD, _SHOW_QUEUE, _SHOW_HOSTS and _SHOW_STATS
 * (type): a request that names nothing.
 */
struct ibuf *
msg_ctl_request_write(uint32_t type, uint32_t id)
{
	return imsg_create(type, id, -1);
}

int
msg_ctl_request_read(struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CTL_STOP:
	case IMSG_CTL_RELOAD:
	case IMSG_CTL_SHOW_QUEUE:
	case IMSG_CTL_SHOW_HOSTS:
	case IMSG_CTL_SHOW_STATS:
		return msg_ctl_end(imsg);
	}
	return msg_ctl_refuse(imsg);
}

struct ibuf *
msg_ctl_target_write(uint32_t type, uint32_t id,
    const struct msg_ctl_target *t)
{
	struct ibuf	*b;

	b = imsg_create(type, id, -1);
	imsg_add_u32(b, t->kind);
	imsg_add_u64(b, t->id);
	return b;
}

/*
 * Show envelope names one envelope, show message one message or one
 * of its envelopes; schedule and remove also all, with id 0.
 */
int
msg_ctl_target_read(struct imsg *imsg, struct msg_ctl_target *t)
{
	uint32_t	 type = imsg->hdr.type;

	t->kind = imsg_get_u32(imsg);
	t->id = imsg_get_u64(imsg);
	if (msg_ctl_end(imsg) == -1)
		return -1;
	if (type != IMSG_CTL_SHOW_ENVELOPE && type != IMSG_CTL_SHOW_MESSAGE &&
	    type != IMSG_CTL_SCHEDULE && type != IMSG_CTL_REMOVE)
		return msg_ctl_refuse(imsg);
	switch (t->kind) {
	case CTL_TARGET_ALL:
		if (type == IMSG_CTL_SHOW_ENVELOPE ||
		    type == IMSG_CTL_SHOW_MESSAGE || t->id != 0)
			return msg_ctl_refuse(imsg);
		return 0;
	case CTL_TARGET_MESSAGE:
		if (type == IMSG_CTL_SHOW_ENVELOPE || t->id > UINT32_MAX)
			return msg_ctl_refuse(imsg);
		return 0;
	case CTL_TARGET_ENVELOPE:
		return 0;
	}
	return msg_ctl_refuse(imsg);
}

/* IMSG_CTL_PAUSE or _RESUME (type): what, one of CTL_PAUSE_*. */
struct ibuf *
msg_ctl_pause_write(uint32_t type, uint32_t id, uint32_t what)
{
	struct ibuf	*b;

	b = imsg_create(type, id, -1);
	imsg_add_u32(b, what);
	return b;
}

int
msg_ctl_pause_read(struct imsg *imsg, uint32_t *what)
{
	*what = imsg_get_u32(imsg);
	if (msg_ctl_end(imsg) == -1)
		return -1;
	if (imsg->hdr.type != IMSG_CTL_PAUSE &&
	    imsg->hdr.type != IMSG_CTL_RESUME)
		return msg_ctl_refuse(imsg);
	if (*what != CTL_PAUSE_MDA && *what != CTL_PAUSE_MTA &&
	    *what != CTL_PAUSE_SMTP)
		return msg_ctl_refuse(imsg);
	return 0;
}

/*
 * IMSG_CTL_VERBOSE: 1 to log debug lines, 0 not to; from smtpctl to
 * control, to the parent, and from the parent to every child.
 */
struct ibuf *
msg_ctl_verbose_write(uint32_t v)
{
	struct ibuf	*b;

	b = imsg_create(IMSG_CTL_VERBOSE, 0, -1);
	imsg_add_u32(b, v);
	return b;
}

int
msg_ctl_verbose_read(struct imsg *imsg, uint32_t *v)
{
	*v = imsg_get_u32(imsg);
	if (msg_ctl_end(imsg) == -1)
		return -1;
	if (*v > 1)
		return msg_ctl_refuse(imsg);
	return 0;
}

/* IMSG_CTL_UPDATE_TABLE: the name of the table to read again. */
struct ibuf *
msg_ctl_table_write(uint32_t id, const char *name)
{
	struct ibuf	*b;

	b = imsg_create(IMSG_CTL_UPDATE_TABLE, id, -1);
	imsg_add_string(b, name);
	return b;
}

/* name has room for CTL_TABLE_MAX bytes, or fewer if len says so. */
int
msg_ctl_table_read(struct imsg *imsg, char *name, size_t len)
{
	if (len > CTL_TABLE_MAX)
		len = CTL_TABLE_MAX;
	imsg_get_string(imsg, name, len);
	return msg_ctl_end(imsg);
}

/*
 * IMSG_CTL_LINE, _END, _OK or _FAIL (type): a line of text for the
 * admin, cut to what a reader takes; OK alone may carry a descriptor
 * (the message file of show message).
 */
struct ibuf *
msg_ctl_answer_write(uint32_t type, uint32_t id, int fd, const char *text)
{
	struct ibuf	*b;
	size_t		 len = strnlen(text, CTL_LINE_MAX - 1);

	b = imsg_create(type, id, fd);
	imsg_add_u32(b, (uint32_t)len);
	imsg_add_data(b, text, len);
	return b;
}

int
msg_ctl_answer_read(struct imsg *imsg, char *text, size_t len)
{
	if (len > CTL_LINE_MAX)
		len = CTL_LINE_MAX;
	imsg_get_string(imsg, text, len);
	switch (imsg->hdr.type) {
	case IMSG_CTL_OK:
		return imsg_end(imsg);
	case IMSG_CTL_LINE:
	case IMSG_CTL_END:
	case IMSG_CTL_FAIL:
		return msg_ctl_end(imsg);
	}
	return msg_ctl_refuse(imsg);
}

/* From the parent to control, with the socket smtpctl connects to. */
struct ibuf *
msg_ctl_socket_write(int fd, const struct msg_ctl_socket *s)
{
	struct ibuf	*b;

	b = imsg_create(IMSG_PARENT_CONTROL_SOCKET, 0, fd);
	imsg_add_u32(b, s->owner);
	imsg_add_u32(b, s->group);
	return b;
}

int
msg_ctl_socket_read(struct imsg *imsg, struct msg_ctl_socket *s)
{
	s->owner = imsg_get_u32(imsg);
	s->group = imsg_get_u32(imsg);
	if (imsg_end(imsg) == -1)
		return -1;
	if (imsg->fd == -1)
		return msg_ctl_refuse(imsg);
	return 0;
}
