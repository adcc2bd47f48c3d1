/*
 * libFuzzer target: the bounce and delay report (queue/queue_bounce.c)
 * written for an envelope whose text fields are fuzzed, as a remote
 * server's reply, a client's ENVID, ORCPT and NOTIFY, or a damaged
 * queue file could make them, and for a fuzzed original message.
 *
 * Input: one byte of flags (bit 0: a delay notice; bit 1: the arrival
 * time and the time to retry until follow, 8 bytes each), then the
 * fields sender, rcpt, lasterr, dsn-ret, dsn-envid, dsn-notify and
 * dsn-orcpt, each ended by a NUL, then the message.
 *
 * Properties: the report is written without a crash; no field adds or
 * removes a line (the report of the fuzzed envelope has as many lines
 * as that of a plain one with the same fields set) or holds a CR; the
 * Status: field is an RFC 3463 status code; with RET=HDRS only the
 * header of the message is copied.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "queue/queue.h"

#define HOST	"mx.example.org"
#define NOW	1700000000
#define TRAILER	"\n--0123456700000001/" HOST "--\n"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Take the next NUL-ended field of the input, cut to fit. */
static void
take(const uint8_t **data, size_t *size, char *field, size_t fieldlen)
{
	const uint8_t	*end;
	size_t		 len, skip, n;

	if ((end = memchr(*data, '\0', *size)) != NULL) {
		len = end - *data;
		skip = len + 1;
	} else
		len = skip = *size;
	n = len < fieldlen ? len : fieldlen - 1;
	memcpy(field, *data, n);
	field[n] = '\0';
	*data += skip;
	*size -= skip;
}

static int
message_fd(const uint8_t *data, size_t size)
{
	int	 fd;

	if ((fd = memfd_create("message", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	return fd;
}

/* The report, NUL-terminated; its length in *lenp. */
static char *
report(const struct envelope *e, int msgfd, enum bounce_kind kind,
    int64_t until, size_t *lenp)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0;

	if ((fp = open_memstream(&text, &len)) == NULL)
		abort();
	if (bounce_write(fp, e, msgfd, kind, HOST, NOW, until,
	    (int)(until & 1)) == -1)
		abort();
	if (fclose(fp) == EOF)
		abort();
	*lenp = len;
	return text;
}

static size_t
count_lines(const char *text, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

/* "Status: " class.subject.detail, 1 to 3 digits each but the class. */
static void
check_status(const char *text)
{
	const char	*p;
	int		 i, n;

	if ((p = strstr(text, "\nStatus: ")) == NULL)
		abort();
	p += strlen("\nStatus: ");
	if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
		abort();
	p += 2;
	for (i = 0; i < 2; i++) {
		for (n = 0; isdigit((unsigned char)*p); p++)
			n++;
		if (n < 1 || n > 3 || *p != (i == 0 ? '.' : '\n'))
			abort();
		p++;
	}
}

/* A plain stand-in for each field that is set. */
static void
plain(struct envelope *e)
{
	if (e->sender[0] != '\0')
		strlcpy(e->sender, "s@example.org", sizeof(e->sender));
	if (e->rcpt[0] != '\0')
		strlcpy(e->rcpt, "r@example.org", sizeof(e->rcpt));
	if (e->lasterr[0] != '\0')
		strlcpy(e->lasterr, "550 no", sizeof(e->lasterr));
	if (e->dsn_envid[0] != '\0')
		strlcpy(e->dsn_envid, "id", sizeof(e->dsn_envid));
	if (e->dsn_orcpt[0] != '\0')
		strlcpy(e->dsn_orcpt, "rfc822;r@example.org",
		    sizeof(e->dsn_orcpt));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope	 e, p;
	enum bounce_kind kind;
	char		*text, *ptext, *body;
	size_t		 len, plen, copied;
	int64_t		 until;
	int		 fd, empty, hdrs;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? BOUNCE_DELAYED : BOUNCE_FAILED;
	memset(&e, 0, sizeof(e));
	e.id = 0x0123456700000001ULL;
	e.created = NOW - 7200;
	until = NOW + 3600;
	if ((data[0] & 2) && size >= 17) {
		memcpy(&e.created, data + 1, sizeof(e.created));
		memcpy(&until, data + 9, sizeof(until));
		data += 16;
		size -= 16;
	}
	data++;
	size--;
	take(&data, &size, e.sender, sizeof(e.sender));
	take(&data, &size, e.rcpt, sizeof(e.rcpt));
	take(&data, &size, e.lasterr, sizeof(e.lasterr));
	take(&data, &size, e.dsn_ret, sizeof(e.dsn_ret));
	take(&data, &size, e.dsn_envid, sizeof(e.dsn_envid));
	take(&data, &size, e.dsn_notify, sizeof(e.dsn_notify));
	take(&data, &size, e.dsn_orcpt, sizeof(e.dsn_orcpt));
	(void)bounce_wanted(&e, kind);
	hdrs = strcasecmp(e.dsn_ret, "HDRS") == 0;

	/* The fields alone, with an empty message. */
	empty = message_fd(NULL, 0);
	text = report(&e, empty, kind, until, &len);
	p = e;
	plain(&p);
	ptext = report(&p, empty, kind, until, &plen);
	if (memchr(text, '\r', len) != NULL ||
	    memchr(text, '\0', len) != NULL ||
	    count_lines(text, len) != count_lines(ptext, plen))
		abort();
	check_status(text);
	free(text);
	free(ptext);
	close(empty);

	/* The message, whole or its header only, then the last boundary. */
	fd = message_fd(data, size);
	text = report(&e, fd, kind, until, &len);
	body = strstr(text, hdrs ? "\nContent-Type: text/rfc822-headers\n\n" :
	    "\nContent-Type: message/rfc822\n\n");
	if (body == NULL || len < sizeof(TRAILER) - 1 ||
	    strcmp(text + len - (sizeof(TRAILER) - 1), TRAILER) != 0)
		abort();
	body = strchr(body + 1, '\n') + 2;
	copied = text + len - (sizeof(TRAILER) - 1) - body;
	if (copied > size || memcmp(body, data, copied) != 0)
		abort();
	if (!hdrs && copied != size)
		abort();
	if (hdrs && copied > 0 && (body[0] == '\n' ||
	    memmem(body, copied, "\n\n", 2) != NULL))
		abort();
	free(text);
	close(fd);
	return 0;
}
