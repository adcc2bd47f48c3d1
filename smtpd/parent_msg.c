/*
 * The parent's messages about the configuration (parent_msg.h): a
 * reload's generation and the name of its file, a child's word that it
 * switched, and an updated table.  Readers bound every string and
 * refuse what is not read exactly; whether a descriptor came is for
 * the caller to say.
 */
#include <sys/types.h>

#include <string.h>

#include "imsg_types.h"
#include "parent_msg.h"

void
msg_reload_write(enum smtp_proc p, const struct msg_reload *r, int fd)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_RELOAD, 0, fd);
	imsg_add_u32(b, r->generation);
	imsg_add_string(b, r->path);
	proc_close(p, b);
}

int
msg_reload_read(struct imsg *imsg, struct msg_reload *r)
{
	r->generation = imsg_get_u32(imsg);
	imsg_get_string(imsg, r->path, sizeof(r->path));
	return imsg_end(imsg);
}

/* IMSG_RELOAD_DONE: the generation a child has switched to. */
void
msg_reload_done_write(uint32_t generation)
{
	struct ibuf	*b;

	b = proc_create(IMSG_RELOAD_DONE, 0, -1);
	imsg_add_u32(b, generation);
	proc_close(PROC_PARENT, b);
}

int
msg_reload_done_read(struct imsg *imsg, uint32_t *generation)
{
	*generation = imsg_get_u32(imsg);
	return imsg_end(imsg);
}

void
msg_update_table_write(uint32_t client, const struct msg_update_table *u,
    int fd)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_UPDATE_TABLE, client, fd);
	imsg_add_string(b, u->name);
	imsg_add_u32(b, u->error);
	proc_close(PROC_LOOKUP, b);
}

int
msg_update_table_read(struct imsg *imsg, struct msg_update_table *u)
{
	imsg_get_string(imsg, u->name, sizeof(u->name));
	u->error = imsg_get_u32(imsg);
	return imsg_end(imsg);
}
