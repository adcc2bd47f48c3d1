/*
 * The messages between lookup and the queue about routing, between
 * the queue and the parent about local delivery, and between the queue
 * and the mta about relaying: each with its writer and its reader side
 * by side in queue_msg.c, which both ends link.  Part of libqueue.a: it
 * knows the envelope's sizes and the runtime, nothing of the
 * configuration.
 */
#ifndef QUEUE_MSG_H
#define QUEUE_MSG_H

#include <stdint.h>

#include "../smtpd/imsg.h"
#include "queue.h"

#define MSG_ROUTES_MAX		64	/* destinations of one recipient */
#define MSG_ROUTE_TEXT_MAX	512	/* a reply line */

/*
 * IMSG_LOOKUP_QUEUE_RCPT: where a message the queue makes (a bounce)
 * goes: a status (LOOKUP_*), the reply if refused, and the
 * destinations, each an action, a user and a target.
 */
struct msg_route {
	char	 action[ENVELOPE_NAMEMAX];
	char	 user[ENVELOPE_NAMEMAX];
	char	 target[ENVELOPE_TARGETMAX];
};

struct msg_routes {
	uint32_t	 status;
	char		 text[MSG_ROUTE_TEXT_MAX];
	uint32_t	 n;
	struct msg_route d[MSG_ROUTES_MAX];
};

/*
 * IMSG_QUEUE_PARENT_DELIVER, with the message file: one envelope for
 * the parent's delivery agents.  The parent trusts none of it but the
 * bounds: the action and user are checked against its configuration.
 */
struct msg_deliver {
	uint64_t evpid;
	uint64_t created;
	char	 action[ENVELOPE_NAMEMAX];
	char	 user[ENVELOPE_NAMEMAX];
	char	 target[ENVELOPE_TARGETMAX];
	char	 sender[ENVELOPE_ADDRMAX];
	char	 rcpt[ENVELOPE_ADDRMAX];
};

/* IMSG_PARENT_QUEUE_DELIVERED: the outcome (DELIVERY_*) and why. */
struct msg_delivered {
	uint64_t evpid;
	uint32_t status;
	char	 err[ENVELOPE_ERRMAX];
};

#define MSG_TRANSFER_MAX	1000	/* SMTP_MAX_ENVELOPES */
#define MSG_DSN_MAX		64	/* RET or NOTIFY, as the envelope keeps */

/*
 * IMSG_QUEUE_MTA_TRANSFER, with the message file: recipients of one
 * message for one destination (a domain, or "" for the action's
 * smarthost), with the sender's DSN parameters once for all.  The
 * reader allocates rcpts; its caller frees them.
 */
struct msg_transfer_rcpt {
	uint64_t evpid;
	char	 rcpt[ENVELOPE_ADDRMAX];
	char	 notify[MSG_DSN_MAX];
	char	 orcpt[ENVELOPE_ORCPTMAX];
};

struct msg_transfer {
	uint32_t msgid;
	char	 action[ENVELOPE_NAMEMAX];
	char	 domain[ENVELOPE_HOSTMAX];
	char	 sender[ENVELOPE_ADDRMAX];
	char	 ret[MSG_DSN_MAX];
	char	 envid[ENVELOPE_ADDRMAX];
	uint32_t n;			/* 1 to MSG_TRANSFER_MAX */
	struct msg_transfer_rcpt *rcpts;
};

/*
 * IMSG_MTA_QUEUE_RESULT: what became of one recipient (DELIVERY_*),
 * the remote reply and the host that gave it.  The mta talks to
 * hostile servers: the queue checks the envelope and the status it
 * names, and cleans the text before use.
 */
struct msg_result {
	uint64_t evpid;
	uint32_t status;
	char	 err[ENVELOPE_ERRMAX];
	char	 remote[ENVELOPE_HOSTMAX];
};

void	msg_route_ask_write(uint32_t, const char *);
int	msg_route_ask_read(struct imsg *, char *, size_t);
void	msg_routes_write(uint32_t, const struct msg_routes *);
int	msg_routes_read(struct imsg *, struct msg_routes *);
void	msg_envelope_write(uint32_t, const char *);
int	msg_envelope_read(struct imsg *, char *, size_t);
void	msg_create_write(uint32_t, uint32_t);
void	msg_close_write(uint32_t);
int	msg_close_read(struct imsg *);
int	msg_create_read(struct imsg *, uint32_t *);
void	msg_deliver_write(const struct msg_deliver *, int);
int	msg_deliver_read(struct imsg *, struct msg_deliver *);
void	msg_delivered_write(const struct msg_delivered *);
int	msg_delivered_read(struct imsg *, struct msg_delivered *);
void	msg_transfer_write(const struct msg_transfer *, int);
int	msg_transfer_read(struct imsg *, struct msg_transfer *);
void	msg_result_write(const struct msg_result *);
int	msg_result_read(struct imsg *, struct msg_result *);

#endif
