/*
 * The listener's session, shared by the files that run it: the state
 * machine and commands (smtp_session.c), the DATA phase (smtp_data.c)
 * and AUTH (smtp_auth.c).  Private to the smtp process.
 */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <event.h>
#include <stdio.h>
#include <time.h>

#include <event.h>

#include "smtpd.h"
#include "io.h"

/*
 * Command line limits, CRLF included: 512 octets (RFC 5321 4.5.3.1.4),
 * plus what each advertised extension adds to MAIL and RCPT: SIZE 26
 * (RFC 1870), AUTH= 500 (RFC 4954), RET and ENVID 100, NOTIFY and ORCPT
 * 500 (RFC 3461), BODY= 16 (RFC 6152), SMTPUTF8 10 (RFC 6531).  AUTH
 * lines may be 12288 octets (RFC 4954 4).
 */
#define LINE_MAIL		(SMTP_LINE_MAX + 26 + 500 + 100 + 16 + 10)
#define LINE_RCPT		(SMTP_LINE_MAX + 500)
#define LINE_AUTH		12288
#define DATA_CHUNK		65536
#define MAX_LONGLINES		3
#define RCPT_NOTIFY_MAX		64	/* NEVER, or SUCCESS,FAILURE,DELAY */
#define MAIL_RET_MAX		8	/* FULL or HDRS */

/* The input io holds back must be enough for a chunk or a whole line. */
#if DATA_CHUNK > IO_INPUT_MAX || LINE_AUTH >= IO_INPUT_MAX
#error "io input bound too small for the longest line"
#endif

/* How long a client has to read a 421 sent at a deadline. */
#define SMTP_CLOSE_GRACE	10

/* masquerade: what the message's From: field says of its sender. */
enum smtp_from {
	FROM_NONE,		/* no From: field yet */
	FROM_OWNED,		/* one, in the envelope sender's domain */
	FROM_FOREIGN,		/* another domain, several, or unreadable */
};

enum smtp_state {
	S_CONNECTING,		/* asking lookup about the client */
	S_HANDSHAKE,		/* smtps: TLS before the banner */
	S_GREETED,
	S_HELO,
	S_MAIL,
	S_RCPT,
	S_DATA,
	S_QUIT,
};

enum smtp_auth_step {
	AUTH_NONE,
	AUTH_PLAIN_WAIT,	/* 334 sent, waiting for the response */
	AUTH_LOGIN_USER,
	AUTH_LOGIN_PASS,
};

/* A recipient lookup accepted; where it goes is lookup's business. */
struct smtp_rcpt {
	TAILQ_ENTRY(smtp_rcpt)	 entry;
	char			 addr[ENVELOPE_ADDRMAX];
};

struct smtp_session {
	RB_ENTRY(smtp_session)	 node;
	uint32_t		 id;
	struct io		*io;
	struct smtpd_config	*conf;		/* l is one of its */
	struct listener		*l;
	struct sockaddr_storage	 ss;
	char			 addr[ADDR_TEXT_MAX];
	char			 rdns[ENVELOPE_HOSTMAX];
	enum smtp_state		 state;
	int			 waiting;	/* for lookup, auth or queue */
	int			 dead;		/* client gone while waiting */
	int			 connect_failed; /* lookup never heard of it */
	int			 starttls;	/* 220 sent, TLS next */
	const char		*closing;	/* why, once the last reply is out */
	int			 esmtp;
	int			 skipline;	/* discarding an overlong line */
	int			 longlines;
	size_t			 errors;
	int			 authenticated;
	char			 auth_user[ENVELOPE_NAMEMAX];
	enum smtp_auth_step	 auth_step;
	char			 auth_login[ENVELOPE_NAMEMAX];
	char			 helo[ENVELOPE_HOSTMAX];

	/* The mail transaction. */
	char			 sender[ENVELOPE_ADDRMAX];
	int			 smtputf8;
	char			 pending_rcpt[ENVELOPE_ADDRMAX];
	TAILQ_HEAD(, smtp_rcpt)	 rcpts;
	size_t			 nrcpt;
	uint32_t		 msgid;
	int			 datafd;	/* the queue's pipe, or -1 */
	struct evbuffer		*dataout;	/* what waits for the pipe */
	struct event		 data_ev;
	uint64_t		 datasent;	/* all put into dataout */
	int			 data_blocked;	/* dataout is full */
	int			 data_ending;	/* flush, then commit */
	int			 data_broken;	/* the queue closed the pipe */
	size_t			 datalen;
	int			 data_bol;	/* at the start of a line */
	int			 data_crlf;	/* the last line ended in CRLF */
	int			 data_toobig;
	int			 data_error;
	int			 data_bare;	/* a CR or LF alone was seen */
	int			 data_inheaders;
	int			 data_named_sender;
	/* masquerade: the From: field being read, and what it said. */
	char			*data_from;
	size_t			 data_fromlen;
	enum smtp_from		 data_from_state;
	size_t			 data_hops;	/* Received: lines seen */
	int			 data_nul;	/* a NUL was seen */

	/* Deadlines, on the monotonic clock (smtp_deadline.c). */
	struct event		 deadline;
	time_t			 started;	/* the connection */
	time_t			 phase_start;	/* this command, or the 354 */
	int			 phase_data;	/* the phase is a message */
	/* A local submission: who, as lookup read it from the socket. */
	char			 local_user[ENVELOPE_NAMEMAX];
	uint32_t		 local_uid;
	char			*sender_warning;	/* local, marked */
};

void	smtp_reply(struct smtp_session *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	smtp_transaction_reset(struct smtp_session *);
void	smtp_close_after_reply(struct smtp_session *, const char *);
int	smtp_pipelined_past(struct smtp_session *, const char *);
const char *smtp_tls_verify(struct smtp_session *);
void	smtp_process(struct smtp_session *);
void	smtp_free(struct smtp_session *, const char *);
struct smtp_session *smtp_session_find(uint32_t);

/* smtp_data.c */
void	smtp_data_begin(struct smtp_session *, int);
void	smtp_data_line(struct smtp_session *, char *, size_t, int);
void	smtp_data_flush(struct smtp_session *);
void	smtp_data_close(struct smtp_session *);

/* smtp_deadline.c */
void	smtp_deadline_init(struct smtp_session *);
void	smtp_deadline_command(struct smtp_session *);
void	smtp_deadline_update(struct smtp_session *);
void	smtp_deadline_clear(struct smtp_session *);
/* smtp_local.c */
void	smtp_local_reply(uint32_t, uint32_t, struct imsg *);
void	smtp_local_received(struct smtp_session *, const char *);

/* smtp_auth.c */
int	smtp_auth_offered(struct smtp_session *);
void	smtp_auth_continue(struct smtp_session *, char *);
void	smtp_cmd_auth(struct smtp_session *, char *);

#endif
