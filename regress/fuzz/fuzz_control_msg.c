/*
 * libFuzzer target: the readers of smtpctl's requests and their answers
 * (smtpd/control_msg.c).  The first byte picks a reader (its low seven
 * bits) and whether a descriptor came along (its high bit); the rest is
 * the payload.  Whatever a reader accepts must be written back by its
 * writer as the very same message: type, descriptor and payload byte
 * for byte.  Every string read is bounded and NUL-terminated.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/imsg.h"
#include "smtpd/imsg_types.h"
#include "smtpd/control_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stands for a descriptor: never closed, as the writers only carry it. */
#define FAKE_FD	0

static const uint32_t	 types[] = {
	IMSG_CTL_STOP, IMSG_CTL_RELOAD, IMSG_CTL_SHOW_QUEUE,
	IMSG_CTL_SHOW_HOSTS, IMSG_CTL_SHOW_STATS, IMSG_CTL_SHOW_ENVELOPE,
	IMSG_CTL_SHOW_MESSAGE, IMSG_CTL_SCHEDULE, IMSG_CTL_REMOVE,
	IMSG_CTL_PAUSE, IMSG_CTL_RESUME, IMSG_CTL_VERBOSE,
	IMSG_CTL_UPDATE_TABLE, IMSG_CTL_LINE, IMSG_CTL_END, IMSG_CTL_OK,
	IMSG_CTL_FAIL, IMSG_PARENT_CONTROL_SOCKET,
	/* A reader given the wrong type must refuse it. */
	IMSG_NONE
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

/* A string a reader returned: NUL-terminated within its buffer. */
static void
bounded(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsg		 imsg;
	struct msg_ctl_target	 t;
	struct msg_ctl_socket	 s;
	struct imsg_hdr		 hdr;
	struct ibuf		*b = NULL;
	static char		 text[CTL_LINE_MAX];
	char			 name[CTL_TABLE_MAX];
	uint8_t			*payload;
	uint32_t		 type, v;
	int			 fd, rc = -1, which;

	if (size < 1 || size > IMSG_MAXPAYLOAD)
		return 0;
	type = types[(data[0] & 0x7f) % NTYPES];
	fd = (data[0] & 0x80) ? FAKE_FD : -1;
	if ((payload = malloc(size)) == NULL)
		abort();
	memcpy(payload, data + 1, size - 1);
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.hdr.peerid = 7;
	imsg.hdr.flags = fd != -1 ? IMSGF_HASFD : 0;
	imsg.fd = fd;
	imsg.data = payload;
	imsg.len = size - 1;

	/* IMSG_NONE tries each reader in turn, by the payload's length. */
	which = type == IMSG_NONE ? (int)(size % 7) : -1;
	switch (type) {
	case IMSG_NONE:
		if (which == 0)
			rc = msg_ctl_request_read(&imsg);
		else if (which == 1)
			rc = msg_ctl_target_read(&imsg, &t);
		else if (which == 2)
			rc = msg_ctl_pause_read(&imsg, &v);
		else if (which == 3)
			rc = msg_ctl_answer_read(&imsg, text, sizeof(text));
		else
			rc = -1;
		if (rc == 0)
			abort();
		break;
	case IMSG_CTL_STOP:
	case IMSG_CTL_RELOAD:
	case IMSG_CTL_SHOW_QUEUE:
	case IMSG_CTL_SHOW_HOSTS:
	case IMSG_CTL_SHOW_STATS:
		if ((rc = msg_ctl_request_read(&imsg)) == 0)
			b = msg_ctl_request_write(type, 7);
		break;
	case IMSG_CTL_SHOW_ENVELOPE:
	case IMSG_CTL_SHOW_MESSAGE:
	case IMSG_CTL_SCHEDULE:
	case IMSG_CTL_REMOVE:
		if ((rc = msg_ctl_target_read(&imsg, &t)) == 0) {
			/* What the queue takes as a range. */
			if (t.kind == CTL_TARGET_MESSAGE && t.id > UINT32_MAX)
				abort();
			if (t.kind == CTL_TARGET_ALL && (t.id != 0 ||
			    type == IMSG_CTL_SHOW_ENVELOPE ||
			    type == IMSG_CTL_SHOW_MESSAGE))
				abort();
			b = msg_ctl_target_write(type, 7, &t);
		}
		break;
	case IMSG_CTL_PAUSE:
	case IMSG_CTL_RESUME:
		if ((rc = msg_ctl_pause_read(&imsg, &v)) == 0) {
			if (v != CTL_PAUSE_MDA && v != CTL_PAUSE_MTA &&
			    v != CTL_PAUSE_SMTP)
				abort();
			b = msg_ctl_pause_write(type, 7, v);
		}
		break;
	case IMSG_CTL_VERBOSE:
		if ((rc = msg_ctl_verbose_read(&imsg, &v)) == 0) {
			imsg.hdr.peerid = 0;
			b = msg_ctl_verbose_write(v);
		}
		break;
	case IMSG_CTL_UPDATE_TABLE:
		if ((rc = msg_ctl_table_read(&imsg, name, sizeof(name))) == 0) {
			bounded(name, sizeof(name));
			b = msg_ctl_table_write(7, name);
		}
		break;
	case IMSG_CTL_LINE:
	case IMSG_CTL_END:
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		if ((rc = msg_ctl_answer_read(&imsg, text, sizeof(text))) ==
		    0) {
			bounded(text, sizeof(text));
			if (fd != -1 && type != IMSG_CTL_OK)
				abort();
			b = msg_ctl_answer_write(type, 7, fd, text);
		}
		break;
	case IMSG_PARENT_CONTROL_SOCKET:
		if ((rc = msg_ctl_socket_read(&imsg, &s)) == 0) {
			if (fd == -1)
				abort();
			imsg.hdr.peerid = 0;
			b = msg_ctl_socket_write(fd, &s);
		}
		break;
	}
	if (rc == 0) {
		if (b == NULL || b->error || b->len < IMSG_HDRSIZE)
			abort();
		memcpy(&hdr, b->buf, sizeof(hdr));
		if (hdr.type != type || hdr.peerid != imsg.hdr.peerid ||
		    hdr.flags != imsg.hdr.flags || b->fd != fd)
			abort();
		if (b->len - IMSG_HDRSIZE != size - 1 ||
		    memcmp(b->buf + IMSG_HDRSIZE, data + 1, size - 1) != 0)
			abort();
	}
	if (b != NULL) {
		free(b->buf);
		free(b);
	}
	free(payload);
	return 0;
}
