/*
 * What the listener learns of a local submission, from lookup: the
 * user and uid lookup read from the socket's peer credentials (before
 * the greeting), and a sender that user may not claim (before the
 * answer to MAIL).  They go into the Received: line and an
 * X-Authentication-Warning: line of the message.  Nothing here is
 * trusted by anyone else: lookup keeps the facts and writes them into
 * the envelopes itself.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "smtpd.h"
#include "smtp.h"
#include "smtp_session.h"
#include "session_msg.h"

void
smtp_local_reply(uint32_t id, uint32_t type, struct imsg *imsg)
{
	struct smtp_session	*s;
	struct msg_local	 l;
	char			 text[ENVELOPE_ADDRMAX + 2];
	int			 r;

	if (type == IMSG_LOOKUP_SMTP_LOCAL)
		r = msg_local_read(imsg, &l);
	else
		r = msg_warn_read(imsg, text, sizeof(text));
	if (r == -1)
		fatalx("smtp: malformed local facts from lookup");
	/* Always followed by the answer the session waits for. */
	if ((s = smtp_session_find(id)) == NULL || !s->waiting ||
	    !(s->l->flags & LISTEN_LOCAL))
		fatalx("smtp: local facts for no local question");
	if (type == IMSG_LOOKUP_SMTP_LOCAL) {
		strlcpy(s->local_user, l.user, sizeof(s->local_user));
		s->local_uid = l.uid;
	} else {
		free(s->sender_warning);
		s->sender_warning = NULL;
		/* "" says the sender is the user's own: nothing to mark. */
		if (text[0] != '\0' &&
		    (s->sender_warning = strdup(text)) == NULL)
			fatal("strdup");
	}
}

/*
 * The trace line of a local submission names the user and uid, not a
 * client host (as RFC 5321 4.4 allows for mail that did not arrive
 * from the network).
 */
void
smtp_local_received(struct smtp_session *s, const char *with)
{
	evbuffer_add_printf(s->dataout, "Received: by %s (from userid %u, "
	    "user %s)\n\twith %s id %08x", s->conf->hostname, s->local_uid,
	    s->local_user, with, s->msgid);
}
