/*
 * smtpctl under the name sendmail (or send-mail): the interface that
 * cron, mail(1), PHP and every other local program expect.  It reads a
 * message on standard input, adds the header fields a user agent may
 * leave out (Date, Message-ID, From), and submits it on the local
 * submission socket as an SMTP client; the daemon learns who submits
 * from the socket itself.  When no daemon answers, the message is kept
 * in the offline directory and submitted as this user when smtpd
 * starts.  Exit statuses are those of sysexits(3).
 *
 * Installed set-group-id to the submission group, smtpctl gives that
 * group up at once and takes it back only to create its offline file.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "enqueue.h"
#include "sendmail.h"

struct header {
	char		*text;		/* the whole field, folded lines LF */
	size_t		 len;
};

struct message {
	struct header	*h;
	size_t		 nh;
	FILE		*body;
	int		 has_from, has_date, has_msgid;
};

static gid_t	 submit_gid = (gid_t)-1;	/* set-group-id, given up */

static __attribute__((__noreturn__)) void
sendmail_usage(void)
{
	fprintf(stderr, "usage: sendmail [-tiv] [-B type] [-F name] "
	    "[-f sender] [-N dsn] [-R ret] [-V envid]\n"
	    "                [-bm | -bp | -bs | -bi] [-o option] "
	    "[recipient ...]\n");
	exit(EX_USAGE);
}

/* Give up the set-group-id group until the offline file needs it. */
void
sendmail_drop_group(void)
{
	if (getegid() == getgid())
		return;
	submit_gid = getegid();
	if (setegid(getgid()) == -1) {
		perror("sendmail: setegid");
		exit(EX_OSERR);
	}
}

/*
 * A path from the environment.  A socket is reached with the user's own
 * rights, the group given up, so any may be named; the offline
 * directory is written with the group, so a set-group-id run takes no
 * other than the compiled-in one.
 */
const char *
sendmail_path(const char *var, const char *def)
{
	const char	*v;

	if ((v = getenv(var)) == NULL || v[0] != '/')
		return def;
	if (submit_gid != (gid_t)-1 && strcmp(var, "SMTPD_OFFLINE_DIR") == 0)
		return def;
	return v;
}

/* This host's mail name: /etc/mailname when present, as on Debian. */
static void
sendmail_hostname(char *buf, size_t len)
{
	FILE	*f;

	buf[0] = '\0';
	if ((f = fopen("/etc/mailname", "r")) != NULL) {
		if (fgets(buf, len, f) == NULL)
			buf[0] = '\0';
		buf[strcspn(buf, " \t\r\n")] = '\0';
		fclose(f);
	}
	if (buf[0] == '\0' && gethostname(buf, len) == -1)
		strlcpy(buf, "localhost", len);
}

static int
header_is(const struct header *h, const char *name)
{
	size_t	 n = strlen(name);

	return h->len > n && strncasecmp(h->text, name, n) == 0 &&
	    h->text[n] == ':';
}

/* A field name: printable characters but the colon, then a colon. */
static int
line_starts_header(const char *line)
{
	const char	*p;

	for (p = line; *p != '\0' && *p != ':'; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return *p == ':' && p > line;
}

static void
header_add(struct message *m, const char *line)
{
	struct header	*h;

	if ((h = reallocarray(m->h, m->nh + 1, sizeof(*h))) == NULL ||
	    (h[m->nh].text = strdup(line)) == NULL) {
		perror("sendmail");
		exit(EX_OSERR);
	}
	m->h = h;
	h[m->nh].len = strlen(line);
	m->nh++;
}

static void
header_continue(struct message *m, const char *line)
{
	struct header	*h = &m->h[m->nh - 1];
	size_t		 n = strlen(line);

	if ((h->text = realloc(h->text, h->len + n + 2)) == NULL) {
		perror("sendmail");
		exit(EX_OSERR);
	}
	h->text[h->len++] = '\n';
	memcpy(h->text + h->len, line, n + 1);
	h->len += n;
}

/*
 * Write one input line to the body.  A CR inside a line ends it there:
 * the daemon takes only CRLF as a line end, and a lone CR is a line
 * break to the program that wrote it.
 */
static void
body_line(FILE *body, const char *line, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		putc(line[i] == '\r' ? '\n' : line[i], body);
	putc('\n', body);
}

/*
 * Read the message: header fields into m->h, the rest into m->body.
 * Lines may end in LF or CRLF.  Unless ignoredots, a line holding a
 * single dot ends the input.
 */
static void
message_read(struct message *m, int ignoredots)
{
	char	*line = NULL;
	size_t	 size = 0;
	ssize_t	 len;
	int	 inheaders = 1;

	if ((m->body = tmpfile()) == NULL) {
		perror("sendmail: tmpfile");
		exit(EX_CANTCREAT);
	}
	while ((len = getline(&line, &size, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (!ignoredots && len == 1 && line[0] == '.')
			break;
		if (inheaders && len > 0 && memchr(line, '\0', len) == NULL &&
		    memchr(line, '\r', len) == NULL) {
			if (line_starts_header(line)) {
				header_add(m, line);
				continue;
			}
			if ((line[0] == ' ' || line[0] == '\t') && m->nh > 0) {
				header_continue(m, line);
				continue;
			}
		}
		if (inheaders) {
			inheaders = 0;
			/* Not a header: the body begins here, as it is. */
			if (len == 0)
				continue;
		}
		body_line(m->body, line, len);
	}
	free(line);
	if (ferror(stdin)) {
		perror("sendmail: standard input");
		exit(EX_IOERR);
	}
}

/*
 * The addresses of an address list (RFC 5322 3.4): each mailbox's
 * addr-spec, from inside angle brackets or bare, comments and group
 * names left out.
 */
static void
address_list(struct enqueue *e, const char *value, const char *host)
{
	char		 addr[ENVELOPE_ADDRMAX], full[ENVELOPE_ADDRMAX];
	const char	*p;
	size_t		 n = 0;
	int		 quote = 0, depth = 0, angle = 0, inangle = 0;

	for (p = value;; p++) {
		if (*p == '\0' || (!quote && depth == 0 && !inangle &&
		    (*p == ',' || *p == ';'))) {
			addr[n] = '\0';
			if (n > 0 && strchr(addr, '@') == NULL &&
			    (size_t)snprintf(full, sizeof(full), "%s@%s",
			    addr, host) < sizeof(full))
				strlcpy(addr, full, sizeof(addr));
			if (n > 0 && enqueue_rcpt_add(e, addr) == -1) {
				fprintf(stderr, "sendmail: too many "
				    "recipients\n");
				exit(EX_DATAERR);
			}
			n = 0;
			angle = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (quote) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				quote = 0;
			/* Unfolding removes the line break, even in quotes. */
			if (*p == '\n')
				continue;
			if (!angle && n + 1 < sizeof(addr))
				addr[n++] = *p;
			continue;
		}
		if (depth > 0) {
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			continue;
		}
		switch (*p) {
		case '(':
			depth++;
			continue;
		case '"':
			quote = 1;
			break;
		case ':':
			/* A group's name: what came before is no address. */
			if (!inangle) {
				n = 0;
				continue;
			}
			break;
		case '<':
			inangle = 1;
			angle = 1;
			n = 0;
			continue;
		case '>':
			inangle = 0;
			continue;
		case ' ': case '\t': case '\n': case '\r':
			continue;
		}
		if (angle && !inangle)
			continue;
		if (n + 1 < sizeof(addr))
			addr[n++] = *p;
	}
}

/* The display name, quoted if it holds anything but atoms. */
static void
from_header(char *buf, size_t len, const char *name, const char *addr)
{
	const char	*p;
	char		 quoted[512];
	size_t		 n = 0;

	if (name == NULL || name[0] == '\0') {
		snprintf(buf, len, "From: %s", addr);
		return;
	}
	for (p = name; *p != '\0' && n + 3 < sizeof(quoted); p++) {
		if (iscntrl((unsigned char)*p))
			continue;
		if (*p == '"' || *p == '\\')
			quoted[n++] = '\\';
		quoted[n++] = *p;
	}
	quoted[n] = '\0';
	snprintf(buf, len, "From: \"%s\" <%s>", quoted, addr);
}

/* The whole message as it is submitted: added fields first. */
static FILE *
message_build(struct message *m, const char *from, const char *name,
    const char *host)
{
	FILE		*out;
	char		 line[1024], date[64];
	time_t		 now = time(NULL);
	size_t		 i, n;
	int		 c;

	if ((out = tmpfile()) == NULL) {
		perror("sendmail: tmpfile");
		exit(EX_CANTCREAT);
	}
	for (i = 0; i < m->nh; i++) {
		if (header_is(&m->h[i], "From"))
			m->has_from = 1;
		else if (header_is(&m->h[i], "Date"))
			m->has_date = 1;
		else if (header_is(&m->h[i], "Message-ID"))
			m->has_msgid = 1;
	}
	if (!m->has_from) {
		from_header(line, sizeof(line), name, from);
		fprintf(out, "%s\n", line);
	}
	if (!m->has_date) {
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
		    localtime(&now));
		fprintf(out, "Date: %s\n", date);
	}
	if (!m->has_msgid)
		fprintf(out, "Message-ID: <%llx.%08x@%s>\n",
		    (unsigned long long)now, arc4random(), host);
	/* Blind copies stay blind: the field never leaves. */
	for (i = 0; i < m->nh; i++)
		if (!header_is(&m->h[i], "Bcc"))
			fprintf(out, "%s\n", m->h[i].text);
	fputc('\n', out);
	rewind(m->body);
	while ((c = getc(m->body)) != EOF)
		putc(c, out);
	n = ftell(out);
	if (ferror(out) || fflush(out) == EOF) {
		perror("sendmail: temporary file");
		exit(EX_IOERR);
	}
	if (n > SMTPD_MAXMESSAGESIZE) {
		fprintf(stderr, "sendmail: message too large\n");
		exit(EX_DATAERR);
	}
	rewind(out);
	return out;
}

/* Nothing that could break a command line of the dialogue. */
static int
arg_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s) || *s == '<' || *s == '>')
			return 0;
	return 1;
}

static void
qualify(char *buf, size_t len, const char *addr, const char *host)
{
	if (!arg_clean(addr) || strlen(addr) >= ENVELOPE_ADDRMAX - 1) {
		fprintf(stderr, "sendmail: bad address: %s\n", addr);
		exit(EX_DATAERR);
	}
	if (addr[0] == '\0' || strchr(addr, '@') != NULL)
		strlcpy(buf, addr, len);
	else if ((size_t)snprintf(buf, len, "%s@%s", addr, host) >= len) {
		fprintf(stderr, "sendmail: address too long: %s\n", addr);
		exit(EX_DATAERR);
	}
}

/* -bs: the caller speaks SMTP; relay both ways until either side ends. */
static int
sendmail_smtp(const char *sock)
{
	struct pollfd	 pfd[2];
	char		 buf[16384];
	ssize_t		 n;
	int		 fd, in_open = 1;

	if ((fd = enqueue_connect(sock)) == -1) {
		printf("421 4.3.0 Mail system unavailable\r\n");
		fflush(stdout);
		return EX_TEMPFAIL;
	}
	for (;;) {
		pfd[0].fd = in_open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return EX_OSERR;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(fd, buf, sizeof(buf))) <= 0)
				return EX_OK;
			if (write(STDOUT_FILENO, buf, n) != n)
				return EX_IOERR;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(STDIN_FILENO, buf, sizeof(buf))) <= 0) {
				in_open = 0;
				shutdown(fd, SHUT_WR);
			} else if (write(fd, buf, n) != n)
				return EX_IOERR;
		}
	}
}

/* The message could not be submitted now: keep it for later. */
static int
sendmail_offline(struct enqueue *e)
{
	const char	*dir;
	int		 rc;

	dir = sendmail_path("SMTPD_OFFLINE_DIR", SMTPD_OFFLINE_DIR);
	rewind(e->msg);
	if (submit_gid != (gid_t)-1 && setegid(submit_gid) == -1)
		return EX_OSERR;
	rc = enqueue_offline_write(dir, e);
	if (submit_gid != (gid_t)-1 && setegid(getgid()) == -1)
		exit(EX_OSERR);
	if (rc == EX_OK) {
		if (e->verbose)
			fprintf(stderr, "sendmail: smtpd is not running: "
			    "message kept in %s\n", dir);
		return EX_OK;
	}
	fprintf(stderr, "sendmail: smtpd is not running and the message "
	    "cannot be kept in %s: %s\n", dir, rc == EX_DATAERR ?
	    "bad envelope or message too large" : strerror(errno));
	return EX_TEMPFAIL;
}

int
sendmail_main(int argc, char *argv[])
{
	struct enqueue	 e;
	struct message	 m;
	struct passwd	*pw;
	char		 host[SMTP_DOMAIN_MAX + 1], addr[ENVELOPE_ADDRMAX];
	const char	*sender = NULL, *fullname = NULL, *mode = "m";
	const char	*sock;
	size_t		 i;
	char		 daemon[ENVELOPE_ADDRMAX];
	int		 ch, tflag = 0, qflag = 0, ignoredots = 0, rc;

	memset(&e, 0, sizeof(e));
	memset(&m, 0, sizeof(m));
	/* Options of other sendmails are taken and, where moot, ignored. */
	while ((ch = getopt(argc, argv,
	    "A:B:b:C:d:e:F:f:Gh:iL:mN:no:O:p:q:R:r:tUV:vX:")) != -1) {
		switch (ch) {
		case 'b':
			mode = optarg;
			break;
		case 'F':
			fullname = optarg;
			break;
		case 'f':
		case 'r':
			sender = optarg;
			break;
		case 'i':
			ignoredots = 1;
			break;
		case 'N':
			if (strlcpy(e.notify, optarg, sizeof(e.notify)) >=
			    sizeof(e.notify) || !arg_clean(optarg) ||
			    strchr(optarg, ' ') != NULL)
				sendmail_usage();
			break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				ignoredots = 1;
			break;
		case 'R':
			if (strcasecmp(optarg, "full") != 0 &&
			    strcasecmp(optarg, "hdrs") != 0)
				sendmail_usage();
			strlcpy(e.ret, optarg, sizeof(e.ret));
			break;
		case 't':
			tflag = 1;
			break;
		case 'V':
			if (strlcpy(e.envid, optarg, sizeof(e.envid)) >=
			    sizeof(e.envid) || !arg_clean(optarg) ||
			    strchr(optarg, ' ') != NULL)
				sendmail_usage();
			break;
		case 'v':
			e.verbose = 1;
			break;
		case 'q':
			qflag = 1;
			break;
		case 'A': case 'B': case 'C': case 'd': case 'e': case 'G':
		case 'h': case 'L': case 'm': case 'n': case 'O': case 'p':
		case 'U': case 'X':
			break;
		default:
			sendmail_usage();
		}
	}
	argc -= optind;
	argv += optind;
	sock = sendmail_path("SMTPD_SUBMIT_SOCKET", SMTPD_SUBMIT_SOCKET);

	if (strcmp(mode, "p") == 0)
		return mailq_main();
	if (strcmp(mode, "i") == 0)
		return newaliases_main();
	if (strcmp(mode, "s") == 0)
		return sendmail_smtp(sock);
	/* The daemon runs its queue itself: a queue run has nothing to do. */
	if (qflag && argc == 0)
		return EX_OK;
	if (strcmp(mode, "m") != 0) {
		fprintf(stderr, "sendmail: -b%s is not supported\n", mode);
		return EX_USAGE;
	}
	if ((pw = getpwuid(getuid())) == NULL) {
		fprintf(stderr, "sendmail: who are you?\n");
		return EX_NOUSER;
	}
	if (sender != NULL && sender[0] == '<' &&
	    sender[strlen(sender) - 1] == '>') {
		strlcpy(addr, sender + 1, sizeof(addr));
		addr[strcspn(addr, ">")] = '\0';
		sender = addr;
	}
	sendmail_hostname(host, sizeof(host));
	strlcpy(e.helo, host, sizeof(e.helo));
	qualify(e.sender, sizeof(e.sender), sender != NULL ? sender :
	    pw->pw_name, host);
	sender = e.sender;
	if (fullname == NULL && pw->pw_gecos != NULL)
		fullname = strsep(&pw->pw_gecos, ",");
	for (i = 0; i < (size_t)argc; i++)
		address_list(&e, argv[i], host);
	message_read(&m, ignoredots);
	if (tflag)
		for (i = 0; i < m.nh; i++)
			if (header_is(&m.h[i], "To") ||
			    header_is(&m.h[i], "Cc") ||
			    header_is(&m.h[i], "Bcc"))
				address_list(&e, strchr(m.h[i].text, ':') + 1,
				    host);
	if (e.nrcpts == 0) {
		fprintf(stderr, "sendmail: no recipients\n");
		return EX_USAGE;
	}
	for (i = 0; i < e.nrcpts; i++)
		if (!arg_clean(e.rcpts[i])) {
			fprintf(stderr, "sendmail: bad recipient: %s\n",
			    e.rcpts[i]);
			return EX_DATAERR;
		}
	snprintf(daemon, sizeof(daemon), "MAILER-DAEMON@%s", host);
	e.msg = message_build(&m, e.sender[0] != '\0' ? e.sender : daemon,
	    fullname, host);
	rc = enqueue_send(sock, &e);
	if (rc == ENQUEUE_UNREACHABLE)
		rc = sendmail_offline(&e);
	return rc;
}
