/*
 * The messages of smtpctl's requests and their answers, each with its
 * writer and its reader side by side in control_msg.c.  The same layout
 * serves every hop: smtpctl to control, control to the process that
 * answers, and the answer back to control and on to smtpctl.  Part of
 * the runtime, as smtpctl links it and proc.c reads the parent's
 * verbose order with it.
 *
 * A writer builds the message and gives it to its caller, who sends it
 * to a peer (proc_close) or on a client's socket (imsg_close).  A reader
 * returns 0, or -1 when the payload is not one its writer makes: what
 * smtpctl sent is then refused, and so is what control passed on.
 */
#ifndef CONTROL_MSG_H
#define CONTROL_MSG_H

#include <stdint.h>

#include "imsg.h"

/* The longest answer line, its NUL included. */
#define CTL_LINE_MAX		2048
/* The longest table name, its NUL included: TABLE_NAMESZ. */
#define CTL_TABLE_MAX		64

/*
 * What a queue request names: all envelopes, a message (its msgid in
 * the id's low 32 bits) or an envelope.  "all" has id 0.
 */
#define CTL_TARGET_ALL		0
#define CTL_TARGET_MESSAGE	1
#define CTL_TARGET_ENVELOPE	2

/* What IMSG_CTL_PAUSE and IMSG_CTL_RESUME name: one of these. */
#define CTL_PAUSE_MDA		0x1
#define CTL_PAUSE_MTA		0x2
#define CTL_PAUSE_SMTP		0x4

/* IMSG_CTL_SHOW_ENVELOPE, _SHOW_MESSAGE, _SCHEDULE and _REMOVE. */
struct msg_ctl_target {
	uint32_t kind;		/* CTL_TARGET_* */
	uint64_t id;
};

/*
 * IMSG_PARENT_CONTROL_SOCKET, with the listening socket: who is served
 * besides root, the daemon's owner and a group ((uint32_t)-1: none).
 */
struct msg_ctl_socket {
	uint32_t owner;
	uint32_t group;
};

struct ibuf	*msg_ctl_request_write(uint32_t, uint32_t);
int		 msg_ctl_request_read(struct imsg *);
struct ibuf	*msg_ctl_target_write(uint32_t, uint32_t,
		    const struct msg_ctl_target *);
int		 msg_ctl_target_read(struct imsg *, struct msg_ctl_target *);
struct ibuf	*msg_ctl_pause_write(uint32_t, uint32_t, uint32_t);
int		 msg_ctl_pause_read(struct imsg *, uint32_t *);
struct ibuf	*msg_ctl_verbose_write(uint32_t);
int		 msg_ctl_verbose_read(struct imsg *, uint32_t *);
struct ibuf	*msg_ctl_table_write(uint32_t, const char *);
int		 msg_ctl_table_read(struct imsg *, char *, size_t);
struct ibuf	*msg_ctl_answer_write(uint32_t, uint32_t, int, const char *);
int		 msg_ctl_answer_read(struct imsg *, char *, size_t);
struct ibuf	*msg_ctl_socket_write(int, const struct msg_ctl_socket *);
int		 msg_ctl_socket_read(struct imsg *, struct msg_ctl_socket *);

#endif
