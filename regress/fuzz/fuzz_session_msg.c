/*
 * libFuzzer target: the readers of the messages about a session between
 * the listener, lookup, auth and the queue, and of the parent's handing
 * of the listening sockets (smtpd/session_msg.c); of those about
 * routing, local delivery and relaying (queue/queue_msg.c); and of
 * those about ~/.forward between lookup and the parent
 * (smtpd/forward_msg.c).  The first byte picks a reader, the rest is
 * its payload.  Whatever a reader accepts must be written back by its
 * writer as the very same bytes: the two ends agree on every layout,
 * and no field is cut or lost on the way.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/imsg.h"
#include "smtpd/imsg_types.h"
#include "smtpd/proc.h"
#include "smtpd/session_msg.h"
#include "smtpd/forward_msg.h"
#include "queue/queue_msg.h"
#include "smtpd/parent_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	*written;
static size_t	 writtenlen;

struct ibuf *
proc_create(uint32_t type, uint32_t peerid, int fd)
{
	return imsg_create(type, peerid, fd);
}

/* The writer's message: kept to compare with what was read. */
void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	if (b->error || b->len < IMSG_HDRSIZE)
		abort();
	free(written);
	writtenlen = b->len - IMSG_HDRSIZE;
	if ((written = malloc(writtenlen + 1)) == NULL)
		abort();
	memcpy(written, b->buf + IMSG_HDRSIZE, writtenlen);
	free(b->buf);
	free(b);
}

static const uint32_t	 types[] = {
	IMSG_SMTP_LOOKUP_MAIL, IMSG_SMTP_LOOKUP_RCPT, IMSG_SMTP_LOOKUP_AUTH,
	IMSG_SMTP_LOOKUP_VRFY, IMSG_LOOKUP_SMTP_CONNECT, IMSG_LOOKUP_SMTP_RCPT,
	IMSG_LOOKUP_SMTP_EXPN, IMSG_LOOKUP_SMTP_AUTH, IMSG_LOOKUP_AUTH_CHECK,
	IMSG_AUTH_LOOKUP_RESULT, IMSG_SMTP_QUEUE_COMMIT, IMSG_SMTP_QUEUE_ROLLBACK,
	IMSG_QUEUE_SMTP_COMMIT, IMSG_QUEUE_LOOKUP_RCPT, IMSG_LOOKUP_QUEUE_RCPT,
	IMSG_LOOKUP_QUEUE_ENVELOPE, IMSG_LOOKUP_QUEUE_CREATE,
	IMSG_QUEUE_PARENT_DELIVER, IMSG_PARENT_QUEUE_DELIVERED,
	IMSG_QUEUE_MTA_TRANSFER, IMSG_MTA_QUEUE_RESULT,
	IMSG_LOOKUP_PARENT_FORWARD, IMSG_PARENT_LOOKUP_FORWARD,
	IMSG_PARENT_LISTENER, IMSG_PARENT_LISTENERS_DONE,
	IMSG_LOOKUP_SMTP_LOCAL, IMSG_LOOKUP_SMTP_WARN, IMSG_SMTP_LOOKUP_DATA,
	IMSG_LOOKUP_QUEUE_CLOSE, IMSG_PARENT_RELOAD, IMSG_RELOAD_DONE,
	IMSG_PARENT_UPDATE_TABLE
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsg		 imsg;
	struct msg_mail		 m;
	struct msg_rcpt		 r;
	struct msg_auth		 a;
	struct msg_answer	 ans;
	struct msg_users	 u;
	struct msg_login	 l;
	struct msg_check	 c;
	struct msg_verdict	 v;
	struct msg_commit	 co;
	struct msg_stored	 st;
	struct msg_local	 lo;
	static struct msg_reload rl;
	struct msg_update_table	 ut;
	static struct msg_routes routes;
	struct msg_deliver	 dl;
	struct msg_delivered	 dd;
	struct msg_transfer	 tr;
	struct msg_result	 res;
	static struct msg_forward fw;
	char			 user[MSG_FORWARD_USER_MAX];
	static char		 text[IMSG_MAXPAYLOAD];
	uint32_t		 msgid;
	char			 name[MSG_ADDR_MAX];
	uint8_t			*payload;
	uint32_t		 type;
	size_t			 i;
	int			 rc = -1;

	if (size < 1 || size > IMSG_MAXPAYLOAD)
		return 0;
	type = types[data[0] % NTYPES];
	/* A copy: the auth reader wipes what it read. */
	if ((payload = malloc(size)) == NULL)
		abort();
	memcpy(payload, data + 1, size - 1);
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.fd = -1;
	imsg.data = payload;
	imsg.len = size - 1;
	writtenlen = (size_t)-1;
	switch (type) {
	case IMSG_SMTP_LOOKUP_MAIL:
		if ((rc = msg_mail_read(&imsg, &m)) == 0)
			msg_mail_write(1, &m);
		break;
	case IMSG_SMTP_LOOKUP_RCPT:
		if ((rc = msg_rcpt_read(&imsg, &r)) == 0)
			msg_rcpt_write(1, &r);
		break;
	case IMSG_SMTP_LOOKUP_AUTH:
	case IMSG_LOOKUP_AUTH_CHECK:
		if (type == IMSG_SMTP_LOOKUP_AUTH &&
		    (rc = msg_auth_read(&imsg, &a)) == 0)
			msg_auth_write(1, a.user, a.password);
		if (type == IMSG_LOOKUP_AUTH_CHECK &&
		    (rc = msg_check_read(&imsg, &c)) == 0)
			msg_check_write(1, &c);
		/* Nothing of the password is left in the message. */
		for (i = 0; i + 1 < size; i++)
			if (payload[i] != 0)
				abort();
		break;
	case IMSG_AUTH_LOOKUP_RESULT:
		if ((rc = msg_verdict_read(&imsg, &v)) == 0)
			msg_verdict_write(1, &v);
		break;
	case IMSG_SMTP_QUEUE_COMMIT:
		if ((rc = msg_commit_read(&imsg, &co)) == 0)
			msg_commit_write(1, &co);
		break;
	case IMSG_SMTP_QUEUE_ROLLBACK:
		if ((rc = msg_rollback_read(&imsg, &msgid)) == 0)
			msg_rollback_write(1, msgid);
		break;
	case IMSG_QUEUE_SMTP_COMMIT:
		if ((rc = msg_stored_read(&imsg, &st)) == 0)
			msg_stored_write(type, 1, &st, -1);
		break;
	case IMSG_QUEUE_LOOKUP_RCPT:
		if ((rc = msg_route_ask_read(&imsg, name, sizeof(name))) == 0)
			msg_route_ask_write(1, name);
		break;
	case IMSG_LOOKUP_QUEUE_RCPT:
		if ((rc = msg_routes_read(&imsg, &routes)) == 0)
			msg_routes_write(1, &routes);
		break;
	case IMSG_LOOKUP_QUEUE_ENVELOPE:
		if ((rc = msg_envelope_read(&imsg, text, sizeof(text))) == 0)
			msg_envelope_write(1, text);
		break;
	case IMSG_LOOKUP_QUEUE_CREATE:
		if ((rc = msg_create_read(&imsg, &msgid)) == 0)
			msg_create_write(1, msgid);
		break;
	case IMSG_QUEUE_PARENT_DELIVER:
		if ((rc = msg_deliver_read(&imsg, &dl)) == 0)
			msg_deliver_write(&dl, -1);
		break;
	case IMSG_PARENT_QUEUE_DELIVERED:
		if ((rc = msg_delivered_read(&imsg, &dd)) == 0)
			msg_delivered_write(&dd);
		break;
	case IMSG_QUEUE_MTA_TRANSFER:
		if ((rc = msg_transfer_read(&imsg, &tr)) == 0) {
			msg_transfer_write(&tr, -1);
			free(tr.rcpts);
		} else if (tr.rcpts != NULL)
			abort();
		break;
	case IMSG_MTA_QUEUE_RESULT:
		if ((rc = msg_result_read(&imsg, &res)) == 0)
			msg_result_write(&res);
		break;
	case IMSG_LOOKUP_PARENT_FORWARD:
		if ((rc = msg_forward_ask_read(&imsg, user,
		    sizeof(user))) == 0)
			msg_forward_ask_write(1, user);
		break;
	case IMSG_PARENT_LOOKUP_FORWARD:
		if ((rc = msg_forward_read(&imsg, &fw)) == 0)
			msg_forward_write(1, &fw);
		break;
	case IMSG_PARENT_LISTENER:
		if ((rc = msg_listener_read(&imsg, &msgid)) == 0)
			msg_listener_write(msgid, -1);
		break;
	case IMSG_PARENT_LISTENERS_DONE:
		if ((rc = msg_listeners_done_read(&imsg)) == 0)
			msg_listeners_done_write();
		break;
	case IMSG_LOOKUP_SMTP_LOCAL:
		if ((rc = msg_local_read(&imsg, &lo)) == 0)
			msg_local_write(1, &lo);
		break;
	case IMSG_LOOKUP_SMTP_WARN:
		if ((rc = msg_warn_read(&imsg, text, sizeof(text))) == 0)
			msg_warn_write(1, text);
		break;
	case IMSG_LOOKUP_QUEUE_CLOSE:
		if ((rc = msg_close_read(&imsg)) == 0)
			msg_close_write(1);
		break;
	case IMSG_PARENT_RELOAD:
		if ((rc = msg_reload_read(&imsg, &rl)) == 0)
			msg_reload_write(PROC_LOOKUP, &rl, -1);
		break;
	case IMSG_RELOAD_DONE:
		if ((rc = msg_reload_done_read(&imsg, &msgid)) == 0)
			msg_reload_done_write(msgid);
		break;
	case IMSG_PARENT_UPDATE_TABLE:
		if ((rc = msg_update_table_read(&imsg, &ut)) == 0)
			msg_update_table_write(1, &ut, -1);
		break;
	case IMSG_SMTP_LOOKUP_DATA:
		/* No payload: what proc_valid() takes, written back. */
		if ((rc = imsg_end(&imsg)) == 0)
			msg_session_write(type, 1, -1);
		break;
	case IMSG_SMTP_LOOKUP_VRFY:
		if ((rc = msg_name_read(&imsg, name, sizeof(name))) == 0)
			msg_name_write(type, 1, name);
		break;
	case IMSG_LOOKUP_SMTP_CONNECT:
	case IMSG_LOOKUP_SMTP_RCPT:
		if ((rc = msg_answer_read(&imsg, &ans)) == 0)
			msg_answer_write(type, 1, &ans);
		break;
	case IMSG_LOOKUP_SMTP_EXPN:
		if ((rc = msg_users_read(&imsg, &u)) == 0)
			msg_users_write(type, 1, &u);
		break;
	case IMSG_LOOKUP_SMTP_AUTH:
		if ((rc = msg_login_read(&imsg, &l)) == 0)
			msg_login_write(1, &l);
		break;
	}
	if (rc == 0 && (writtenlen != size - 1 ||
	    memcmp(written, data + 1, writtenlen) != 0))
		abort();
	free(payload);
	return 0;
}
