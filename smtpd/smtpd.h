/*
 * Definitions shared by the processes of smtpd: the roles, the imsg
 * types exchanged between them, and the parsed configuration.
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <limits.h>
#include <netdb.h>
#include <stdint.h>

#include "imsg.h"
#include "log.h"
#include "proc.h"
#include "imsg_types.h"
#include "util.h"
#include "conffile.h"
#include "control_msg.h"
#include "../lookup/lookup.h"
#include "../relayd-policy/policy.h"
#include "../queue/queue.h"

/* smtpctl names a table within the bounds lookup keeps. */
_Static_assert(CTL_TABLE_MAX == TABLE_NAMESZ, "CTL_TABLE_MAX");

#define SMTPD_CONFIG		"/etc/smtpd/smtpd.conf"
#define SMTPD_QUEUE_DIR		"/var/spool/smtpd"
#define SMTPD_SOCKET		"/var/run/smtpd.sock"
#define SMTPD_SUBMIT_SOCKET	"/var/run/smtpd-submit.sock"
#define SMTPD_SUBMIT_NAME	"smtpd-submit.sock"	/* beside control */
#define SMTPD_OFFLINE_DIR	"/var/spool/smtpd-offline"
#define SMTPD_SUBMIT_GROUP	"_smtpsub"	/* may write offline files */
#define SMTPD_OFFLINE_MAX	(SMTPD_MAXMESSAGESIZE + 64 * 1024)
#define SMTPD_EMPTY_DIR		"/var/empty"
#define SMTPD_USER		"_smtpd"
#define SMTPD_QUEUE_USER	"_smtpq"
#define SMTPD_ALIAS_USER	"nobody"	/* runs alias files, commands */
#define SMTPD_MAXMESSAGESIZE	(35 * 1024 * 1024)
#define SMTPD_PORT		25

#define SMTP_LINE_MAX		512
#define SMTP_MAILBOX_MAX	256	/* RFC 5321 4.5.3.1.3 path, 254 + <> */
#define SMTP_LOCALPART_MAX	64
#define SMTP_DOMAIN_MAX		255
#define SMTP_MAX_RCPT		100
#define SMTP_MAX_ENVELOPES	1000	/* per message, aliases expanded */
#define SMTP_FD_RESERVE		64	/* see config_fd_sessions() */
#define SMTP_FD_PER_SESSION	2
#define RETRY_DELAYS_MAX	16


/*
 * What each role may do once it has set itself up.  The words are
 * those of sandbox(3)-like promises: see sandbox.c for what each allows.
 */
#define PROMISES_SMTP		"stdio accept recvfd"
#define PROMISES_LOOKUP		"stdio rpath getpw dns"
#define PROMISES_AUTH		"stdio rpath"
#define PROMISES_QUEUE		"stdio rpath wpath cpath fattr sendfd"
#define PROMISES_MTA		"stdio inet dns recvfd"
#define PROMISES_CONTROL	"stdio accept recvfd sendfd"

/* Answers from lookup and the queue. */
#define LOOKUP_OK		0
#define LOOKUP_TEMPFAIL		1
#define LOOKUP_PERMFAIL		2

#define DELIVERY_OK		0
#define DELIVERY_TEMPFAIL	1
#define DELIVERY_PERMFAIL	2

/*
 * The parent's answer about a ~/.forward: a user name, one of these,
 * and a piece of the text; the pieces of one file come in a row.
 */
#define FORWARD_NONE		0	/* no file, or not one to trust */
#define FORWARD_MORE		1	/* a piece, more follow */
#define FORWARD_END		2	/* the last piece */
#define FORWARD_SIZE_MAX	(64 * 1024)
#define FORWARD_CHUNK_MAX	8192

/* Answers from the auth process. */
#define AUTH_OK			0
#define AUTH_FAIL		1
#define AUTH_BLOCKED		2	/* too many failures from the network */
#define AUTH_TEMPFAIL		3	/* or too many for the user */

/* A certificate and its key, by name; read by the listener at start. */
struct pki {
	TAILQ_ENTRY(pki)	 entry;
	char			 name[SMTP_DOMAIN_MAX + 1];
	char			 cert[PATH_MAX];
	char			 key[PATH_MAX];
	int			 line;
};
TAILQ_HEAD(pki_list, pki);

#define LISTEN_TLS		0x01	/* offer STARTTLS */
#define LISTEN_TLS_REQUIRE	0x02	/* no MAIL before STARTTLS */
#define LISTEN_SMTPS		0x04	/* TLS from the first byte */
#define LISTEN_AUTH		0x08	/* offer AUTH (over TLS) */
#define LISTEN_AUTH_PLAINTEXT	0x10	/* also offer AUTH without TLS */
#define LISTEN_REJECT_NULL	0x20	/* refuse MAIL FROM:<> */
#define LISTEN_REQUIRE_SENDER	0x40	/* <> must name a From: */
#define LISTEN_LOCAL		0x80	/* the local submission socket */
#define LISTEN_AUTH_REQUIRE	0x100	/* no MAIL before AUTH */
#define LISTEN_MASQUERADE	0x200	/* From: in the sender's domain */
#define LISTEN_BARE_LF_NORMALIZE 0x400	/* a bare LF ends a line too */
#define LISTEN_VERIFY		0x800	/* ask for a client certificate */
#define LISTEN_VERIFY_REQUIRE	0x1000	/* no MAIL without a verified one */

#define LISTEN_PKI_MAX		16
#define LISTEN_CIPHERS_MAX	1024

/* The TLS policy of a listener; the smtp process makes its context. */
struct listener_tls {
	char			 pki[LISTEN_PKI_MAX][SMTP_DOMAIN_MAX + 1];
	int			 npki;		/* the first is the default */
	char			 ciphers[LISTEN_CIPHERS_MAX]; /* "": libtls' */
	uint32_t		 protocols;	/* 0: TLS 1.2 and 1.3 */
	char			 ca[PATH_MAX];	/* for client certificates */
};

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 addr[NI_MAXHOST];
	in_port_t		 port;
	int			 fd;
	int			 line;
	uint32_t		 index;
	int			 flags;
	struct listener_tls	 tls;
	char			 auth_table[TABLE_NAMESZ];
	char			 senders_table[TABLE_NAMESZ];
	struct tls		*tls_ctx;	/* the smtp process's */
};
TAILQ_HEAD(listener_list, listener);

enum action_type {
	ACTION_MAILDIR,
	ACTION_MBOX,
	ACTION_MDA,
	ACTION_LMTP,
	ACTION_RELAY,
};

#define ACTION_COMMAND_MAX	1024

/*
 * Outbound relay: an action's "relay" options.  Without a host the
 * destination comes from DNS (MX, then the domain's own addresses).
 */
#define RELAY_TLS_OPPORTUNISTIC	0	/* smtp://: STARTTLS when offered */
#define RELAY_TLS_STARTTLS	1	/* smtp+tls://: STARTTLS required */
#define RELAY_TLS_SMTPS		2	/* smtps://: TLS from the first byte */
#define RELAY_TLS_NONE		3	/* smtp+notls://: never TLS */

struct relay_opts {
	char			 host[SMTP_DOMAIN_MAX + 1];	/* "" MX */
	in_port_t		 port;		/* 0: 25, or 465 for smtps */
	int			 tls;		/* RELAY_TLS_* */
	int			 tls_require;	/* "tls": TLS or nothing */
	int			 tls_verify;	/* chain and name checked */
	char			 label[SMTP_LOCALPART_MAX + 1];	/* auth key */
	char			 auth_table[TABLE_NAMESZ];
	char			 helo[SMTP_DOMAIN_MAX + 1];	/* "" hostname */
	char			 src[NI_MAXHOST];	/* "" any */
	int			 backup;	/* cut MX at backup_mx */
	char			 backup_mx[SMTP_DOMAIN_MAX + 1];
	char			 domain_table[TABLE_NAMESZ];
};

/* The mta's knobs ("mta ..." in smtpd.conf). */
#define MTA_FAMILY_ANY		0	/* IPv6 first, then IPv4 */
#define MTA_FAMILY_INET4	1
#define MTA_FAMILY_INET6	2

struct mta_config {
	size_t			 max_sessions;		/* in all */
	size_t			 max_sessions_domain;	/* per destination */
	size_t			 max_sessions_host;	/* per MX address */
	size_t			 max_rcpt;	/* per transaction */
	size_t			 max_messages;	/* per connection */
	int			 timeout_connect;	/* seconds */
	int			 timeout_command;
	int			 timeout_data;		/* the final dot */
	int			 family;		/* MTA_FAMILY_* */
	char			 resolver[NI_MAXHOST];	/* "" resolv.conf */
	in_port_t		 resolver_port;
	in_port_t		 mx_port;	/* 0 is 25; for tests */
};

struct action {
	TAILQ_ENTRY(action)	 entry;
	char			 name[POLICY_NAMESZ];
	enum action_type	 type;
	/* maildir: "" is ~/Maildir; mbox: "" is /var/mail/USER */
	char			 path[PATH_MAX];
	char			 command[ACTION_COMMAND_MAX];	/* mda */
	char			 dest[PATH_MAX];	/* lmtp */
	int			 lmtp_rcpt;	/* lmtp: RCPT TO the address */
	char			 alias_table[TABLE_NAMESZ];
	char			 internal_table[TABLE_NAMESZ];
	char			 virtual_table[TABLE_NAMESZ];
	char			 userbase_table[TABLE_NAMESZ];
	struct relay_opts	 relay;
	int			 line;
	int			 used;
};
TAILQ_HEAD(action_list, action);

/* Who may use VRFY and EXPN. */
enum smtp_allow {
	SMTP_ALLOW_OFF,
	SMTP_ALLOW_AUTH,
	SMTP_ALLOW_ON,
};

struct smtpd_config {
	char			*file;
	uint32_t		 generation;	/* 1 at start, +1 a reload */
	int			 refs;		/* sessions begun under it */
	int			 retired;	/* a newer one is in use */
	char			 hostname[SMTP_DOMAIN_MAX + 1];
	char			 banner[SMTP_LINE_MAX];	/* "" is "HOST ESMTP" */
	char			 queue_dir[PATH_MAX];
	char			 control_socket[PATH_MAX];
	char			 control_group[LOGIN_NAME_MAX];	/* "" none */
	size_t			 max_message_size;
	size_t			 max_rcpt;
	size_t			 max_sessions;
	size_t			 max_sessions_per_addr;
	char			 sessions_exempt[TABLE_NAMESZ];	/* "" none */
	size_t			 max_errors;
	size_t			 max_hops;	/* Received: lines */
	size_t			 max_auth_failures;	/* per network */
	size_t			 max_auth_user_failures;
	int			 timeout_command;	/* seconds */
	int			 timeout_data;		/* silence in DATA */
	int			 timeout_message;	/* the DATA phase */
	int			 timeout_session;
	int			 auth_failure_delay;
	int			 queue_ttl;		/* seconds to bounce */
	int			 retry[RETRY_DELAYS_MAX];	/* seconds */
	int			 nretry;
	char			 subaddr_delim;		/* '\0' for none */
	int			 bounce_warn;		/* seconds to a delay notice */
	int			 help;
	enum smtp_allow		 vrfy;
	enum smtp_allow		 expn;
	char			 killfile[TABLE_NAMESZ];	/* "" none */
	char			 offline_dir[PATH_MAX];
	char			 submit_group[LOGIN_NAME_MAX];	/* "" none */
	struct listener_list	 listeners;
	uint32_t		 nlisteners;
	struct table_list	 tables;
	struct pki_list		 pkis;
	struct action_list	 actions;
	struct policy_rules	 rules;
	struct mta_config	 mta;
};


extern struct smtpd_config	*env;

/* parse.y */
#define PARSE_TABLES	0x1	/* load tables, check groups and rules */
#define PARSE_PKI	0x2	/* read certificates, keys and CAs */
struct smtpd_config	*parse_config(const char *, int);

/* config.c */
struct smtpd_config	*config_new(void);
void			 config_free(struct smtpd_config *);

/*
 * A session keeps the configuration it began under until it ends; one
 * that a reload replaced is freed when its last session is over.
 */
static inline void
config_ref(struct smtpd_config *c)
{
	c->refs++;
}

static inline void
config_unref(struct smtpd_config *c)
{
	if (--c->refs < 0)
		fatalx("configuration released once too often");
	if (c->refs == 0 && c->retired)
		config_free(c);
}

static inline void
config_retire(struct smtpd_config *c)
{
	c->retired = 1;
	if (c->refs == 0)
		config_free(c);
}

/* What a "listen on" line says, before it becomes listeners. */
struct listen_opts {
	long long		 port;		/* -1: the default */
	int			 flags;
	struct listener_tls	 tls;
	char			 auth_table[TABLE_NAMESZ];
	char			 senders_table[TABLE_NAMESZ];
};

/* config_listen.c: errors as text, for the parser to place. */
int	listen_add(struct smtpd_config *, const char *,
	    const struct listen_opts *, int, char *, size_t);
int	listen_socket_add(struct smtpd_config *, const char *,
	    const struct listen_opts *, int, char *, size_t);
int	listen_socket_default(struct smtpd_config *, int, char *, size_t);

#define DURATION_MAX	(30 * 86400)	/* seconds */
int	config_duration_parse(const char *);
int	config_size_parse(const char *, size_t *);

struct action		*config_action(struct smtpd_config *, const char *);
int			 config_alias_table(struct smtpd_config *,
			    const struct table *);
void			 config_includes_load(struct smtpd_config *);
struct pki		*config_pki(struct smtpd_config *, const char *);
int			 config_check(struct smtpd_config *, int);
size_t			 config_fd_sessions(unsigned long long);
struct tls;
struct tls		*config_tls_server(struct smtpd_config *,
			    struct listener *, char *, size_t);

/* config.c: a relay URL into an action's options; -1 with err set. */
int			 relay_url_parse(const char *, struct relay_opts *,
			    char *, size_t);

/* forward.c: ~/.forward, read by the parent. */
struct passwd;
char		*forward_read(const struct passwd *, char *, size_t);
void		 forward_lookup(struct imsg *);
int		 forward_allows(const struct passwd *, const char *);

/* smtpd.c: what the parent's reload shares with its start. */
int		 parent_role_files(enum smtp_proc);
void		 parent_mark_relay_tables(struct smtpd_config *,
		    struct conffiles *);
void		 parent_fd_limit(struct smtpd_config *, int);
int		 listener_bind(struct listener *);
void		 parent_send_sockets(struct smtpd_config *);

/* reload.c: the parent's reload. */
void		 reload_init(const char *);
void		 reload_start(uint32_t);
void		 reload_child_done(enum smtp_proc, struct imsg *);
struct smtpd_config *reload_receive(struct imsg *, int);
void		 reload_table(struct imsg *);
struct conffiles *reload_table_receive(struct imsg *, char *, size_t);
void		 reload_confirm(struct smtpd_config *);

/* offline.c: the offline directory, submitted at start. */
void		 offline_prepare(void);
void		 offline_start(void);
void		 offline_stop(void);
int		 offline_reaped(pid_t);

/* The roles' entry points. */
void	smtp_main(void) __attribute__((__noreturn__));
void	lookup_main(void) __attribute__((__noreturn__));
void	auth_main(void) __attribute__((__noreturn__));
void	queue_main(void) __attribute__((__noreturn__));
void	mta_main(void) __attribute__((__noreturn__));
void	control_main(void) __attribute__((__noreturn__));

/* sandbox.c */
#include "sandbox.h"


#endif
