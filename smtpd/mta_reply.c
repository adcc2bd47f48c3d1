/*
 * Remote SMTP replies, one line at a time.  Nothing here trusts the
 * remote server: a line is at most MTA_REPLY_LINE_MAX octets, a reply
 * at most MTA_REPLY_LINES_MAX lines, every line of a reply must carry
 * the same code, and what is kept of the text is printable ASCII only,
 * so that it can go into a log line, an envelope or a bounce as it is.
 * Pure functions: the fuzz target drives them directly.
 */
#include <sys/types.h>

#include <string.h>

#include "mta.h"

void
mta_reply_reset(struct mta_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Copy at most srclen bytes of src into dst, every byte outside
 * printable ASCII turned into '?', runs of white space into one space.
 */
void
mta_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t	 i, n = 0;
	int	 c;

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen && n + 1 < dstlen; i++) {
		c = (unsigned char)src[i];
		if (c == ' ' || c == '\t') {
			if (n > 0 && dst[n - 1] == ' ')
				continue;
			c = ' ';
		} else if (c < 0x21 || c > 0x7e)
			c = '?';
		dst[n++] = c;
	}
	dst[n] = '\0';
}

/* Append a line's text to what is kept, lines joined by a space. */
static void
mta_reply_append(struct mta_reply *r, const char *s, size_t len)
{
	size_t	 n = strlen(r->text);

	if (n > 0 && n + 1 < sizeof(r->text))
		r->text[n++] = ' ';
	mta_sanitize(r->text + n, sizeof(r->text) - n, s, len);
}

/*
 * Take one line, its CRLF removed.  Returns 1 when the reply is
 * complete, 0 when more lines follow, -1 when the line breaks the
 * protocol (the session must end).
 */
int
mta_reply_line(struct mta_reply *r, const char *line, size_t len)
{
	int	 code;

	if (r->done || len < 3 || len > MTA_REPLY_LINE_MAX)
		return -1;
	if (memchr(line, '\0', len) != NULL)
		return -1;
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->code != 0 && code != r->code)
		return -1;
	if (++r->nlines > MTA_REPLY_LINES_MAX)
		return -1;
	if (r->code == 0) {
		r->code = code;
		mta_reply_append(r, line, 3);
	}
	if (len > 4)
		mta_reply_append(r, line + 4, len - 4);
	if (len == 3 || line[3] == ' ') {
		r->done = 1;
		return 1;
	}
	return 0;
}
