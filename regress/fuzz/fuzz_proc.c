/*
 * The process plumbing for the dispatcher targets, in place of
 * smtpd/proc.c: messages are built as proc.c builds them and handed to
 * the target's own proc_close(), which plays the receiving process.
 * What comes from the listener or control is judged as proc.c judges
 * it; a bad message from any trusted peer is a bug of the target, and
 * aborts.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>

#include "smtpd/smtpd.h"

struct ibuf *
proc_create(uint32_t type, uint32_t peerid, int fd)
{
	return imsg_create(type, peerid, fd);
}

void
proc_compose(enum smtp_proc p, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct ibuf	*b = imsg_create(type, peerid, fd);

	if (len > 0)
		imsg_add_data(b, data, len);
	proc_close(p, b);
}

void
proc_check(enum smtp_proc from, struct imsg *imsg)
{
	if (from == PROC_SMTP || imsg_end(imsg) == -1)
		abort();
}

int
proc_refuse(enum smtp_proc from, struct imsg *imsg, const char *why)
{
	if (from != PROC_SMTP && from != PROC_CONTROL)
		abort();
	return -1;
}

int
proc_valid(enum smtp_proc from, struct imsg *imsg, int wants_fd)
{
	if (imsg_end(imsg) == -1)
		return proc_refuse(from, imsg, "malformed");
	if (wants_fd != (imsg->fd != -1))
		return proc_refuse(from, imsg, "descriptor");
	return 0;
}

void
proc_bad_imsg(enum smtp_proc self, enum smtp_proc from, struct imsg *imsg)
{
	proc_refuse(from, imsg, "unexpected type");
}
