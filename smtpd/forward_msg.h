/*
 * The messages about a user's ~/.forward between lookup and the
 * parent, each with its writer and its reader side by side in
 * forward_msg.c, which both ends link.  The parent runs as root and
 * reads the question of lookup, a less trusted process, as hostile:
 * its reader bounds the name and reads the payload exactly.
 */
#ifndef FORWARD_MSG_H
#define FORWARD_MSG_H

#include <stdint.h>

#include "imsg.h"

#define MSG_FORWARD_USER_MAX	64	/* ENVELOPE_NAMEMAX */
#define MSG_FORWARD_PIECE_MAX	8193	/* FORWARD_CHUNK_MAX, and its NUL */

/*
 * IMSG_PARENT_LOOKUP_FORWARD: the user asked about, a status
 * (FORWARD_NONE, _MORE or _END) and a piece of the file's text.
 */
struct msg_forward {
	char	 user[MSG_FORWARD_USER_MAX];
	uint32_t status;
	char	 piece[MSG_FORWARD_PIECE_MAX];
};

void	msg_forward_ask_write(uint32_t, const char *);
int	msg_forward_ask_read(struct imsg *, char *, size_t);
void	msg_forward_write(uint32_t, const struct msg_forward *);
int	msg_forward_read(struct imsg *, struct msg_forward *);

#endif
