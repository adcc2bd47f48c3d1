/*
 * libFuzzer target for the reading of remote SMTP replies
 * (smtpd/mta_reply.c): the input is what a remote server sends, cut
 * into lines at LF as the mta does.  Whatever it is, a reply is either
 * refused or kept as printable text within its bounds.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/mta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct mta_reply *r)
{
	size_t	 i, len = strlen(r->text);

	if (len >= sizeof(r->text))
		abort();
	for (i = 0; i < len; i++)
		if (r->text[i] < 0x20 || r->text[i] > 0x7e)
			abort();
	if (r->code != 0 && (r->code < 200 || r->code > 599))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mta_reply	 r;
	const char		*p = (const char *)data, *nl;
	size_t			 left = size, len;
	int			 rv;

	mta_reply_reset(&r);
	while (left > 0) {
		if ((nl = memchr(p, '\n', left)) == NULL)
			len = left;
		else
			len = nl - p;
		rv = mta_reply_line(&r, p, len > 0 && p[len - 1] == '\r' ?
		    len - 1 : len);
		check(&r);
		if (rv == -1)
			break;
		if (rv == 1)
			mta_reply_reset(&r);
		p += len + (nl != NULL);
		left -= len + (nl != NULL);
	}
	return 0;
}
