/*
 * The parent's messages to its children about the configuration, and
 * their confirmations: each with its writer and its reader side by side
 * in parent_msg.c, which every role links.  Part of the runtime: the
 * files travel as a memory file the reader leaves to conffile.c.
 */
#ifndef PARENT_MSG_H
#define PARENT_MSG_H

#include <limits.h>
#include <stdint.h>

#include "imsg.h"
#include "proc.h"

#define MSG_TABLE_NAME_MAX	64	/* TABLE_NAMESZ */

/* IMSG_PARENT_RELOAD, with the memory file of the role's files. */
struct msg_reload {
	uint32_t generation;
	char	 path[PATH_MAX];	/* smtpd.conf */
};

/*
 * IMSG_PARENT_UPDATE_TABLE, peerid smtpctl's id at control, with the
 * memory file of the table and what it includes: the table's name and
 * the errno of reading its file (0: read).
 */
struct msg_update_table {
	char	 name[MSG_TABLE_NAME_MAX];
	uint32_t error;
};

void	msg_reload_write(enum smtp_proc, const struct msg_reload *, int);
int	msg_reload_read(struct imsg *, struct msg_reload *);
void	msg_reload_done_write(uint32_t);
int	msg_reload_done_read(struct imsg *, uint32_t *);
void	msg_update_table_write(uint32_t, const struct msg_update_table *,
	    int);
int	msg_update_table_read(struct imsg *, struct msg_update_table *);

#endif
