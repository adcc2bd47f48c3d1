/*
 * The smtpd.conf grammar.  Every process parses the same file at start;
 * errors are reported as "file:line: what is wrong" and make the whole
 * parse fail, so a half-understood configuration never runs.
 */
%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "smtpd.h"
#include "mda.h"
#include "macro.h"

static FILE			*fin;
static const char		*fname;
static int			 lineno;
static int			 errors;
static int			 parse_flags;
static struct smtpd_config	*conf;
static struct table		*curtable;
static char			 lasttoken[128];
static char			 firstword[128];	/* unknown word opening a line */
static int			 atlinestart = 1;
static int			 wantname;	/* after "table" or "<": a name */

/* Pushed-back input: macro expansions and one byte of lookahead. */
static unsigned char		*pushbuf;
static size_t			 pushlen, pushsize;

/*
 * What macro expansions may add to one line: a macro that names
 * itself would otherwise expand for ever, or double at each turn.
 */
#define EXPAND_MAX	(64 * 1024)
static size_t			 expanded;

int		 yyparse(void);
static int	 yylex(void);
static int	 lex_token(void);
static void	 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

static int	 table_check(const char *);
static void	 pki_set(const char *, const char *, const char *);
static void	 crit(enum policy_kind, int, const char *);
static void	 rule_defaults(struct policy_rule *);

/* The options of the listen line being read. */
static struct listen_opts	 lopts;
static struct action		*curaction;
static struct policy_rule	*currule;

static void	 listen_auth(const char *, int);
static void	 listen_senders(const char *, int);
static int	 relay_name_check(const char *);
static void	 action_path(const char *, const char *);

typedef struct {
	union {
		long long	 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED 1
%}

%token	ACTION ALIAS ANY AUTH AUTHFAILUREDELAY AUTHPLAINTEXT BANNER CERT
%token	CA CIPHERS PROTOCOLS
%token	COMMANDTIMEOUT CONTROL DATATIMEOUT DIRECTORY DOMAIN EXPN FOR FROM
%token	MESSAGETIMEOUT SESSIONTIMEOUT MAXAUTHUSERFAILURES
%token	HELP HOSTNAME INTERNAL KEY KILLFILE LIMIT LISTEN LMTP LOCAL MAILDIR
%token	MAILFROM MATCH MAXAUTHFAILURES MAXERRORS MAXHOPS MAXMESSAGESIZE MAXRCPT MBOX
%token	MDA EXCEPT
%token	MAXSESSIONS MAXSESSIONSPERADDR OFF ON PKI PORT QUEUE RCPTTO RDNS
%token	REJECT REJECTNULLSENDER RELAY REQUIRESENDER SMTP SMTPS SOCKET SRC
%token	TABLE TLS TLSREQUIRE VRFY TTL BOUNCE WARNINTERVAL VIRTUAL
%token	SUBADDRDELIM GROUP RETRY USERBASE OFFLINE TRUSTEDGROUP
/* outbound relay */
%token	BACKUP CONNECTTIMEOUT FAMILY HELO HOST INET4 INET6 MAXMESSAGES
%token	MAXSESSIONSPERDOMAIN MAXSESSIONSPERHOST MTA MXPORT NOVERIFY
%token	RESOLVER VERIFY
%token	AUTHOPTIONAL SENDERS MASQUERADE BARELF NORMALIZE
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.string>	string tableref
%type	<v.number>	onoff allow duration count negate
/* Strings dropped by error recovery are freed, not leaked. */
%destructor	{ free($$); }	<v.string>
%type	<v.number>	mtafamily tlsverify resolverport lmtprcpt
/* "tls-require verify" and "smtps verify" are read as one option. */
%nonassoc	TLSALONE
%nonassoc	VERIFY

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar varset '\n'
		| grammar option '\n'
		| grammar table '\n'
		| grammar listen '\n'
		| grammar action '\n'
		| grammar match '\n'
		| grammar error '\n'		{ yyerrok; }
		;

string		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", $1) == -1)
				fatal("asprintf");
		}
		;

varset		: STRING '=' string		{
			char	*s;

			for (s = $1; *s != '\0'; s++)
				if (!isalnum((unsigned char)*s) && *s != '_') {
					yyerror("macro name %s is not a word",
					    $1);
					break;
				}
			if (*s == '\0' && macro_set($1, $3, 0) == -1)
				fatal("macro_set");
			free($1);
			free($3);
		}
		;

option		: QUEUE DIRECTORY STRING	{
			if ($3[0] != '/')
				yyerror("queue directory must be an "
				    "absolute path");
			else if (strlcpy(conf->queue_dir, $3,
			    sizeof(conf->queue_dir)) >= sizeof(conf->queue_dir))
				yyerror("queue directory too long");
			free($3);
		}
		| OFFLINE DIRECTORY STRING	{
			if ($3[0] != '/')
				yyerror("offline directory must be an "
				    "absolute path");
			else if (strlcpy(conf->offline_dir, $3,
			    sizeof(conf->offline_dir)) >=
			    sizeof(conf->offline_dir))
				yyerror("offline directory too long");
			free($3);
		}
		| QUEUE TTL duration		{
			if ($3 < 60)
				yyerror("queue ttl must be a minute or more");
			conf->queue_ttl = $3;
		}
		| QUEUE RETRY			{
			conf->nretry = 0;
		} retrydelays
		| BOUNCE WARNINTERVAL duration	{
			conf->bounce_warn = $3;
		}
		| CONTROL SOCKET STRING		{
			if ($3[0] != '/')
				yyerror("control socket must be an "
				    "absolute path");
			else if (strlcpy(conf->control_socket, $3,
			    sizeof(conf->control_socket)) >=
			    sizeof(conf->control_socket))
				yyerror("control socket path too long");
			free($3);
		}
		| CONTROL SOCKET GROUP STRING	{
			if (strlcpy(conf->control_group, $4,
			    sizeof(conf->control_group)) >=
			    sizeof(conf->control_group) || $4[0] == '\0')
				yyerror("bad group name");
			free($4);
		}
		| HOSTNAME STRING		{
			if (strlcpy(conf->hostname, $2,
			    sizeof(conf->hostname)) >= sizeof(conf->hostname))
				yyerror("hostname too long");
			free($2);
		}
		| SMTP MAXMESSAGESIZE string	{
			if (config_size_parse($3, &conf->max_message_size) == -1)
				yyerror("bad size: %s", $3);
			free($3);
		}
		| SMTP BANNER STRING		{
			if (strpbrk($3, "\r\n") != NULL)
				yyerror("banner holds a line break");
			else if (strlcpy(conf->banner, $3,
			    sizeof(conf->banner) - 8) >=
			    sizeof(conf->banner) - 8)
				yyerror("banner too long");
			free($3);
		}
		| SMTP HELP onoff		{ conf->help = $3; }
		| SMTP SUBADDRDELIM STRING	{
			if (strlen($3) != 1 || strchr("@<>\"\\ ", $3[0]) != NULL ||
			    iscntrl((unsigned char)$3[0]))
				yyerror("sub-addr-delim must be one character "
				    "allowed in a local part");
			else
				conf->subaddr_delim = $3[0];
			free($3);
		}
		| SMTP SUBADDRDELIM OFF		{ conf->subaddr_delim = '\0'; }
		| SMTP VRFY allow		{ conf->vrfy = $3; }
		| SMTP EXPN allow		{ conf->expn = $3; }
		| SMTP LIMIT MAXRCPT count	{ conf->max_rcpt = $4; }
		| SMTP LIMIT MAXSESSIONS count	{ conf->max_sessions = $4; }
		| SMTP LIMIT MAXSESSIONSPERADDR count {
			conf->max_sessions_per_addr = $4;
		}
		| SMTP LIMIT MAXSESSIONSPERADDR count EXCEPT tableref {
			conf->max_sessions_per_addr = $4;
			strlcpy(conf->sessions_exempt, $6,
			    sizeof(conf->sessions_exempt));
			free($6);
		}
		| SMTP LIMIT MAXERRORS count	{ conf->max_errors = $4; }
		| SMTP LIMIT MAXHOPS count	{ conf->max_hops = $4; }
		| SMTP LIMIT MAXAUTHFAILURES count {
			conf->max_auth_failures = $4;
		}
		| SMTP LIMIT MAXAUTHUSERFAILURES count {
			conf->max_auth_user_failures = $4;
		}
		| SMTP LIMIT COMMANDTIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->timeout_command = $4;
		}
		| SMTP LIMIT DATATIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->timeout_data = $4;
		}
		| SMTP LIMIT MESSAGETIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->timeout_message = $4;
		}
		| SMTP LIMIT SESSIONTIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->timeout_session = $4;
		}
		| SMTP LIMIT AUTHFAILUREDELAY duration {
			conf->auth_failure_delay = $4;
		}
		| MTA LIMIT MAXSESSIONS count	{ conf->mta.max_sessions = $4; }
		| MTA LIMIT MAXSESSIONSPERDOMAIN count {
			conf->mta.max_sessions_domain = $4;
		}
		| MTA LIMIT MAXSESSIONSPERHOST count {
			conf->mta.max_sessions_host = $4;
		}
		| MTA LIMIT MAXRCPT count	{ conf->mta.max_rcpt = $4; }
		| MTA LIMIT MAXMESSAGES count	{ conf->mta.max_messages = $4; }
		| MTA LIMIT CONNECTTIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->mta.timeout_connect = $4;
		}
		| MTA LIMIT COMMANDTIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->mta.timeout_command = $4;
		}
		| MTA LIMIT DATATIMEOUT duration {
			if ($4 == 0)
				yyerror("a timeout of 0 is not allowed");
			conf->mta.timeout_data = $4;
		}
		| MTA FAMILY mtafamily		{ conf->mta.family = $3; }
		| MTA RESOLVER STRING resolverport {
			struct addrinfo	 hints, *res;

			memset(&hints, 0, sizeof(hints));
			hints.ai_flags = AI_NUMERICHOST;
			hints.ai_socktype = SOCK_DGRAM;
			if (getaddrinfo($3, NULL, &hints, &res) != 0)
				yyerror("resolver must be an address: %s", $3);
			else {
				freeaddrinfo(res);
				strlcpy(conf->mta.resolver, $3,
				    sizeof(conf->mta.resolver));
				conf->mta.resolver_port = $4;
			}
			free($3);
		}
		| MTA MXPORT NUMBER		{
			if ($3 < 1 || $3 > 65535)
				yyerror("port %lld out of range", $3);
			else
				conf->mta.mx_port = $3;
		}
		| KILLFILE tableref		{
			if (conf->killfile[0] != '\0')
				yyerror("killfile given twice");
			strlcpy(conf->killfile, $2, sizeof(conf->killfile));
			free($2);
		}
		| PKI STRING CERT STRING	{
			pki_set($2, $4, NULL);
			free($2);
			free($4);
		}
		| PKI STRING KEY STRING		{
			pki_set($2, NULL, $4);
			free($2);
			free($4);
		}
		;

mtafamily	: ANY				{ $$ = MTA_FAMILY_ANY; }
		| INET4				{ $$ = MTA_FAMILY_INET4; }
		| INET6				{ $$ = MTA_FAMILY_INET6; }
		;

resolverport	: /* empty */			{ $$ = 53; }
		| PORT NUMBER			{
			if ($2 < 1 || $2 > 65535) {
				yyerror("port %lld out of range", $2);
				$$ = 53;
			} else
				$$ = $2;
		}
		;

retrydelays	: retrydelay
		| retrydelays retrydelay
		;

retrydelay	: duration			{
			if ($1 < 1)
				yyerror("a retry delay must be a second or more");
			else if (conf->nretry == RETRY_DELAYS_MAX)
				yyerror("at most %d retry delays",
				    RETRY_DELAYS_MAX);
			else
				conf->retry[conf->nretry++] = $1;
		}
		;

onoff		: ON				{ $$ = 1; }
		| OFF				{ $$ = 0; }
		;

allow		: ON				{ $$ = SMTP_ALLOW_ON; }
		| OFF				{ $$ = SMTP_ALLOW_OFF; }
		| AUTH				{ $$ = SMTP_ALLOW_AUTH; }
		;

count		: NUMBER			{
			if ($1 < 1 || $1 > 1000000) {
				yyerror("%lld is out of range", $1);
				$$ = 1;
			} else
				$$ = $1;
		}
		;

duration	: NUMBER			{
			if ($1 > DURATION_MAX) {
				yyerror("%lld seconds is too long", $1);
				$$ = 1;
			} else
				$$ = $1;
		}
		| STRING			{
			if (($$ = config_duration_parse($1)) == -1) {
				yyerror("bad duration: %s", $1);
				$$ = 1;
			}
			free($1);
		}
		;

table		: TABLE STRING STRING		{
			const char *path;

			if (strncmp($3, "file:", 5) == 0)
				path = $3 + 5;
			else if ($3[0] == '/')
				path = $3;
			else {
				yyerror("unknown table backend: %s", $3);
				path = NULL;
			}
			if (path != NULL && table_check($2) == 0) {
				if (path[0] != '/')
					yyerror("table %s: path must be "
					    "absolute", $2);
				else if ((curtable = table_create($2,
				    TABLE_FILE, path)) == NULL)
					yyerror("table %s: bad name", $2);
				else {
					curtable->line = yylval.lineno;
					TAILQ_INSERT_TAIL(&conf->tables,
					    curtable, entry);
				}
			}
			free($2);
			free($3);
		}
		| TABLE STRING '{' 		{
			curtable = NULL;
			if (table_check($2) == 0) {
				if ((curtable = table_create($2, TABLE_STATIC,
				    NULL)) == NULL)
					yyerror("table %s: bad name", $2);
				else {
					curtable->line = yylval.lineno;
					TAILQ_INSERT_TAIL(&conf->tables,
					    curtable, entry);
				}
			}
			free($2);
			$2 = NULL;
		} optnl tablevals optnl '}'
		;

optnl		: /* empty */
		| optnl '\n'
		;

tablevals	: tableval
		| tablevals comma tableval
		;

comma		: ',' optnl
		;

tableval	: string			{
			if (curtable != NULL && table_add(curtable, $1,
			    NULL) == -1)
				yyerror("table %s: bad value %s",
				    curtable->name, $1);
			free($1);
		}
		| string '=' string		{
			if (curtable != NULL && table_add(curtable, $1,
			    $3) == -1)
				yyerror("table %s: bad value %s",
				    curtable->name, $1);
			free($1);
			free($3);
		}
		;

tableref	: '<' STRING '>'		{
			if (table_find(&conf->tables, $2) == NULL)
				yyerror("no such table: <%s>", $2);
			$$ = $2;
		}
		;

listen		: LISTEN ON STRING		{
			memset(&lopts, 0, sizeof(lopts));
			lopts.port = -1;
		} listenopts			{
			char	err[256];

			if (listen_add(conf, $3, &lopts, yylval.lineno, err,
			    sizeof(err)) == -1)
				yyerror("%s", err);
			free($3);
		}
		| LISTEN ON SOCKET		{
			memset(&lopts, 0, sizeof(lopts));
		} socketopts			{
			char	err[256];

			if (listen_socket_add(conf, NULL, &lopts,
			    yylval.lineno, err, sizeof(err)) == -1)
				yyerror("%s", err);
		}
		| LISTEN ON SOCKET STRING	{
			memset(&lopts, 0, sizeof(lopts));
		} socketopts			{
			char	err[256];

			if (listen_socket_add(conf, $4, &lopts, yylval.lineno,
			    err, sizeof(err)) == -1)
				yyerror("%s", err);
			free($4);
		}
		;

socketopts	: /* empty */
		| socketopts socketopt
		;

socketopt	: TRUSTEDGROUP STRING		{
			if (strlcpy(conf->submit_group, $2,
			    sizeof(conf->submit_group)) >=
			    sizeof(conf->submit_group) || $2[0] == '\0')
				yyerror("bad group name");
			free($2);
		}
		| REJECTNULLSENDER		{
			lopts.flags |= LISTEN_REJECT_NULL;
		}
		;

listenopts	: /* empty */
		| listenopts listenopt
		;

listenopt	: PORT NUMBER			{ lopts.port = $2; }
		| PORT STRING			{
			struct servent	*se;

			if ((se = getservbyname($2, "tcp")) == NULL)
				yyerror("unknown port: %s", $2);
			else
				lopts.port = ntohs(se->s_port);
			free($2);
		}
		| TLS				{ lopts.flags |= LISTEN_TLS; }
		| TLSREQUIRE %prec TLSALONE	{
			lopts.flags |= LISTEN_TLS | LISTEN_TLS_REQUIRE;
		}
		| TLSREQUIRE VERIFY		{
			lopts.flags |= LISTEN_TLS | LISTEN_TLS_REQUIRE |
			    LISTEN_VERIFY | LISTEN_VERIFY_REQUIRE;
		}
		| SMTPS %prec TLSALONE		{ lopts.flags |= LISTEN_SMTPS; }
		| SMTPS VERIFY			{
			lopts.flags |= LISTEN_SMTPS | LISTEN_VERIFY |
			    LISTEN_VERIFY_REQUIRE;
		}
		| VERIFY			{ lopts.flags |= LISTEN_VERIFY; }
		| PKI STRING			{
			struct listener_tls	*t = &lopts.tls;
			int			 i;

			for (i = 0; i < t->npki; i++)
				if (strcmp(t->pki[i], $2) == 0)
					break;
			if (i < t->npki)
				yyerror("pki %s given twice", $2);
			else if (t->npki == LISTEN_PKI_MAX)
				yyerror("more than %d pki on one listener",
				    LISTEN_PKI_MAX);
			else if (strlcpy(t->pki[t->npki], $2,
			    sizeof(t->pki[0])) >= sizeof(t->pki[0]))
				yyerror("pki name too long");
			else
				t->npki++;
			free($2);
		}
		| CIPHERS STRING		{
			/* Whether libtls knows them, config_check asks. */
			if (lopts.tls.ciphers[0] != '\0')
				yyerror("ciphers given twice");
			else if ($2[0] == '\0' || strlcpy(lopts.tls.ciphers,
			    $2, sizeof(lopts.tls.ciphers)) >=
			    sizeof(lopts.tls.ciphers))
				yyerror("bad ciphers: \"%s\"", $2);
			free($2);
		}
		| PROTOCOLS STRING		{
			uint32_t	 p;

			if (lopts.tls.protocols != 0)
				yyerror("protocols given twice");
			else if (tls_config_parse_protocols(&p, $2) == -1 ||
			    p == 0)
				yyerror("bad protocols: \"%s\"", $2);
			else
				lopts.tls.protocols = p;
			free($2);
		}
		| CA STRING			{
			if (lopts.tls.ca[0] != '\0')
				yyerror("ca given twice");
			else if ($2[0] != '/')
				yyerror("ca: path must be absolute");
			else if (strlcpy(lopts.tls.ca, $2,
			    sizeof(lopts.tls.ca)) >= sizeof(lopts.tls.ca))
				yyerror("ca: path too long");
			free($2);
		}
		| AUTH tableref			{
			listen_auth($2, LISTEN_AUTH | LISTEN_AUTH_REQUIRE);
			free($2);
		}
		| AUTHOPTIONAL tableref		{
			listen_auth($2, LISTEN_AUTH);
			free($2);
		}
		| BARELF REJECT			{
			lopts.flags &= ~LISTEN_BARE_LF_NORMALIZE;
		}
		| BARELF NORMALIZE		{
			lopts.flags |= LISTEN_BARE_LF_NORMALIZE;
		}
		| SENDERS tableref		{
			listen_senders($2, 0);
			free($2);
		}
		| SENDERS tableref MASQUERADE	{
			listen_senders($2, LISTEN_MASQUERADE);
			free($2);
		}
		| AUTHPLAINTEXT			{
			lopts.flags |= LISTEN_AUTH_PLAINTEXT;
		}
		| REJECTNULLSENDER		{
			lopts.flags |= LISTEN_REJECT_NULL;
		}
		| REQUIRESENDER			{
			lopts.flags |= LISTEN_REQUIRE_SENDER;
		}
		;

action		: ACTION STRING			{
			curaction = NULL;
			if (config_action(conf, $2) != NULL)
				yyerror("action \"%s\" defined twice", $2);
			else if (strlen($2) >= POLICY_NAMESZ || $2[0] == '\0')
				yyerror("bad action name");
			else {
				if ((curaction = calloc(1, sizeof(*curaction)))
				    == NULL)
					fatal("calloc");
				strlcpy(curaction->name, $2,
				    sizeof(curaction->name));
				curaction->line = yylval.lineno;
				TAILQ_INSERT_TAIL(&conf->actions, curaction,
				    entry);
			}
			free($2);
			$2 = NULL;
		} actiontype
		;

actiontype	: MAILDIR maildirpath mdaopts	{
			if (curaction != NULL)
				curaction->type = ACTION_MAILDIR;
		}
		| MBOX mboxpath mdaopts		{
			if (curaction != NULL)
				curaction->type = ACTION_MBOX;
		}
		| MDA STRING mdaopts		{
			if (curaction != NULL)
				curaction->type = ACTION_MDA;
			if ($2[0] == '\0')
				yyerror("empty mda command");
			else if (curaction != NULL &&
			    strlcpy(curaction->command, $2,
			    sizeof(curaction->command)) >=
			    sizeof(curaction->command))
				yyerror("mda command too long");
			free($2);
		}
		| LMTP STRING lmtprcpt mdaopts	{
			if (curaction != NULL) {
				curaction->type = ACTION_LMTP;
				curaction->lmtp_rcpt = $3;
			}
			if (mda_lmtp_split($2, NULL, 0, NULL, 0) == -1)
				yyerror("lmtp destination must be host:port "
				    "or an absolute socket path");
			else if (curaction != NULL &&
			    strlcpy(curaction->dest, $2,
			    sizeof(curaction->dest)) >= sizeof(curaction->dest))
				yyerror("lmtp destination too long");
			free($2);
		}
		| RELAY				{
			if (curaction != NULL)
				curaction->type = ACTION_RELAY;
		} relayopts
		;

/* lmtp: whom RCPT TO names, the user (the default) or the address. */
lmtprcpt	: /* empty */			{ $$ = 0; }
		| RCPTTO			{ $$ = 1; }
		;

/* The options of a relay action, OpenSMTPD's words where they exist. */
relayopts	: /* empty */
		| relayopts relayopt
		;

relayopt	: HOST STRING			{
			char	 err[128];

			if (curaction != NULL && relay_url_parse($2,
			    &curaction->relay, err, sizeof(err)) == -1)
				yyerror("%s", err);
			free($2);
		}
		| AUTH tableref			{
			if (curaction != NULL)
				strlcpy(curaction->relay.auth_table, $2,
				    sizeof(curaction->relay.auth_table));
			free($2);
		}
		| HELO STRING			{
			if (relay_name_check($2) == -1)
				yyerror("bad helo name: %s", $2);
			else if (curaction != NULL)
				strlcpy(curaction->relay.helo, $2,
				    sizeof(curaction->relay.helo));
			free($2);
		}
		| SRC STRING			{
			struct addrinfo	 hints, *res;

			memset(&hints, 0, sizeof(hints));
			hints.ai_flags = AI_NUMERICHOST;
			hints.ai_socktype = SOCK_STREAM;
			if (getaddrinfo($2, NULL, &hints, &res) != 0)
				yyerror("src must be an address: %s", $2);
			else {
				freeaddrinfo(res);
				if (curaction != NULL)
					strlcpy(curaction->relay.src, $2,
					    sizeof(curaction->relay.src));
			}
			free($2);
		}
		| TLS tlsverify			{
			if (curaction != NULL) {
				curaction->relay.tls_require = 1;
				curaction->relay.tls_verify = $2;
			}
		}
		| BACKUP			{
			if (curaction != NULL)
				curaction->relay.backup = 1;
		}
		| BACKUP STRING STRING		{
			/* "mx" stays a word: it names many a pki. */
			if (strcmp($2, "mx") != 0)
				yyerror("syntax error near \"%s\"", $2);
			else if (relay_name_check($3) == -1)
				yyerror("bad mx name: %s", $3);
			else if (curaction != NULL) {
				curaction->relay.backup = 1;
				strlcpy(curaction->relay.backup_mx, $3,
				    sizeof(curaction->relay.backup_mx));
			}
			free($2);
			free($3);
		}
		| DOMAIN tableref		{
			if (curaction != NULL)
				strlcpy(curaction->relay.domain_table, $2,
				    sizeof(curaction->relay.domain_table));
			free($2);
		}
		;

tlsverify	: /* empty */			{ $$ = 1; }
		| VERIFY			{ $$ = 1; }
		| NOVERIFY			{ $$ = 0; }
		;

maildirpath	: /* empty */
		| STRING			{
			action_path($1, "maildir");
			free($1);
		}
		;

mboxpath	: /* empty */
		| STRING			{
			action_path($1, "mbox");
			free($1);
		}
		;

mdaopts		: /* empty */
		| mdaopts mdaopt
		;

mdaopt		: ALIAS tableref		{
			if (curaction != NULL)
				strlcpy(curaction->alias_table, $2,
				    sizeof(curaction->alias_table));
			free($2);
		}
		| INTERNAL tableref		{
			if (curaction != NULL)
				strlcpy(curaction->internal_table, $2,
				    sizeof(curaction->internal_table));
			free($2);
		}
		| VIRTUAL tableref		{
			if (curaction != NULL)
				strlcpy(curaction->virtual_table, $2,
				    sizeof(curaction->virtual_table));
			free($2);
		}
		| USERBASE tableref		{
			if (curaction != NULL)
				strlcpy(curaction->userbase_table, $2,
				    sizeof(curaction->userbase_table));
			free($2);
		}
		;

match		: MATCH				{
			if ((currule = policy_rule_new(yylval.lineno)) == NULL)
				fatal("calloc");
			TAILQ_INSERT_TAIL(&conf->rules, currule, entry);
		} criteria decision		{
			rule_defaults(currule);
		}
		;

decision	: ACTION STRING			{
			struct action *a;

			if ((a = config_action(conf, $2)) == NULL)
				yyerror("no such action: \"%s\"", $2);
			else {
				a->used = 1;
				strlcpy(currule->action, $2,
				    sizeof(currule->action));
			}
			free($2);
		}
		| REJECT			{ currule->reject = 1; }
		| REJECT STRING			{
			currule->reject = 1;
			if (strpbrk($2, "\r\n") != NULL ||
			    strlcpy(currule->reject_text, $2,
			    sizeof(currule->reject_text)) >=
			    sizeof(currule->reject_text))
				yyerror("bad reject text");
			free($2);
		}
		;

criteria	: /* empty */
		| criteria criterion
		;

negate		: /* empty */			{ $$ = 0; }
		| '!'				{ $$ = 1; }
		;

criterion	: negate FROM ANY		{ crit(POLICY_FROM_ANY, $1, NULL); }
		| negate FROM LOCAL		{ crit(POLICY_FROM_LOCAL, $1, NULL); }
		| negate FROM SRC tableref	{
			crit(POLICY_FROM_SRC, $1, $4);
			free($4);
		}
		| negate FROM RDNS		{ crit(POLICY_FROM_RDNS, $1, NULL); }
		| negate FROM RDNS tableref	{
			crit(POLICY_FROM_RDNS, $1, $4);
			free($4);
		}
		| negate FROM MAILFROM tableref	{
			crit(POLICY_FROM_MAILFROM, $1, $4);
			free($4);
		}
		| negate FROM AUTH		{ crit(POLICY_AUTH, $1, NULL); }
		| negate FROM AUTH tableref	{
			crit(POLICY_AUTH, $1, $4);
			free($4);
		}
		| negate AUTH			{ crit(POLICY_AUTH, $1, NULL); }
		| negate AUTH tableref		{
			crit(POLICY_AUTH, $1, $3);
			free($3);
		}
		| negate TLS			{ crit(POLICY_TLS, $1, NULL); }
		| negate FOR ANY		{ crit(POLICY_FOR_ANY, $1, NULL); }
		| negate FOR LOCAL		{ crit(POLICY_FOR_LOCAL, $1, NULL); }
		| negate FOR DOMAIN STRING	{
			crit(POLICY_FOR_DOMAIN, $1, $4);
			free($4);
		}
		| negate FOR DOMAIN tableref	{
			crit(POLICY_FOR_DOMAIN_TABLE, $1, $4);
			free($4);
		}
		| negate FOR RCPTTO tableref	{
			crit(POLICY_FOR_RCPTTO, $1, $4);
			free($4);
		}
		;

%%

static const struct keyword {
	const char	*word;
	int		 token;
} keywords[] = {
	/* sorted, for bsearch */
	{ "action",			ACTION },
	{ "alias",			ALIAS },
	{ "any",			ANY },
	{ "auth",			AUTH },
	{ "auth-failure-delay",		AUTHFAILUREDELAY },
	{ "auth-optional",		AUTHOPTIONAL },
	{ "auth-plaintext",		AUTHPLAINTEXT },
	{ "backup",			BACKUP },
	{ "banner",			BANNER },
	{ "bare-lf",			BARELF },
	{ "bounce",			BOUNCE },
	{ "ca",				CA },
	{ "cert",			CERT },
	{ "ciphers",			CIPHERS },
	{ "command-timeout",		COMMANDTIMEOUT },
	{ "connect-timeout",		CONNECTTIMEOUT },
	{ "control",			CONTROL },
	{ "data-timeout",		DATATIMEOUT },
	{ "directory",			DIRECTORY },
	{ "domain",			DOMAIN },
	{ "except",			EXCEPT },
	{ "expn",			EXPN },
	{ "family",			FAMILY },
	{ "for",			FOR },
	{ "from",			FROM },
	{ "group",			GROUP },
	{ "helo",			HELO },
	{ "help",			HELP },
	{ "host",			HOST },
	{ "hostname",			HOSTNAME },
	{ "inet4",			INET4 },
	{ "inet6",			INET6 },
	{ "internal",			INTERNAL },
	{ "key",			KEY },
	{ "killfile",			KILLFILE },
	{ "limit",			LIMIT },
	{ "listen",			LISTEN },
	{ "lmtp",			LMTP },
	{ "local",			LOCAL },
	{ "mail-from",			MAILFROM },
	{ "maildir",			MAILDIR },
	{ "masquerade",			MASQUERADE },
	{ "match",			MATCH },
	{ "max-auth-failures",		MAXAUTHFAILURES },
	{ "max-auth-failures-per-user",	MAXAUTHUSERFAILURES },
	{ "max-errors",			MAXERRORS },
	{ "max-hops",			MAXHOPS },
	{ "max-message-size",		MAXMESSAGESIZE },
	{ "max-messages",		MAXMESSAGES },
	{ "max-rcpt",			MAXRCPT },
	{ "max-sessions",		MAXSESSIONS },
	{ "max-sessions-per-address",	MAXSESSIONSPERADDR },
	{ "max-sessions-per-domain",	MAXSESSIONSPERDOMAIN },
	{ "max-sessions-per-host",	MAXSESSIONSPERHOST },
	{ "mbox",			MBOX },
	{ "mda",			MDA },
	{ "message-timeout",		MESSAGETIMEOUT },
	{ "mta",			MTA },
	{ "mx-port",			MXPORT },
	{ "no-verify",			NOVERIFY },
	{ "normalize",			NORMALIZE },
	{ "off",			OFF },
	{ "offline",			OFFLINE },
	{ "on",				ON },
	{ "pki",			PKI },
	{ "port",			PORT },
	{ "protocols",			PROTOCOLS },
	{ "queue",			QUEUE },
	{ "rcpt-to",			RCPTTO },
	{ "rdns",			RDNS },
	{ "reject",			REJECT },
	{ "reject-null-sender",		REJECTNULLSENDER },
	{ "relay",			RELAY },
	{ "require-sender",		REQUIRESENDER },
	{ "resolver",			RESOLVER },
	{ "retry",			RETRY },
	{ "senders",			SENDERS },
	{ "session-timeout",		SESSIONTIMEOUT },
	{ "smtp",			SMTP },
	{ "smtps",			SMTPS },
	{ "socket",			SOCKET },
	{ "src",			SRC },
	{ "sub-addr-delim",		SUBADDRDELIM },
	{ "table",			TABLE },
	{ "tls",			TLS },
	{ "tls-require",		TLSREQUIRE },
	{ "trusted-group",		TRUSTEDGROUP },
	{ "ttl",			TTL },
	{ "userbase",			USERBASE },
	{ "verify",			VERIFY },
	{ "virtual",			VIRTUAL },
	{ "vrfy",			VRFY },
	{ "warn-interval",		WARNINTERVAL },
};

static int
keyword_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct keyword *)e)->word);
}

static int
keyword_lookup(const char *s)
{
	const struct keyword	*kw;

	kw = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), keyword_cmp);
	return kw != NULL ? kw->token : STRING;
}

static void
yyerror(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	errors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The line of the token in hand, not of the one after it. */
	if (strcmp(msg, "syntax error") == 0 && firstword[0] != '\0')
		log_warnx("%s:%d: unknown keyword \"%s\"", fname,
		    yylval.lineno, firstword);
	else if (strcmp(msg, "syntax error") == 0 && lasttoken[0] != '\0')
		log_warnx("%s:%d: syntax error near \"%s\"", fname,
		    yylval.lineno, lasttoken);
	else
		log_warnx("%s:%d: %s", fname, yylval.lineno, msg);
}

static void
lex_unget(int c)
{
	if (c == EOF)
		return;
	if (pushlen == pushsize) {
		pushsize = pushsize ? pushsize * 2 : 64;
		if ((pushbuf = realloc(pushbuf, pushsize)) == NULL)
			fatal("realloc");
	}
	pushbuf[pushlen++] = c;
}

static int
lex_getc(void)
{
	int	 c;

	if (pushlen > 0)
		return pushbuf[--pushlen];
	c = getc(fin);
	/* A backslash at the end of a line joins it to the next. */
	while (c == '\\') {
		c = getc(fin);
		if (c != '\n') {
			lex_unget(c);
			return '\\';
		}
		lineno++;
		c = getc(fin);
	}
	if (c == '\n')
		expanded = 0;
	return c;
}

static int
lex_word_char(int c)
{
	if (c == EOF)
		return 0;
	if (isalnum(c))
		return 1;
	return strchr("_-.:/@*+%~[]$?^&|", c) != NULL;
}

static int
lex_token(void)
{
	char	 buf[8192], *p, *val;
	int	 c, quote, endc;
	const char *errstr;

	lasttoken[0] = '\0';
again:
	while ((c = lex_getc()) == ' ' || c == '\t')
		;
	yylval.lineno = lineno;
	if (c == '#')
		while ((c = lex_getc()) != '\n' && c != EOF)
			;
	if (c == '$') {
		/* $macro expands in place; the expansion is read again. */
		p = buf;
		while ((c = lex_getc()) != EOF &&
		    (isalnum(c) || c == '_')) {
			if (p + 1 >= buf + sizeof(buf)) {
				yyerror("macro name too long");
				return ERROR;
			}
			*p++ = c;
		}
		*p = '\0';
		lex_unget(c);
		if ((val = macro_get(buf)) == NULL) {
			yyerror("macro \"%s\" not defined", buf);
			return ERROR;
		}
		if (strlen(val) > EXPAND_MAX - expanded) {
			yyerror("macros expand to more than %d bytes on one "
			    "line", EXPAND_MAX);
			/* Drop the expansions, keep what follows the name. */
			pushlen = 0;
			lex_unget(c);
			return ERROR;
		}
		expanded += strlen(val);
		for (p = val + strlen(val); p > val; p--)
			lex_unget((unsigned char)p[-1]);
		goto again;
	}
	switch (c) {
	case EOF:
		return 0;
	case '\n':
		lineno++;
		return '\n';
	case '"':
	case '\'':
		quote = c;
		p = buf;
		for (;;) {
			if ((c = lex_getc()) == EOF || c == '\n') {
				yyerror("unterminated quoted string");
				if (c == '\n')
					lex_unget(c);
				return ERROR;
			}
			if (c == quote)
				break;
			if (c == '\\') {
				endc = lex_getc();
				if (endc != quote && endc != '\\')
					lex_unget(endc);
				else
					c = endc;
			}
			if (p + 1 >= buf + sizeof(buf)) {
				yyerror("string too long");
				return ERROR;
			}
			*p++ = c;
		}
		*p = '\0';
		if ((yylval.v.string = strdup(buf)) == NULL)
			fatal("strdup");
		strlcpy(lasttoken, buf, sizeof(lasttoken));
		return STRING;
	case '=':
	case '{':
	case '}':
	case '<':
	case '>':
	case ',':
	case '!':
		lasttoken[0] = c;
		lasttoken[1] = '\0';
		return c;
	}
	if (!lex_word_char(c)) {
		lasttoken[0] = c;
		lasttoken[1] = '\0';
		yyerror("unexpected character '%c'", c);
		return ERROR;
	}
	/* A %{...} expansion belongs to the word it stands in. */
	p = buf;
	while (lex_word_char(c)) {
		if (p + 2 >= buf + sizeof(buf)) {
			yyerror("word too long");
			return ERROR;
		}
		*p++ = c;
		c = lex_getc();
		if (p[-1] != '%' || c != '{')
			continue;
		while (c != '}') {
			if (c == EOF || c == '\n' || p + 2 >= buf + sizeof(buf)) {
				yyerror("unterminated %%{ in word");
				lex_unget(c);
				return ERROR;
			}
			*p++ = c;
			c = lex_getc();
		}
		*p++ = c;
		c = lex_getc();
	}
	lex_unget(c);
	*p = '\0';
	strlcpy(lasttoken, buf, sizeof(lasttoken));

	for (p = buf; *p != '\0' && isdigit((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		yylval.v.number = strtonum(buf, 0, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			yyerror("number %s is %s", buf, errstr);
			return ERROR;
		}
		return NUMBER;
	}
	/* A table's name may be any word, keywords included. */
	if (!wantname && (c = keyword_lookup(buf)) != STRING)
		return c;
	if ((yylval.v.string = strdup(buf)) == NULL)
		fatal("strdup");
	return STRING;
}

/*
 * Remember an unknown word that opens a line (neither a keyword nor a
 * macro definition): a syntax error on that line then names it.
 */
static int
yylex(void)
{
	int	 tok;

	tok = lex_token();
	wantname = tok == TABLE || tok == '<';
	if (atlinestart) {
		firstword[0] = '\0';
		if (tok == STRING)
			strlcpy(firstword, yylval.v.string, sizeof(firstword));
	} else if (tok == '=')
		firstword[0] = '\0';
	atlinestart = tok == '\n';
	return tok;
}

static int
table_check(const char *name)
{
	if (table_find(&conf->tables, name) != NULL) {
		yyerror("table %s defined twice", name);
		return -1;
	}
	return 0;
}

/* auth (AUTH before MAIL) or auth-optional, once per listener. */
static void
listen_auth(const char *table, int flags)
{
	if (lopts.flags & LISTEN_AUTH) {
		yyerror("auth or auth-optional given twice");
		return;
	}
	lopts.flags |= flags;
	strlcpy(lopts.auth_table, table, sizeof(lopts.auth_table));
}

static void
listen_senders(const char *table, int flags)
{
	if (lopts.senders_table[0] != '\0') {
		yyerror("senders given twice");
		return;
	}
	lopts.flags |= flags;
	strlcpy(lopts.senders_table, table, sizeof(lopts.senders_table));
}

/* A maildir or mbox path: absolute, or under the user's home. */
static void
action_path(const char *path, const char *what)
{
	if (path[0] != '/' && path[0] != '~')
		yyerror("%s path must be absolute or start with ~", what);
	else if (curaction != NULL && strlcpy(curaction->path, path,
	    sizeof(curaction->path)) >= sizeof(curaction->path))
		yyerror("%s path too long", what);
}

/* A host name for HELO or an MX: letters, digits, dots, hyphens. */
static int
relay_name_check(const char *name)
{
	const char	*p;

	if (name[0] == '\0' || strlen(name) > SMTP_DOMAIN_MAX)
		return -1;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' &&
		    *p != '_')
			return -1;
	return 0;
}

static void
pki_set(const char *name, const char *cert, const char *key)
{
	struct pki	*pki;
	const char	*path = cert != NULL ? cert : key;
	char		*dst;

	if (path[0] != '/') {
		yyerror("pki %s: path must be absolute", name);
		return;
	}
	if ((pki = config_pki(conf, name)) == NULL) {
		if ((pki = calloc(1, sizeof(*pki))) == NULL)
			fatal("calloc");
		if (strlcpy(pki->name, name, sizeof(pki->name)) >=
		    sizeof(pki->name)) {
			yyerror("pki name too long");
			free(pki);
			return;
		}
		pki->line = yylval.lineno;
		TAILQ_INSERT_TAIL(&conf->pkis, pki, entry);
	}
	dst = cert != NULL ? pki->cert : pki->key;
	if (dst[0] != '\0')
		yyerror("pki %s: %s given twice", name,
		    cert != NULL ? "cert" : "key");
	else if (strlcpy(dst, path, PATH_MAX) >= PATH_MAX)
		yyerror("pki %s: path too long", name);
}

static void
crit(enum policy_kind kind, int negate, const char *value)
{
	if (policy_rule_add(currule, kind, negate, value) == NULL)
		yyerror("value too long");
}

/*
 * A rule that names no source matches only local clients, and one
 * that names no destination only local domains: the safe reading.
 */
static void
rule_defaults(struct policy_rule *r)
{
	struct policy_criterion	*c;
	int			 from = 0, dest = 0, auth = 0;

	TAILQ_FOREACH(c, &r->criteria, entry) {
		switch (c->kind) {
		case POLICY_FROM_ANY:
		case POLICY_FROM_LOCAL:
		case POLICY_FROM_SRC:
		case POLICY_FROM_RDNS:
		case POLICY_FROM_MAILFROM:
			from = 1;
			break;
		case POLICY_FOR_ANY:
		case POLICY_FOR_LOCAL:
		case POLICY_FOR_DOMAIN:
		case POLICY_FOR_DOMAIN_TABLE:
		case POLICY_FOR_RCPTTO:
			dest = 1;
			break;
		case POLICY_AUTH:
			auth = !c->negate;
			break;
		default:
			break;
		}
	}
	/* "match auth for any" stands for any authenticated client. */
	if (!from && !auth)
		crit(POLICY_FROM_LOCAL, 0, NULL);
	if (!dest)
		crit(POLICY_FOR_LOCAL, 0, NULL);
}

/*
 * Parse the file.  PARSE_TABLES also loads file tables, which only the
 * processes that look things up (and smtpd -n) need.
 */
struct smtpd_config *
parse_config(const char *file, int flags)
{
	struct table	*t;
	char		 err[256];

	conf = config_new();
	if ((conf->file = strdup(file)) == NULL)
		fatal("strdup");
	parse_flags = flags;
	errors = 0;
	lineno = 1;
	atlinestart = 1;
	wantname = 0;
	firstword[0] = '\0';
	fname = file;
	pushlen = 0;
	expanded = 0;
	if ((fin = conffile_open(file, CONFFILE_CONF, NULL)) == NULL) {
		log_warn("%s", file);
		config_free(conf);
		return NULL;
	}
	yyparse();
	fclose(fin);
	macro_clear();
	free(pushbuf);
	pushbuf = NULL;
	pushlen = pushsize = 0;

	if (errors == 0 && (flags & PARSE_TABLES)) {
		TAILQ_FOREACH(t, &conf->tables, entry) {
			/* The kill file has a structure of its own. */
			if (t->backend != TABLE_FILE ||
			    strcmp(t->name, conf->killfile) == 0)
				continue;
			if (table_load(t, err, sizeof(err)) == -1) {
				log_warnx("%s:%d: table %s: %s", file,
				    t->line, t->name, err);
				errors++;
			}
		}
		if (errors == 0)
			config_includes_load(conf);
	}
	if (errors == 0 && config_check(conf, flags) == -1)
		errors++;
	if (errors == 0 && listen_socket_default(conf, yylval.lineno, err,
	    sizeof(err)) == -1)
		yyerror("%s", err);
	/* Beside the queue, so that each queue has its own. */
	if (errors == 0 && conf->offline_dir[0] == '\0' &&
	    (size_t)snprintf(conf->offline_dir, sizeof(conf->offline_dir),
	    "%s-offline", conf->queue_dir) >= sizeof(conf->offline_dir))
		errors++;
	if (errors) {
		config_free(conf);
		return NULL;
	}
	return conf;
}
