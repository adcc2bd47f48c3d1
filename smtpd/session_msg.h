/*
 * The messages about a session between the listener and lookup, lookup
 * and auth, and the listener and the queue, and the parent's handing of
 * the listening sockets to the listener, each with its writer and its
 * reader side by side in session_msg.c, which every process links:
 * one layout, one place.  A reader returns 0, or
 * -1 when the payload is not exactly what its writer makes; what a
 * listener sent is then refused, never obeyed.
 */
#ifndef SESSION_MSG_H
#define SESSION_MSG_H

#include <stdint.h>

#include "imsg.h"

#define MSG_RET_MAX		64	/* FULL or HDRS, with room */
#define MSG_NOTIFY_MAX		64	/* NEVER, or SUCCESS,FAILURE,DELAY */
#define MSG_USER_MAX		256	/* a login, its NUL included */
#define MSG_PASSWORD_MAX	1025
#define MSG_TEXT_MAX		512	/* a reply line */
#define MSG_USERS_MAX		64	/* names in a VRFY or EXPN answer */
#define MSG_NAME_MAX		64	/* one of them */
#define MSG_ADDR_MAX		256	/* ENVELOPE_ADDRMAX */
#define MSG_HOST_MAX		256	/* ENVELOPE_HOSTMAX */
#define MSG_ORCPT_MAX		512	/* ENVELOPE_ORCPTMAX */
#define MSG_TABLE_MAX		64	/* TABLE_NAMESZ */
#define MSG_NETADDR_MAX		64	/* ADDR_TEXT_MAX */

/* IMSG_SMTP_LOOKUP_MAIL: what MAIL FROM and HELO said. */
struct msg_mail {
	char	 sender[MSG_ADDR_MAX];
	char	 helo[MSG_HOST_MAX];
	char	 ret[MSG_RET_MAX];
	char	 envid[MSG_ADDR_MAX];
};

/* IMSG_SMTP_LOOKUP_RCPT: what RCPT TO said. */
struct msg_rcpt {
	char	 rcpt[MSG_ADDR_MAX];
	char	 notify[MSG_NOTIFY_MAX];
	char	 orcpt[MSG_ORCPT_MAX];
};

/* IMSG_SMTP_LOOKUP_AUTH: a login to check; wiped once read. */
struct msg_auth {
	char	 user[MSG_USER_MAX];
	char	 password[MSG_PASSWORD_MAX];
};

/*
 * IMSG_LOOKUP_SMTP_CONNECT, _MAIL, _RCPT, _DATA: a status (LOOKUP_*)
 * and the reply for the client, if any; CONNECT also the client's
 * confirmed host name.
 */
struct msg_answer {
	uint32_t status;
	char	 text[MSG_TEXT_MAX];
	char	 rdns[MSG_HOST_MAX];
};

/* IMSG_LOOKUP_SMTP_VRFY and _EXPN: the local users a name leads to. */
struct msg_users {
	uint32_t n;
	char	 name[MSG_USERS_MAX][MSG_NAME_MAX];
};

/* IMSG_LOOKUP_SMTP_AUTH: auth's verdict (AUTH_*) and the login. */
struct msg_login {
	uint32_t status;
	char	 user[MSG_USER_MAX];
};

/*
 * IMSG_LOOKUP_AUTH_CHECK: a login to check against the table of the
 * session's listener, from the address lookup read off its socket;
 * wiped once read.
 */
struct msg_check {
	char	 table[MSG_TABLE_MAX];
	char	 addr[MSG_NETADDR_MAX];
	char	 user[MSG_USER_MAX];
	char	 password[MSG_PASSWORD_MAX];
};

/* IMSG_AUTH_LOOKUP_RESULT: the verdict (AUTH_*), the table, the user. */
struct msg_verdict {
	uint32_t status;
	char	 table[MSG_TABLE_MAX];
	char	 user[MSG_USER_MAX];
};

/* IMSG_SMTP_QUEUE_COMMIT: the message file is whole, of size bytes. */
struct msg_commit {
	uint32_t msgid;
	uint64_t size;
};

/*
 * IMSG_QUEUE_SMTP_CREATE (with the pipe's write end) and _COMMIT: a
 * status (0 done, 1 try again, 2 no room) and the message's id.
 */
struct msg_stored {
	uint32_t status;
	uint32_t msgid;
};

/* IMSG_LOOKUP_SMTP_LOCAL: the user a local submission comes from. */
struct msg_local {
	char	 user[MSG_NAME_MAX];
	uint32_t uid;
};

void	msg_mail_write(uint32_t, const struct msg_mail *);
int	msg_mail_read(struct imsg *, struct msg_mail *);
void	msg_rcpt_write(uint32_t, const struct msg_rcpt *);
int	msg_rcpt_read(struct imsg *, struct msg_rcpt *);
void	msg_auth_write(uint32_t, const char *, const char *);
int	msg_auth_read(struct imsg *, struct msg_auth *);
void	msg_name_write(uint32_t, uint32_t, const char *);
int	msg_name_read(struct imsg *, char *, size_t);
void	msg_answer_write(uint32_t, uint32_t, const struct msg_answer *);
int	msg_answer_read(struct imsg *, struct msg_answer *);
void	msg_users_write(uint32_t, uint32_t, const struct msg_users *);
int	msg_users_read(struct imsg *, struct msg_users *);
void	msg_login_write(uint32_t, const struct msg_login *);
int	msg_login_read(struct imsg *, struct msg_login *);
void	msg_check_write(uint32_t, const struct msg_check *);
int	msg_check_read(struct imsg *, struct msg_check *);
void	msg_verdict_write(uint32_t, const struct msg_verdict *);
int	msg_verdict_read(struct imsg *, struct msg_verdict *);
void	msg_commit_write(uint32_t, const struct msg_commit *);
int	msg_commit_read(struct imsg *, struct msg_commit *);
void	msg_rollback_write(uint32_t, uint32_t);
int	msg_rollback_read(struct imsg *, uint32_t *);
void	msg_stored_write(uint32_t, uint32_t, const struct msg_stored *, int);
int	msg_stored_read(struct imsg *, struct msg_stored *);
void	msg_session_write(uint32_t, uint32_t, int);
void	msg_local_write(uint32_t, const struct msg_local *);
int	msg_local_read(struct imsg *, struct msg_local *);
void	msg_warn_write(uint32_t, const char *);
int	msg_warn_read(struct imsg *, char *, size_t);
void	msg_listener_write(uint32_t, int);
int	msg_listener_read(struct imsg *, uint32_t *);
void	msg_listeners_done_write(void);
int	msg_listeners_done_read(struct imsg *);

#endif
