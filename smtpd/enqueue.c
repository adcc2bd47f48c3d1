/*
 * One message onto the local submission socket, spoken as an ordinary
 * SMTP client (smtpctl as sendmail, and the offline runner as the file's
 * owner), and the offline file a message waits in while the daemon is
 * down.  Nothing here is privileged: the daemon learns who submits from
 * the socket, not from anything said here.  The offline file is read by
 * its owner's own process, and every line of its envelope is checked;
 * a file that does not parse exactly is refused whole.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "enqueue.h"

#define OFFLINE_MAGIC	"smtpd-offline 1"
#define REPLY_MAX	1024
#define ENQUEUE_TIMEOUT	600	/* seconds for any one reply */

struct conn {
	FILE		*in;
	FILE		*out;
	int		 verbose;
	char		 reply[REPLY_MAX];
};

int
enqueue_rcpt_add(struct enqueue *e, const char *addr)
{
	char	**r;

	if (e->nrcpts >= SMTP_MAX_ENVELOPES)
		return -1;
	if ((r = reallocarray(e->rcpts, e->nrcpts + 1, sizeof(*r))) == NULL)
		return -1;
	e->rcpts = r;
	if ((r[e->nrcpts] = strdup(addr)) == NULL)
		return -1;
	e->nrcpts++;
	return 0;
}

void
enqueue_clear(struct enqueue *e)
{
	size_t	 i;

	for (i = 0; i < e->nrcpts; i++)
		free(e->rcpts[i]);
	free(e->rcpts);
	if (e->msg != NULL)
		fclose(e->msg);
	memset(e, 0, sizeof(*e));
}

/* A connected socket, or -1 with errno set. */
int
enqueue_connect(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { ENQUEUE_TIMEOUT, 0 };
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The code of the next reply, its last line kept; -1 if none came. */
static int
conn_reply(struct conn *c)
{
	char	 line[REPLY_MAX];
	size_t	 len;
	int	 ch;

	for (;;) {
		if (fgets(line, sizeof(line), c->in) == NULL)
			return -1;
		len = strcspn(line, "\r\n");
		if (line[len] == '\0')
			/* Longer than any reply should be: keep the start. */
			while ((ch = getc(c->in)) != EOF && ch != '\n')
				;
		line[len] = '\0';
		if (c->verbose)
			fprintf(stderr, "<<< %s\n", line);
		if (len < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
			return -1;
		if (line[3] == '-')
			continue;
		strlcpy(c->reply, line, sizeof(c->reply));
		return (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
	}
}

static int
conn_cmd(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[REPLY_MAX];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if (c->verbose)
		fprintf(stderr, ">>> %s\n", line);
	if (fprintf(c->out, "%s\r\n", line) < 0 || fflush(c->out) == EOF)
		return -1;
	return conn_reply(c);
}

/* A failure's exit status: temporary, or the permanent one given. */
static int
conn_fail(struct conn *c, int code, int permanent, const char *what)
{
	if (code == -1)
		fprintf(stderr, "sendmail: %s: connection to smtpd lost\n",
		    what);
	else
		fprintf(stderr, "sendmail: %s: %s\n", what, c->reply);
	if (code >= 500 && code < 600)
		return permanent;
	return EX_TEMPFAIL;
}

/* The message, each line ended by CRLF and a leading dot doubled. */
static int
conn_data(struct conn *c, FILE *msg)
{
	char	*line = NULL;
	size_t	 size = 0;
	ssize_t	 len;
	int	 rc = 0;

	while ((len = getline(&line, &size, msg)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((line[0] == '.' && putc('.', c->out) == EOF) ||
		    fwrite(line, 1, len, c->out) != (size_t)len ||
		    fputs("\r\n", c->out) == EOF) {
			rc = -1;
			break;
		}
	}
	free(line);
	if (ferror(msg))
		rc = -1;
	if (rc == 0 && c->verbose)
		fprintf(stderr, ">>> (message)\n>>> .\n");
	if (rc == 0 && (fputs(".\r\n", c->out) == EOF ||
	    fflush(c->out) == EOF))
		rc = -1;
	return rc;
}

static int
conn_transaction(struct conn *c, struct enqueue *e)
{
	char	 params[ENVELOPE_ADDRMAX + 32];
	size_t	 i, accepted = 0;
	int	 code;

	if ((code = conn_reply(c)) / 100 != 2)
		return conn_fail(c, code, EX_UNAVAILABLE, "greeting");
	if ((code = conn_cmd(c, "EHLO %s", e->helo)) / 100 != 2)
		return conn_fail(c, code, EX_PROTOCOL, "EHLO");
	params[0] = '\0';
	if (e->ret[0] != '\0')
		snprintf(params, sizeof(params), " RET=%s", e->ret);
	if (e->envid[0] != '\0' && strlcat(params, " ENVID=",
	    sizeof(params)) < sizeof(params))
		strlcat(params, e->envid, sizeof(params));
	if ((code = conn_cmd(c, "MAIL FROM:<%s>%s", e->sender, params)) /
	    100 != 2)
		return conn_fail(c, code, EX_NOPERM, e->sender[0] != '\0' ?
		    e->sender : "<>");
	for (i = 0; i < e->nrcpts; i++) {
		code = conn_cmd(c, "RCPT TO:<%s>%s%s", e->rcpts[i],
		    e->notify[0] != '\0' ? " NOTIFY=" : "", e->notify);
		if (code / 100 == 2) {
			accepted++;
			continue;
		}
		if (code / 100 != 5)
			return conn_fail(c, code, EX_TEMPFAIL, e->rcpts[i]);
		conn_fail(c, code, EX_NOUSER, e->rcpts[i]);
		e->refused++;
	}
	if (accepted == 0) {
		(void)conn_cmd(c, "QUIT");
		return EX_NOUSER;
	}
	if ((code = conn_cmd(c, "DATA")) != 354)
		return conn_fail(c, code, EX_UNAVAILABLE, "DATA");
	if (conn_data(c, e->msg) == -1)
		return conn_fail(c, -1, EX_TEMPFAIL, "message");
	if ((code = conn_reply(c)) / 100 != 2)
		return conn_fail(c, code, EX_DATAERR, "message");
	(void)conn_cmd(c, "QUIT");
	return e->refused ? EX_NOUSER : EX_OK;
}

/*
 * Submit the message from where e->msg stands.  Returns a sysexits(3)
 * status, or ENQUEUE_UNREACHABLE when no daemon answers on the socket.
 */
int
enqueue_send(const char *path, struct enqueue *e)
{
	struct conn	 c;
	int		 fd, fd2, rc;

	if ((fd = enqueue_connect(path)) == -1)
		return ENQUEUE_UNREACHABLE;
	memset(&c, 0, sizeof(c));
	c.verbose = e->verbose;
	if ((fd2 = dup(fd)) == -1 || (c.in = fdopen(fd, "r")) == NULL ||
	    (c.out = fdopen(fd2, "w")) == NULL) {
		perror("sendmail");
		return EX_OSERR;
	}
	rc = conn_transaction(&c, e);
	fclose(c.in);
	fclose(c.out);
	return rc;
}

/* What may stand on a line of the offline envelope. */
static int
offline_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Keep the message in the offline directory for the daemon to submit
 * as this user when it starts.  It is written under a dot name, which
 * the daemon skips, and renamed once complete.
 */
int
enqueue_offline_write(const char *dir, const struct enqueue *e)
{
	char		 tmp[PATH_MAX], final[PATH_MAX], buf[65536];
	FILE		*f;
	size_t		 i, n, total = 0;
	uint32_t	 r1 = arc4random(), r2 = arc4random();
	int		 fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%08x%08x", dir, r1, r2) >=
	    sizeof(tmp) ||
	    (size_t)snprintf(final, sizeof(final), "%s/%08x%08x", dir, r1,
	    r2) >= sizeof(final))
		return EX_CANTCREAT;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return EX_CANTCREAT;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return EX_OSERR;
	}
	ok = offline_value_ok(e->sender) && offline_value_ok(e->ret) &&
	    offline_value_ok(e->envid) && offline_value_ok(e->notify);
	fprintf(f, "%s\nuid %u\nsender %s\n", OFFLINE_MAGIC,
	    (unsigned)getuid(), e->sender);
	if (e->ret[0] != '\0')
		fprintf(f, "ret %s\n", e->ret);
	if (e->envid[0] != '\0')
		fprintf(f, "envid %s\n", e->envid);
	if (e->notify[0] != '\0')
		fprintf(f, "notify %s\n", e->notify);
	for (i = 0; i < e->nrcpts; i++) {
		ok = ok && offline_value_ok(e->rcpts[i]);
		fprintf(f, "rcpt %s\n", e->rcpts[i]);
	}
	fputc('\n', f);
	while (ok && (n = fread(buf, 1, sizeof(buf), e->msg)) > 0) {
		if ((total += n) > SMTPD_MAXMESSAGESIZE)
			ok = 0;
		else
			fwrite(buf, 1, n, f);
	}
	if (!ok || ferror(e->msg) || fflush(f) == EOF || fsync(fd) == -1 ||
	    fclose(f) == EOF || rename(tmp, final) == -1) {
		unlink(tmp);
		return ok ? EX_IOERR : EX_DATAERR;
	}
	return EX_OK;
}

/*
 * The envelope of an offline file, read by its owner: the magic line,
 * "key value" lines, an empty line; e->msg is left at the message.
 * The uid it names must be the reader's own.
 */
int
enqueue_offline_read(int fd, struct enqueue *e)
{
	FILE		*f;
	char		*line = NULL, *val;
	size_t		 size = 0;
	ssize_t		 len;
	const char	*errstr;
	int		 lineno = 0, uid = 0, sender = 0, rc = EX_DATAERR;
	long long	 n;

	if ((f = fdopen(fd, "r")) == NULL)
		return EX_OSERR;
	e->msg = f;
	while ((len = getline(&line, &size, f)) != -1) {
		if (len == 0 || line[len - 1] != '\n' ||
		    strlen(line) != (size_t)len)
			goto done;
		line[--len] = '\0';
		if (lineno++ == 0) {
			if (strcmp(line, OFFLINE_MAGIC) != 0)
				goto done;
			continue;
		}
		if (len == 0)
			break;
		if (!offline_value_ok(line) || (val = strchr(line, ' ')) ==
		    NULL)
			goto done;
		*val++ = '\0';
		if (strcmp(line, "uid") == 0 && !uid) {
			n = strtonum(val, 0, UINT32_MAX, &errstr);
			if (errstr != NULL)
				goto done;
			if ((uid_t)n != getuid()) {
				rc = EX_NOPERM;
				goto done;
			}
			uid = 1;
		} else if (strcmp(line, "sender") == 0 && !sender) {
			if (strlcpy(e->sender, val, sizeof(e->sender)) >=
			    sizeof(e->sender))
				goto done;
			sender = 1;
		} else if (strcmp(line, "ret") == 0) {
			if (strlcpy(e->ret, val, sizeof(e->ret)) >=
			    sizeof(e->ret))
				goto done;
		} else if (strcmp(line, "envid") == 0) {
			if (strlcpy(e->envid, val, sizeof(e->envid)) >=
			    sizeof(e->envid))
				goto done;
		} else if (strcmp(line, "notify") == 0) {
			if (strlcpy(e->notify, val, sizeof(e->notify)) >=
			    sizeof(e->notify))
				goto done;
		} else if (strcmp(line, "rcpt") == 0) {
			if (val[0] == '\0' || strlen(val) >= ENVELOPE_ADDRMAX ||
			    enqueue_rcpt_add(e, val) == -1)
				goto done;
		} else
			goto done;
	}
	if (len != -1 && uid && sender && e->nrcpts > 0)
		rc = EX_OK;
done:
	free(line);
	return rc;
}
