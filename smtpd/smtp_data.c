/*
 * The DATA phase of an SMTP session: the Received: header, each line of
 * the message written into the pipe the queue reads into the message
 * file, the rules that keep a message from ending early (SMTP
 * smuggling) or going round in a loop, and the commit that earns the
 * client its 250.  The queue commits only once exactly the bytes
 * counted here have come through the pipe.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "smtpd.h"
#include "smtp.h"
#include "smtp_session.h"
#include "smtp_addr.h"
#include "io.h"

/*
 * What may wait for the pipe before the session stops reading from the
 * client; the queue drains the pipe as fast as the disk takes it.
 */
#define DATA_PIPE_HIGH	(256 * 1024)

static void	smtp_data_commit(struct smtp_session *);

/* Done with the pipe: after the commit, or for a transaction reset. */
void
smtp_data_close(struct smtp_session *s)
{
	free(s->data_from);
	s->data_from = NULL;
	if (s->datafd == -1)
		return;
	event_del(&s->data_ev);
	close(s->datafd);
	s->datafd = -1;
	evbuffer_free(s->dataout);
	s->dataout = NULL;
	s->data_blocked = 0;
	s->data_ending = 0;
}

static void
smtp_data_ready(int fd, short event, void *arg)
{
	struct smtp_session	*s = arg;

	smtp_data_flush(s);
	if (s->datafd == -1)
		return;
	if (s->data_ending) {
		if (evbuffer_get_length(s->dataout) == 0)
			smtp_data_commit(s);
		return;
	}
	if (!s->data_blocked && !s->dead)
		smtp_process(s);
}

/*
 * Hand what waits to the pipe.  The queue closes its end only when it
 * cannot take the message (a full disk, too big); what follows is then
 * dropped, and the commit brings back the queue's reason.
 */
void
smtp_data_flush(struct smtp_session *s)
{
	struct evbuffer	*out = s->dataout;
	int		 n;

	if (s->datafd == -1)
		return;
	while (evbuffer_get_length(out) > 0) {
		if (s->data_broken || s->data_error) {
			evbuffer_drain(out, evbuffer_get_length(out));
			break;
		}
		if ((n = evbuffer_write(out, s->datafd)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno == EPIPE)
				s->data_broken = 1;
			else
				s->data_error = errno;
		}
	}
	s->data_blocked = evbuffer_get_length(out) > DATA_PIPE_HIGH;
	if (evbuffer_get_length(out) > 0)
		event_add(&s->data_ev, NULL);
}

void
smtp_data_begin(struct smtp_session *s, int fd)
{
	char			 date[64];
	struct smtp_rcpt	*r;
	struct tls		*tls = io_tls(s->io);
	time_t			 now;
	const char		*with;

	if ((s->dataout = evbuffer_new()) == NULL) {
		close(fd);
		smtp_transaction_reset(s);
		smtp_reply(s, "451 4.3.0 Temporary failure");
		return;
	}
	set_nonblocking(fd);
	s->datafd = fd;
	event_set(&s->data_ev, fd, EV_WRITE, smtp_data_ready, s);
	now = time(NULL);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    gmtime(&now));
	/* RFC 3848 protocol names. */
	if (!s->esmtp)
		with = "SMTP";
	else if (io_is_tls(s->io))
		with = s->authenticated ? "ESMTPSA" : "ESMTPS";
	else
		with = s->authenticated ? "ESMTPA" : "ESMTP";
	if (s->l->flags & LISTEN_LOCAL)
		smtp_local_received(s, with);
	else
		evbuffer_add_printf(s->dataout, "Received: from %s (%s [%s])"
		    "\n\tby %s with %s id %08x", s->helo,
		    s->rdns[0] ? s->rdns : "unknown", s->addr, s->conf->hostname,
		    with, s->msgid);
	if (io_is_tls(s->io) && (s->l->flags & LISTEN_VERIFY))
		evbuffer_add_printf(s->dataout, "\n\t(version=%s cipher=%s "
		    "verify=%s)", tls_conn_version(tls), tls_conn_cipher(tls),
		    smtp_tls_verify(s));
	else if (io_is_tls(s->io))
		evbuffer_add_printf(s->dataout, "\n\t(version=%s cipher=%s)",
		    tls_conn_version(tls), tls_conn_cipher(tls));
	r = TAILQ_FIRST(&s->rcpts);
	if (s->nrcpt == 1)
		evbuffer_add_printf(s->dataout, "\n\tfor <%s>", r->addr);
	evbuffer_add_printf(s->dataout, ";\n\t%s\n", date);
	if (s->sender_warning != NULL)
		evbuffer_add_printf(s->dataout, "X-Authentication-Warning: "
		    "%s: %s set sender to %s\n", s->conf->hostname,
		    s->local_user, s->sender_warning);
	s->datasent = evbuffer_get_length(s->dataout);
	s->state = S_DATA;
	s->datalen = 0;
	s->data_bol = 1;
	s->data_crlf = 1;
	s->data_toobig = 0;
	s->data_error = 0;
	s->data_broken = 0;
	s->data_bare = 0;
	s->data_inheaders = 1;
	s->data_named_sender = 0;
	s->data_from_state = FROM_NONE;
	io_set_timeout(s->io, s->conf->timeout_data);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
smtp_data_write(struct smtp_session *s, const char *p, size_t len)
{
	if (s->data_toobig || s->data_error)
		return;
	s->datalen += len;
	if (s->datalen > s->conf->max_message_size) {
		s->data_toobig = 1;
		return;
	}
	if (evbuffer_add(s->dataout, p, len) == -1) {
		s->data_error = ENOMEM;
		return;
	}
	s->datasent += len;
	if (evbuffer_get_length(s->dataout) > DATA_PIPE_HIGH)
		smtp_data_flush(s);
}

/* Every byte is in the pipe: the queue may commit once it has them. */
static void
smtp_data_commit(struct smtp_session *s)
{
	struct msg_commit	 c;

	smtp_data_close(s);
	c.msgid = s->msgid;
	c.size = s->datasent;
	msg_commit_write(s->id, &c);
}

static void
smtp_data_refuse(struct smtp_session *s, const char *reason,
    const char *reply)
{
	log_info("smtp-in session=%08x address=%s from=<%s> result=refused "
	    "reason=%s", s->id, s->addr, s->sender, reason);
	smtp_transaction_reset(s);
	smtp_reply(s, "%s", reply);
}

/*
 * Refusals for what smtp_data_line() noted in the text: a NUL, which
 * RFC 5321 forbids and many a mail reader takes for the end of a
 * string, or a mail loop.  Returns 1 once the client has its reply.
 * The notes are cleared here, at every end of data, so the next
 * message starts afresh.
 */
static int
smtp_data_verdict(struct smtp_session *s)
{
	size_t	 hops = s->data_hops;
	int	 nul = s->data_nul;

	s->data_hops = 0;
	s->data_nul = 0;
	if (nul) {
		smtp_data_refuse(s, "nul", "550 5.6.0 Message contains NUL "
		    "characters");
		return 1;
	}
	/* The Received: line of our own counts as a hop too. */
	if (hops + 1 > s->conf->max_hops) {
		smtp_data_refuse(s, "too-many-hops",
		    "554 5.4.6 Too many hops");
		return 1;
	}
	return 0;
}

/*
 * masquerade: a logged-in user's message must say it is from the
 * domain of the envelope sender, which the senders table let them use:
 * one From: field, every address in it in that domain.  The field is
 * gathered with its folded lines (up to FROM_MAX) and judged when it
 * ends.
 */
#define FROM_MAX	2048

static int
smtp_data_masquerade(struct smtp_session *s)
{
	return (s->l->flags & LISTEN_MASQUERADE) && s->authenticated;
}

static void
smtp_data_from_add(struct smtp_session *s, const char *p, size_t len)
{
	if (s->data_fromlen + len >= FROM_MAX || memchr(p, '\0', len)) {
		s->data_from_state = FROM_FOREIGN;
		free(s->data_from);
		s->data_from = NULL;
		return;
	}
	memcpy(s->data_from + s->data_fromlen, p, len);
	s->data_fromlen += len;
	s->data_from[s->data_fromlen] = '\0';
}

static void
smtp_data_from_start(struct smtp_session *s, const char *p, size_t len)
{
	/* A second From: field is no longer one sender. */
	if (s->data_from_state != FROM_NONE) {
		s->data_from_state = FROM_FOREIGN;
		return;
	}
	if ((s->data_from = malloc(FROM_MAX)) == NULL) {
		s->data_from_state = FROM_FOREIGN;
		return;
	}
	s->data_fromlen = 0;
	s->data_from[0] = '\0';
	s->data_from_state = FROM_OWNED;
	smtp_data_from_add(s, p, len);
}

static void
smtp_data_from_end(struct smtp_session *s)
{
	const char	*at = strrchr(s->sender, '@');

	if (s->data_from_state == FROM_OWNED && (at == NULL ||
	    !smtp_addr_header_domains(s->data_from, at + 1)))
		s->data_from_state = FROM_FOREIGN;
	free(s->data_from);
	s->data_from = NULL;
}

static void
smtp_data_end(struct smtp_session *s)
{
	int	 failed;

	s->state = S_HELO;
	io_set_timeout(s->io, s->conf->timeout_command);
	failed = s->data_error;
	if (smtp_data_verdict(s))
		return;
	if (s->data_toobig) {
		smtp_data_refuse(s, "too-big", "552 5.3.4 Message too big");
		return;
	}
	if (s->data_bare) {
		smtp_data_refuse(s, "bare-cr-or-lf",
		    "550 5.5.2 Message contains a bare CR or LF");
		return;
	}
	if (failed) {
		log_warnx("smtp-in session=%08x result=tempfail "
		    "reason=\"cannot write message: %s\"", s->id,
		    strerror(failed));
		smtp_transaction_reset(s);
		smtp_reply(s, "451 4.3.0 Temporary failure writing message");
		return;
	}
	if (s->data_from != NULL)
		smtp_data_from_end(s);
	if (smtp_data_masquerade(s) && s->data_from_state != FROM_OWNED) {
		smtp_data_refuse(s, "from-not-owned",
		    "550 5.7.1 From: header not owned by user");
		return;
	}
	if (s->sender[0] == '\0' && (s->l->flags & LISTEN_REQUIRE_SENDER) &&
	    !s->data_named_sender) {
		smtp_data_refuse(s, "no-sender",
		    "550 5.7.1 A message from <> must name a From: or "
		    "Reply-To: sender");
		return;
	}
	/* The answer comes from the queue, after the commit. */
	s->waiting = 1;
	s->data_ending = 1;
	smtp_data_flush(s);
	if (evbuffer_get_length(s->dataout) == 0)
		smtp_data_commit(s);
}

/* Does a header line name a sender (From: or Reply-To: with content)? */
static int
header_names_sender(const char *line, size_t len)
{
	const char	*names[] = { "From:", "Reply-To:" };
	size_t		 i, n, j;

	for (i = 0; i < 2; i++) {
		n = strlen(names[i]);
		if (len < n || strncasecmp(line, names[i], n) != 0)
			continue;
		for (j = n; j < len; j++)
			if (!isspace((unsigned char)line[j]))
				return 1;
	}
	return 0;
}

/*
 * One line of message data, ending in LF.  Only ".<CR><LF>" after a
 * line that ended in <CR><LF> ends the message; a lone CR or LF is noted
 * and makes the message refused at the end, so no <LF>.<LF>,
 * <CR>.<CR> or <LF>.<CR><LF> trick can end it early or smuggle a
 * second message to a receiver that reads line ends differently.
 * A leading dot is removed (RFC 5321 4.5.2); lines are stored with LF.
 * Received: lines in the header are counted, to stop mail loops, and a
 * NUL anywhere is noted: either makes the message refused at the end.
 */
void
smtp_data_line(struct smtp_session *s, char *line, size_t len, int complete)
{
	size_t	 body;
	int	 crlf;

	if (!complete) {
		/* Part of an overlong line: store it as it comes. */
		if (memchr(line, '\r', len) != NULL)
			s->data_bare = 1;
		if (memchr(line, '\0', len) != NULL)
			s->data_nul = 1;
		if (s->data_bol && line[0] == '.') {
			line++;
			len--;
		}
		smtp_data_write(s, line, len);
		s->data_bol = 0;
		s->data_crlf = 0;
		return;
	}
	crlf = len >= 2 && line[len - 2] == '\r';
	if (s->data_bol && s->data_crlf && crlf && len == 3 &&
	    line[0] == '.') {
		smtp_data_end(s);
		return;
	}
	body = len - (crlf ? 2 : 1);
	/*
	 * bare-lf normalize takes a line ending in a bare LF as one that
	 * ends in CRLF, but it never ends the data: the line after it is
	 * not at the start of a CRLF line (data_crlf stays 0).
	 */
	if ((!crlf && !(s->l->flags & LISTEN_BARE_LF_NORMALIZE)) ||
	    memchr(line, '\r', body) != NULL)
		s->data_bare = 1;
	if (memchr(line, '\0', body) != NULL)
		s->data_nul = 1;
	if (s->data_inheaders && s->data_bol) {
		if (s->data_from != NULL && body > 0 &&
		    (line[0] == ' ' || line[0] == '\t'))
			smtp_data_from_add(s, line, body);
		else if (s->data_from != NULL)
			smtp_data_from_end(s);
		if (body == 0)
			s->data_inheaders = 0;
		else if (header_names_sender(line, body)) {
			s->data_named_sender = 1;
			if (smtp_data_masquerade(s) &&
			    strncasecmp(line, "From:", 5) == 0)
				smtp_data_from_start(s, line + 5, body - 5);
		} else if (body >= 9 && strncasecmp(line, "Received:", 9) == 0)
			s->data_hops++;
	}
	if (s->data_bol && body > 0 && line[0] == '.') {
		line++;
		body--;
	}
	smtp_data_write(s, line, body);
	smtp_data_write(s, "\n", 1);
	s->data_bol = 1;
	s->data_crlf = crlf;
}
