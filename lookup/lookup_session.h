/*
 * Private to the lookup process: what lookup_process.c (resolution)
 * and lookup_session.c (the listener's sessions) share.
 */
#ifndef LOOKUP_SESSION_H
#define LOOKUP_SESSION_H

#define ALIAS_MEMBERS_MAX	64
#define SESSION_USER_MAX	256	/* a login name, its NUL included */

/*
 * A table or the DNS failed when a decision needed it: never taken as
 * "not listed", the client is told to try again.
 */
#define REPLY_LOOKUP_TEMPFAIL	"451 4.3.0 Temporary lookup failure"
#define REPLY_LOOKUP_TEMPFAIL_CONNECT	"421 4.3.0 Temporary lookup failure"

/* Whether a destination's ~/.forward is still to be read. */
enum dest_forward {
	DEST_FORWARD_NO,	/* a mailbox as is, a file, a command, ... */
	DEST_FORWARD_ASK,	/* a local user: the parent must read it */
	DEST_FORWARD_ASKED,	/* asked; the answer has not come yet */
};

/*
 * Where one recipient goes: an action and, for local ones, a user; the
 * target is "" for the action's own delivery, "/file" or "|command" of
 * an alias or a ~/.forward, or the address a member forwards to.
 */
struct dest {
	char			 action[ENVELOPE_NAMEMAX];
	char			 user[ENVELOPE_NAMEMAX];
	char			 target[ENVELOPE_TARGETMAX];
	enum dest_forward	 forward;
};

/*
 * Every destination of one recipient, as they are found, in arrays
 * that grow as needed up to ALIAS_MEMBERS_MAX: most recipients have
 * one, and a recipient waiting for ~/.forward files keeps them until
 * the parent answers.  Only lookup_process.c makes and frees them.
 */
struct dests {
	struct dest	*d;
	int		 n;
	int		 dmax;		/* room in d */
	size_t		 size;		/* what they take in the reply */
	/* The users whose ~/.forward has been asked for, once each. */
	char		(*asked)[ENVELOPE_NAMEMAX];
	int		 nasked;
	int		 askedmax;	/* room in asked */
};

/*
 * The facts a recipient is judged by.  For a session they are lookup's
 * own (address, listener) or auth's (the login); only sender and rcpt
 * are the client's words.
 */
struct rcpt_query {
	struct sockaddr_storage	 ss;
	char			 sender[ENVELOPE_ADDRMAX];
	char			 rcpt[ENVELOPE_ADDRMAX];
	char			 rdns[ENVELOPE_HOSTMAX];
	int			 rdns_failed;	/* no rdns: DNS failed */
	char			 auth_user[SESSION_USER_MAX];
	int			 authenticated;
	int			 tls;
	int			 local;
};

/* Who submits on the local socket, from its peer credentials. */
struct local_peer {
	uid_t		 uid;
	pid_t		 pid;
	int		 trusted;	/* may name any sender */
	char		 user[SESSION_USER_MAX];
};

/* lookup_local.c */
const char	*local_attest(int, const struct listener **,
		    struct local_peer *);
int		 local_sender_marked(const struct local_peer *, const char *);

/* lookup_process.c */
struct smtpd_config *lookup_config(void);
struct killfile	*lookup_killfile(void);
int		 lookup_domain_is_local(const char *);
void		 rcpt_start(enum smtp_proc, uint32_t, uint32_t,
		    const struct rcpt_query *);
void		 lookup_vrfy_expn(uint32_t, const char *, int, int);

/* lookup_session.c */
void		 session_dispatch(struct imsg *);
size_t		 session_count(void);
void		 session_auth_result(struct imsg *);
void		 session_rcpt_resolved(uint32_t, uint32_t, const char *,
		    const struct dests *);

/* A system user, as lookup_users.c remembers it. */
struct lookup_user {
	char	 name[ENVELOPE_NAMEMAX];
	uid_t	 uid;
};
const struct lookup_user	*lookup_user_get(const char *);

#endif
