/*
 * The messages about a user's ~/.forward: lookup's question, a user
 * name, and the parent's answers, the file's text in pieces.  Each
 * writer sits beside its reader.  Readers trust no length: every
 * string is bounded by its field and a payload must be read exactly;
 * the parent reads the question as coming from a process that may be
 * compromised, and refuses what is not exactly what lookup writes.
 */
#include <sys/types.h>

#include <string.h>

#include "imsg.h"
#include "imsg_types.h"
#include "proc.h"
#include "forward_msg.h"

/* IMSG_LOOKUP_PARENT_FORWARD: the local user whose file lookup wants. */
void
msg_forward_ask_write(uint32_t id, const char *user)
{
	struct ibuf	*b;

	b = proc_create(IMSG_LOOKUP_PARENT_FORWARD, id, -1);
	imsg_add_string(b, user);
	proc_close(PROC_PARENT, b);
}

/*
 * An empty name, or one with a control character, is no user: refused
 * with the rest, before it reaches getpwnam() or a log line.
 */
int
msg_forward_ask_read(struct imsg *imsg, char *user, size_t len)
{
	const char	*p;

	imsg_get_string(imsg, user, len);
	if (imsg_end(imsg) == -1 || user[0] == '\0')
		return -1;
	for (p = user; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	return 0;
}

void
msg_forward_write(uint32_t id, const struct msg_forward *f)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_LOOKUP_FORWARD, id, -1);
	imsg_add_string(b, f->user);
	imsg_add_u32(b, f->status);
	imsg_add_string(b, f->piece);
	proc_close(PROC_LOOKUP, b);
}

int
msg_forward_read(struct imsg *imsg, struct msg_forward *f)
{
	imsg_get_string(imsg, f->user, sizeof(f->user));
	f->status = imsg_get_u32(imsg);
	imsg_get_string(imsg, f->piece, sizeof(f->piece));
	return imsg_end(imsg);
}
