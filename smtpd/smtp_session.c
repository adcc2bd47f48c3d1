/*
 * One SMTP server session: the command state machine, the DATA phase
 * written straight into the queue's file, and the replies.  Nothing
 * here decides policy: MAIL and RCPT are judged by the lookup process,
 * storage belongs to the queue.  While a session waits for either, it
 * reads no further commands, so pipelined commands are answered in
 * order.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "smtpd.h"
#include "smtp.h"

#define SMTP_CMD_TIMEOUT	300
#define SMTP_DATA_TIMEOUT	600
#define SMTP_DATA_CHUNK		65536
#define SMTP_MAX_LONGLINES	3

enum smtp_state {
	S_GREETED,
	S_HELO,
	S_MAIL,
	S_RCPT,
	S_DATA,
	S_QUIT,
};

struct smtp_rcpt {
	TAILQ_ENTRY(smtp_rcpt)	 entry;
	char			 addr[ENVELOPE_ADDRMAX];
	char			 action[ENVELOPE_NAMEMAX];
	char			 user[ENVELOPE_NAMEMAX];
};

struct smtp_session {
	RB_ENTRY(smtp_session)	 node;
	uint32_t		 id;
	int			 fd;
	struct bufferevent	*bev;
	struct sockaddr_storage	 ss;
	char			 addr[NI_MAXHOST];
	enum smtp_state		 state;
	int			 waiting;	/* for lookup or queue */
	int			 dead;		/* client gone while waiting */
	int			 esmtp;
	int			 skipline;	/* discarding an overlong line */
	int			 longlines;
	char			 helo[ENVELOPE_HOSTMAX];
	char			 sender[ENVELOPE_ADDRMAX];
	char			 pending_rcpt[ENVELOPE_ADDRMAX];
	TAILQ_HEAD(, smtp_rcpt)	 rcpts;
	size_t			 nrcpt;
	uint32_t		 msgid;
	FILE			*datafp;
	size_t			 datalen;
	int			 data_bol;	/* at the start of a line */
	int			 data_toobig;
	int			 data_error;
};

RB_HEAD(smtp_sessions, smtp_session);
static int
smtp_session_cmp(struct smtp_session *a, struct smtp_session *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}
RB_GENERATE_STATIC(smtp_sessions, smtp_session, node, smtp_session_cmp);
static struct smtp_sessions	 sessions = RB_INITIALIZER(&sessions);

static void	smtp_read(struct bufferevent *, void *);
static void	smtp_event(struct bufferevent *, short, void *);
static void	smtp_process(struct smtp_session *);
static void	smtp_free(struct smtp_session *, const char *);

static void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[SMTP_LINE_MAX];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	log_debug("smtp-in session=%08x reply=\"%.*s\"", s->id, n, line);
	line[n++] = '\r';
	line[n++] = '\n';
	bufferevent_write(s->bev, line, n);
}

static struct smtp_session *
smtp_session_find(uint32_t id)
{
	struct smtp_session	 key;

	key.id = id;
	return RB_FIND(smtp_sessions, &sessions, &key);
}

void
smtp_session_accept(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct smtp_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("smtp-in calloc");
		close(fd);
		return;
	}
	do {
		s->id = arc4random();
	} while (s->id == 0 || smtp_session_find(s->id) != NULL);
	s->fd = fd;
	memcpy(&s->ss, sa, len < sizeof(s->ss) ? len : sizeof(s->ss));
	strlcpy(s->addr, sa_to_text(sa), sizeof(s->addr));
	TAILQ_INIT(&s->rcpts);
	s->state = S_GREETED;
	if ((s->bev = bufferevent_socket_new(smtp_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("smtp-in bufferevent");
		close(fd);
		free(s);
		return;
	}
	RB_INSERT(smtp_sessions, &sessions, s);
	bufferevent_setcb(s->bev, smtp_read, NULL, smtp_event, s);
	bufferevent_set_timeouts(s->bev,
	    &(struct timeval){ SMTP_CMD_TIMEOUT, 0 }, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	log_info("smtp-in session=%08x address=%s result=connected", s->id,
	    s->addr);
	smtp_reply(s, "220 %s ESMTP", env->hostname);
}

static void
smtp_rcpts_clear(struct smtp_session *s)
{
	struct smtp_rcpt	*r;

	while ((r = TAILQ_FIRST(&s->rcpts)) != NULL) {
		TAILQ_REMOVE(&s->rcpts, r, entry);
		free(r);
	}
	s->nrcpt = 0;
}

static void
smtp_transaction_reset(struct smtp_session *s)
{
	smtp_rcpts_clear(s);
	s->sender[0] = '\0';
	if (s->datafp != NULL) {
		fclose(s->datafp);
		s->datafp = NULL;
	}
	if (s->msgid != 0) {
		proc_compose(PROC_QUEUE, IMSG_SMTP_QUEUE_ROLLBACK, s->id, -1,
		    &s->msgid, sizeof(s->msgid));
		s->msgid = 0;
	}
	if (s->state > S_HELO)
		s->state = S_HELO;
}

static void
smtp_free(struct smtp_session *s, const char *why)
{
	if (s->waiting) {
		/* A reply is on its way; the session goes when it lands. */
		s->dead = 1;
		if (s->bev != NULL) {
			bufferevent_free(s->bev);
			s->bev = NULL;
		}
		return;
	}
	log_info("smtp-in session=%08x address=%s result=closed reason=%s",
	    s->id, s->addr, why);
	smtp_transaction_reset(s);
	RB_REMOVE(smtp_sessions, &sessions, s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	free(s);
}

/* Close once everything we said has been written. */
static void
smtp_drained(struct bufferevent *bev, void *arg)
{
	smtp_free(arg, "quit");
}

static void
smtp_close_after_reply(struct smtp_session *s)
{
	s->state = S_QUIT;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setcb(s->bev, NULL, smtp_drained, smtp_event, s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		smtp_free(s, "quit");
}

static void
smtp_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session	*s = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		smtp_reply(s, "421 4.4.2 %s Timeout", env->hostname);
		bufferevent_flush(bev, EV_WRITE, BEV_FLUSH);
		smtp_free(s, "timeout");
		return;
	}
	smtp_free(s, (what & BEV_EVENT_EOF) ? "disconnected" : "error");
}

/*
 * The address inside "<...>" after "FROM:" or "TO:".  The full RFC 5321
 * grammar lives in the address parser; here: one path, no spaces, no
 * control characters, within the length limits.
 */
static int
smtp_parse_path(const char *arg, const char *prefix, char *out, size_t outlen,
    const char **params)
{
	const char	*p, *end;
	size_t		 len;

	len = strlen(prefix);
	if (strncasecmp(arg, prefix, len) != 0)
		return -1;
	p = arg + len;
	while (*p == ' ')
		p++;
	if (*p != '<' || (end = strchr(p, '>')) == NULL)
		return -1;
	p++;
	len = end - p;
	if (len >= outlen)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	for (p = out; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) || *p == ' ' || *p == '<' ||
		    *p == '>')
			return -1;
	if (len > 0 && (p = strrchr(out, '@')) != NULL &&
	    (p == out || p[1] == '\0'))
		return -1;
	for (end++; *end == ' '; end++)
		;
	*params = end;
	return 0;
}

static void
smtp_cmd_helo(struct smtp_session *s, const char *arg, int esmtp)
{
	if (arg[0] == '\0') {
		smtp_reply(s, "501 5.5.4 %s requires a domain name",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	if (strlcpy(s->helo, arg, sizeof(s->helo)) >= sizeof(s->helo)) {
		smtp_reply(s, "501 5.5.4 Domain name too long");
		return;
	}
	smtp_transaction_reset(s);
	s->esmtp = esmtp;
	s->state = S_HELO;
	if (!esmtp) {
		smtp_reply(s, "250 %s Hello %s [%s]", env->hostname, arg,
		    s->addr);
		return;
	}
	smtp_reply(s, "250-%s Hello %s [%s]", env->hostname, arg, s->addr);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-SIZE %zu", env->max_message_size);
	smtp_reply(s, "250 PIPELINING");
}

static void
smtp_cmd_mail(struct smtp_session *s, const char *arg)
{
	struct ibuf	*b;
	const char	*params;

	if (s->state < S_HELO) {
		smtp_reply(s, "503 5.5.1 Say HELO or EHLO first");
		return;
	}
	if (s->state > S_HELO) {
		smtp_reply(s, "503 5.5.1 Sender already given");
		return;
	}
	if (smtp_parse_path(arg, "FROM:", s->sender, sizeof(s->sender),
	    &params) == -1) {
		s->sender[0] = '\0';
		smtp_reply(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	b = proc_create(IMSG_SMTP_LOOKUP_MAIL, s->id, -1);
	imsg_add_string(b, s->sender);
	imsg_add_u32(b, sizeof(s->ss));
	imsg_add_data(b, &s->ss, sizeof(s->ss));
	proc_close(PROC_LOOKUP, b);
	s->waiting = 1;
}

static void
smtp_cmd_rcpt(struct smtp_session *s, const char *arg)
{
	struct ibuf	*b;
	const char	*params;

	if (s->state < S_MAIL) {
		smtp_reply(s, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (s->nrcpt >= SMTP_MAX_RCPT) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (smtp_parse_path(arg, "TO:", s->pending_rcpt,
	    sizeof(s->pending_rcpt), &params) == -1 ||
	    s->pending_rcpt[0] == '\0') {
		smtp_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	b = proc_create(IMSG_SMTP_LOOKUP_RCPT, s->id, -1);
	imsg_add_string(b, s->sender);
	imsg_add_string(b, s->pending_rcpt);
	imsg_add_u32(b, sizeof(s->ss));
	imsg_add_data(b, &s->ss, sizeof(s->ss));
	proc_close(PROC_LOOKUP, b);
	s->waiting = 1;
}

static void
smtp_cmd_data(struct smtp_session *s, const char *arg)
{
	if (s->state < S_MAIL) {
		smtp_reply(s, "503 5.5.1 Need MAIL before DATA");
		return;
	}
	if (s->state < S_RCPT) {
		smtp_reply(s, "503 5.5.1 Need RCPT before DATA");
		return;
	}
	if (arg[0] != '\0') {
		smtp_reply(s, "501 5.5.4 DATA takes no argument");
		return;
	}
	proc_compose(PROC_QUEUE, IMSG_SMTP_QUEUE_CREATE, s->id, -1, NULL, 0);
	s->waiting = 1;
}

static void
smtp_command(struct smtp_session *s, char *line)
{
	char	*arg;

	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);

	if (strcasecmp(line, "EHLO") == 0)
		smtp_cmd_helo(s, arg, 1);
	else if (strcasecmp(line, "HELO") == 0)
		smtp_cmd_helo(s, arg, 0);
	else if (strcasecmp(line, "MAIL") == 0)
		smtp_cmd_mail(s, arg);
	else if (strcasecmp(line, "RCPT") == 0)
		smtp_cmd_rcpt(s, arg);
	else if (strcasecmp(line, "DATA") == 0)
		smtp_cmd_data(s, arg);
	else if (strcasecmp(line, "RSET") == 0) {
		smtp_transaction_reset(s);
		smtp_reply(s, "250 2.0.0 Ok");
	} else if (strcasecmp(line, "NOOP") == 0)
		smtp_reply(s, "250 2.0.0 Ok");
	else if (strcasecmp(line, "QUIT") == 0) {
		smtp_reply(s, "221 2.0.0 %s Bye", env->hostname);
		smtp_close_after_reply(s);
	} else if (strcasecmp(line, "VRFY") == 0)
		smtp_reply(s, "252 2.5.0 Cannot VRFY user");
	else if (strcasecmp(line, "HELP") == 0 ||
	    strcasecmp(line, "EXPN") == 0)
		smtp_reply(s, "502 5.5.1 Command not implemented");
	else
		smtp_reply(s, "500 5.5.2 Command unrecognized");
}

static void
smtp_data_begin(struct smtp_session *s, int fd)
{
	char		 date[64];
	struct smtp_rcpt *r;
	time_t		 now;

	if ((s->datafp = fdopen(fd, "w")) == NULL) {
		close(fd);
		smtp_transaction_reset(s);
		smtp_reply(s, "451 4.3.0 Temporary failure");
		return;
	}
	now = time(NULL);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    gmtime(&now));
	fprintf(s->datafp, "Received: from %s (%s [%s])\n\tby %s with %s "
	    "id %08x", s->helo, s->addr, s->addr, env->hostname,
	    s->esmtp ? "ESMTP" : "SMTP", s->msgid);
	r = TAILQ_FIRST(&s->rcpts);
	if (s->nrcpt == 1)
		fprintf(s->datafp, "\n\tfor <%s>", r->addr);
	fprintf(s->datafp, ";\n\t%s\n", date);
	s->state = S_DATA;
	s->datalen = 0;
	s->data_bol = 1;
	s->data_toobig = 0;
	s->data_error = 0;
	bufferevent_set_timeouts(s->bev,
	    &(struct timeval){ SMTP_DATA_TIMEOUT, 0 }, NULL);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
smtp_data_write(struct smtp_session *s, const char *p, size_t len)
{
	if (s->data_toobig || s->data_error)
		return;
	s->datalen += len;
	if (s->datalen > env->max_message_size) {
		s->data_toobig = 1;
		return;
	}
	if (fwrite(p, 1, len, s->datafp) != len)
		s->data_error = 1;
}

static void
smtp_data_end(struct smtp_session *s)
{
	struct smtp_rcpt	*r;
	struct ibuf		*b;
	int			 failed;

	s->state = S_HELO;
	bufferevent_set_timeouts(s->bev,
	    &(struct timeval){ SMTP_CMD_TIMEOUT, 0 }, NULL);
	failed = fflush(s->datafp) == EOF || ferror(s->datafp);
	if (fclose(s->datafp) == EOF)
		failed = 1;
	s->datafp = NULL;
	if (s->data_toobig) {
		smtp_transaction_reset(s);
		smtp_reply(s, "552 5.3.4 Message too big");
		return;
	}
	if (failed || s->data_error) {
		log_warnx("smtp-in session=%08x result=tempfail "
		    "reason=\"cannot write message\"", s->id);
		smtp_transaction_reset(s);
		smtp_reply(s, "451 4.3.0 Temporary failure writing message");
		return;
	}
	TAILQ_FOREACH(r, &s->rcpts, entry) {
		b = proc_create(IMSG_SMTP_QUEUE_ENVELOPE, s->id, -1);
		imsg_add_u32(b, s->msgid);
		imsg_add_string(b, s->sender);
		imsg_add_string(b, r->addr);
		imsg_add_string(b, r->action);
		imsg_add_string(b, r->user);
		imsg_add_string(b, s->helo);
		imsg_add_string(b, s->addr);
		proc_close(PROC_QUEUE, b);
	}
	proc_compose(PROC_QUEUE, IMSG_SMTP_QUEUE_COMMIT, s->id, -1,
	    &s->msgid, sizeof(s->msgid));
	s->waiting = 1;
}

/*
 * One line of message data.  The line ends with LF; only ".<CR><LF>"
 * ends the message, and a leading dot is removed (RFC 5321 4.5.2).
 * Lines are stored with LF endings.
 */
static void
smtp_data_line(struct smtp_session *s, char *line, size_t len, int complete)
{
	int	 crlf;

	if (!complete) {
		/* Part of an overlong line: store it as it comes. */
		if (s->data_bol && line[0] == '.') {
			line++;
			len--;
		}
		smtp_data_write(s, line, len);
		s->data_bol = 0;
		return;
	}
	crlf = len >= 2 && line[len - 2] == '\r';
	if (s->data_bol && crlf && len == 3 && line[0] == '.') {
		smtp_data_end(s);
		return;
	}
	len -= crlf ? 2 : 1;
	if (s->data_bol && len > 0 && line[0] == '.') {
		line++;
		len--;
	}
	smtp_data_write(s, line, len);
	smtp_data_write(s, "\n", 1);
	s->data_bol = 1;
}

static void
smtp_command_line(struct smtp_session *s, char *line, size_t len)
{
	/* len counts the LF; the limit counts CR and LF (RFC 5321 4.5.3.1.4) */
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (memchr(line, '\0', len) != NULL) {
		smtp_reply(s, "500 5.5.2 Bad command line");
		return;
	}
	log_debug("smtp-in session=%08x command=\"%s\"", s->id, line);
	smtp_command(s, line);
}

static void
smtp_long_line(struct smtp_session *s)
{
	log_info("smtp-in session=%08x address=%s result=refused "
	    "reason=line-too-long", s->id, s->addr);
	smtp_reply(s, "500 5.5.2 Line too long");
	if (++s->longlines >= SMTP_MAX_LONGLINES) {
		smtp_reply(s, "421 4.7.0 %s Too many errors", env->hostname);
		smtp_close_after_reply(s);
	}
}

static void
smtp_process(struct smtp_session *s)
{
	struct evbuffer		*in;
	struct evbuffer_ptr	 eol;
	char			 buf[SMTP_DATA_CHUNK + 1];
	size_t			 len, avail;

	in = bufferevent_get_input(s->bev);
	while (!s->waiting && s->state != S_QUIT) {
		avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (s->state == S_DATA) {
			if (eol.pos == -1 && avail < SMTP_DATA_CHUNK)
				break;
			len = eol.pos == -1 || eol.pos >= SMTP_DATA_CHUNK ?
			    SMTP_DATA_CHUNK - 1 : (size_t)eol.pos + 1;
			evbuffer_remove(in, buf, len);
			buf[len] = '\0';
			smtp_data_line(s, buf, len, buf[len - 1] == '\n');
			continue;
		}
		if (s->skipline) {
			len = eol.pos == -1 ? avail : (size_t)eol.pos + 1;
			evbuffer_drain(in, len);
			if (eol.pos != -1)
				s->skipline = 0;
			continue;
		}
		if (eol.pos == -1 && avail <= SMTP_LINE_MAX)
			break;
		if (eol.pos == -1 || eol.pos + 1 > SMTP_LINE_MAX) {
			s->skipline = 1;
			smtp_long_line(s);
			continue;
		}
		len = eol.pos + 1;
		evbuffer_remove(in, buf, len);
		buf[len] = '\0';
		smtp_command_line(s, buf, len);
	}
}

static void
smtp_read(struct bufferevent *bev, void *arg)
{
	smtp_process(arg);
}

/* Lookup answered a MAIL or RCPT. */
void
smtp_session_lookup_reply(uint32_t id, uint32_t type, struct imsg *imsg)
{
	struct smtp_session	*s;
	struct smtp_rcpt	*r;
	char			 reply[SMTP_LINE_MAX];
	char			 action[ENVELOPE_NAMEMAX], user[ENVELOPE_NAMEMAX];
	uint32_t		 status;

	status = imsg_get_u32(imsg);
	imsg_get_string(imsg, reply, sizeof(reply));
	if (type == IMSG_LOOKUP_SMTP_RCPT) {
		imsg_get_string(imsg, action, sizeof(action));
		imsg_get_string(imsg, user, sizeof(user));
	}
	proc_check(PROC_LOOKUP, imsg);
	if ((s = smtp_session_find(id)) == NULL || !s->waiting)
		fatalx("smtp: lookup answer for no question");
	s->waiting = 0;
	if (s->dead) {
		smtp_free(s, "disconnected");
		return;
	}

	if (type == IMSG_LOOKUP_SMTP_MAIL) {
		if (status == LOOKUP_OK) {
			s->state = S_MAIL;
			smtp_reply(s, "250 2.1.0 Ok");
		} else {
			s->sender[0] = '\0';
			smtp_reply(s, "%s", reply);
		}
	} else {
		if (status == LOOKUP_OK) {
			if ((r = calloc(1, sizeof(*r))) == NULL)
				fatal("calloc");
			strlcpy(r->addr, s->pending_rcpt, sizeof(r->addr));
			strlcpy(r->action, action, sizeof(r->action));
			strlcpy(r->user, user, sizeof(r->user));
			TAILQ_INSERT_TAIL(&s->rcpts, r, entry);
			s->nrcpt++;
			s->state = S_RCPT;
			smtp_reply(s, "250 2.1.5 Ok");
		} else
			smtp_reply(s, "%s", reply);
		log_info("smtp-in session=%08x address=%s from=<%s> to=<%s> "
		    "result=%s", s->id, s->addr, s->sender, s->pending_rcpt,
		    status == LOOKUP_OK ? "accepted" : "refused");
	}
	smtp_process(s);
}

/* The queue answered a request for a message file or a commit. */
void
smtp_session_queue_reply(uint32_t id, uint32_t type, struct imsg *imsg)
{
	struct smtp_session	*s;
	uint32_t		 status, msgid;
	int			 fd;

	status = imsg_get_u32(imsg);
	msgid = imsg_get_u32(imsg);
	proc_check(PROC_QUEUE, imsg);
	if ((s = smtp_session_find(id)) == NULL || !s->waiting)
		fatalx("smtp: queue answer for no question");
	s->waiting = 0;
	fd = imsg->fd;
	imsg->fd = -1;

	if (type == IMSG_QUEUE_SMTP_CREATE) {
		if (status == 0 && fd == -1)
			fatalx("smtp: message file without a descriptor");
		if (status == 0)
			s->msgid = msgid;
		if (s->dead) {
			if (fd != -1)
				close(fd);
			smtp_free(s, "disconnected");
			return;
		}
		if (status != 0) {
			smtp_reply(s, "%s", status == 2 ?
			    "452 4.3.1 Insufficient system storage" :
			    "451 4.3.0 Temporary failure");
		} else
			smtp_data_begin(s, fd);
	} else {
		s->msgid = 0;
		if (status == 0)
			log_info("smtp-in session=%08x address=%s msgid=%08x "
			    "from=<%s> rcpts=%zu size=%zu result=queued",
			    s->id, s->addr, msgid, s->sender, s->nrcpt,
			    s->datalen);
		smtp_rcpts_clear(s);
		s->sender[0] = '\0';
		if (s->dead) {
			smtp_free(s, "disconnected");
			return;
		}
		if (status == 0)
			smtp_reply(s, "250 2.0.0 Ok: queued as %08x", msgid);
		else if (status == 2)
			smtp_reply(s, "452 4.3.1 Insufficient system storage");
		else
			smtp_reply(s, "451 4.3.0 Temporary failure");
	}
	smtp_process(s);
}
