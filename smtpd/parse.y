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
#include <unistd.h>

#include "smtpd.h"

struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 persist;	/* set with -D */
	char			*name;
	char			*value;
};
static TAILQ_HEAD(, sym)	 symhead = TAILQ_HEAD_INITIALIZER(symhead);

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

/* Pushed-back input: macro expansions and one byte of lookahead. */
static unsigned char		*pushbuf;
static size_t			 pushlen, pushsize;

int		 yyparse(void);
static int	 yylex(void);
static int	 lex_token(void);
static void	 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static int	 symset(const char *, const char *, int);
static char	*symget(const char *);
static int	 listen_add(const char *, long long);
static int	 size_parse(const char *, size_t *);
static int	 table_check(const char *);

typedef struct {
	union {
		long long	 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED 1
%}

%token	ACTION ANY CONTROL DIRECTORY DOMAIN FOR FROM HOSTNAME LISTEN LOCAL
%token	MAILDIR MATCH MAXMESSAGESIZE ON PORT QUEUE SMTP SOCKET SRC TABLE
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.string>	string tableref
%type	<v.number>	port

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
			if (*s == '\0' && symset($1, $3, 0) == -1)
				fatal("symset");
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
		| HOSTNAME STRING		{
			if (strlcpy(conf->hostname, $2,
			    sizeof(conf->hostname)) >= sizeof(conf->hostname))
				yyerror("hostname too long");
			free($2);
		}
		| SMTP MAXMESSAGESIZE string	{
			if (size_parse($3, &conf->max_message_size) == -1)
				yyerror("bad size: %s", $3);
			free($3);
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

port		: /* empty */			{ $$ = SMTPD_PORT; }
		| PORT NUMBER			{ $$ = $2; }
		| PORT STRING			{
			struct servent	*se;

			if ((se = getservbyname($2, "tcp")) == NULL) {
				yyerror("unknown port: %s", $2);
				$$ = -1;
			} else
				$$ = ntohs(se->s_port);
			free($2);
		}
		;

listen		: LISTEN ON STRING port		{
			if ($4 != -1)
				listen_add($3, $4);
			free($3);
		}
		;

action		: ACTION STRING MAILDIR		{
			if (config_action(conf, $2) != NULL)
				yyerror("action \"%s\" defined twice", $2);
			else if (strlen($2) >= POLICY_NAMESZ || $2[0] == '\0')
				yyerror("bad action name");
			else {
				struct action *a;

				if ((a = calloc(1, sizeof(*a))) == NULL)
					fatal("calloc");
				strlcpy(a->name, $2, sizeof(a->name));
				a->type = ACTION_MAILDIR;
				a->line = yylval.lineno;
				TAILQ_INSERT_TAIL(&conf->actions, a, entry);
			}
			free($2);
		} maildirpath
		;

maildirpath	: /* empty */
		| STRING			{
			struct action *a = TAILQ_LAST(&conf->actions,
			    action_list);

			if ($1[0] != '/' && $1[0] != '~')
				yyerror("maildir path must be absolute or "
				    "start with ~");
			else if (a != NULL && strlcpy(a->path, $1,
			    sizeof(a->path)) >= sizeof(a->path))
				yyerror("maildir path too long");
			free($1);
		}
		;

match		: MATCH {
			struct policy_rule *r;

			if ((r = calloc(1, sizeof(*r))) == NULL)
				fatal("calloc");
			r->line = yylval.lineno;
			TAILQ_INSERT_TAIL(&conf->rules, r, entry);
		} FROM from FOR dest ACTION STRING {
			struct policy_rule *r = TAILQ_LAST(&conf->rules,
			    policy_rules);
			struct action *a;

			if ((a = config_action(conf, $8)) == NULL)
				yyerror("no such action: \"%s\"", $8);
			else {
				a->used = 1;
				strlcpy(r->action, $8, sizeof(r->action));
			}
			free($8);
		}
		;

from		: ANY			{ TAILQ_LAST(&conf->rules, policy_rules)->from = FROM_ANY; }
		| LOCAL			{ TAILQ_LAST(&conf->rules, policy_rules)->from = FROM_LOCAL; }
		| SRC tableref		{
			struct policy_rule *r = TAILQ_LAST(&conf->rules,
			    policy_rules);

			r->from = FROM_SRC;
			strlcpy(r->from_table, $2, sizeof(r->from_table));
			free($2);
		}
		;

dest		: ANY			{ TAILQ_LAST(&conf->rules, policy_rules)->dest = FOR_ANY; }
		| LOCAL			{ TAILQ_LAST(&conf->rules, policy_rules)->dest = FOR_LOCAL; }
		| DOMAIN STRING		{
			struct policy_rule *r = TAILQ_LAST(&conf->rules,
			    policy_rules);

			r->dest = FOR_DOMAIN;
			if (strlcpy(r->domain, $2, sizeof(r->domain)) >=
			    sizeof(r->domain))
				yyerror("domain name too long");
			free($2);
		}
		| DOMAIN tableref	{
			struct policy_rule *r = TAILQ_LAST(&conf->rules,
			    policy_rules);

			r->dest = FOR_DOMAIN_TABLE;
			strlcpy(r->domain, $2, sizeof(r->domain));
			free($2);
		}
		;

%%

static const struct keyword {
	const char	*word;
	int		 token;
} keywords[] = {
	/* sorted, for bsearch */
	{ "action",		ACTION },
	{ "any",		ANY },
	{ "control",		CONTROL },
	{ "directory",		DIRECTORY },
	{ "domain",		DOMAIN },
	{ "for",		FOR },
	{ "from",		FROM },
	{ "hostname",		HOSTNAME },
	{ "listen",		LISTEN },
	{ "local",		LOCAL },
	{ "maildir",		MAILDIR },
	{ "match",		MATCH },
	{ "max-message-size",	MAXMESSAGESIZE },
	{ "on",			ON },
	{ "port",		PORT },
	{ "queue",		QUEUE },
	{ "smtp",		SMTP },
	{ "socket",		SOCKET },
	{ "src",		SRC },
	{ "table",		TABLE },
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
	return c;
}

static int
lex_word_char(int c)
{
	if (c == EOF)
		return 0;
	if (isalnum(c))
		return 1;
	return strchr("_-.:/@*+%~[]!$?^&|", c) != NULL;
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
		if ((val = symget(buf)) == NULL) {
			yyerror("macro \"%s\" not defined", buf);
			return ERROR;
		}
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
	if ((c = keyword_lookup(buf)) != STRING)
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
symset(const char *name, const char *value, int persist)
{
	struct sym	*s;

	TAILQ_FOREACH(s, &symhead, entry)
		if (strcmp(s->name, name) == 0)
			break;
	if (s != NULL) {
		if (s->persist)
			return 0;
		TAILQ_REMOVE(&symhead, s, entry);
		free(s->name);
		free(s->value);
		free(s);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL ||
	    (s->value = strdup(value)) == NULL)
		return -1;
	s->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, s, entry);
	return 0;
}

int
cmdline_symset(char *s)
{
	char	*eq;
	int	 r;

	if ((eq = strchr(s, '=')) == NULL || eq == s)
		return -1;
	*eq = '\0';
	r = symset(s, eq + 1, 1);
	*eq = '=';
	return r;
}

static char *
symget(const char *name)
{
	struct sym	*s;

	TAILQ_FOREACH(s, &symhead, entry)
		if (strcmp(s->name, name) == 0)
			return s->value;
	return NULL;
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

static int
listen_add(const char *host, long long port)
{
	struct addrinfo	 hints, *res, *ai;
	struct listener	*l;
	int		 error;

	if (port < 1 || port > 65535) {
		yyerror("port %lld out of range", port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (strcmp(host, "localhost") != 0)
		hints.ai_flags |= AI_NUMERICHOST;
	if ((error = getaddrinfo(host, "0", &hints, &res)) != 0) {
		yyerror("cannot listen on %s: %s", host,
		    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("calloc");
		memcpy(&l->ss, ai->ai_addr, ai->ai_addrlen);
		l->sslen = ai->ai_addrlen;
		l->port = port;
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&l->ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&l->ss)->sin6_port =
			    htons(port);
		strlcpy(l->addr, sa_to_text(ai->ai_addr), sizeof(l->addr));
		l->fd = -1;
		l->line = yylval.lineno;
		TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
	}
	freeaddrinfo(res);
	return 0;
}

/* A size in bytes, with an optional K, M or G suffix (powers of 1024). */
static int
size_parse(const char *s, size_t *out)
{
	char		 num[32], *ep;
	const char	*errstr;
	size_t		 len = strlen(s), mult = 1;
	long long	 n;

	if (len == 0 || len >= sizeof(num))
		return -1;
	strlcpy(num, s, sizeof(num));
	ep = num + len - 1;
	switch (toupper((unsigned char)*ep)) {
	case 'K':
		mult = 1024;
		break;
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	}
	if (mult != 1)
		*ep = '\0';
	n = strtonum(num, 1, LLONG_MAX / mult, &errstr);
	if (errstr != NULL)
		return -1;
	*out = (size_t)n * mult;
	return 0;
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
	conf->file = file;
	parse_flags = flags;
	errors = 0;
	lineno = 1;
	atlinestart = 1;
	firstword[0] = '\0';
	fname = file;
	pushlen = 0;
	if ((fin = fopen(file, "r")) == NULL) {
		log_warn("%s", file);
		config_free(conf);
		return NULL;
	}
	yyparse();
	fclose(fin);

	if (errors == 0 && (flags & PARSE_TABLES)) {
		TAILQ_FOREACH(t, &conf->tables, entry) {
			if (t->backend != TABLE_FILE)
				continue;
			if (table_load(t, err, sizeof(err)) == -1) {
				log_warnx("%s:%d: table %s: %s", file,
				    t->line, t->name, err);
				errors++;
			}
		}
	}
	if (errors == 0 && config_check(conf) == -1)
		errors++;
	if (errors) {
		config_free(conf);
		return NULL;
	}
	return conf;
}
