/*
 * libFuzzer target for the records a delivery agent sends the parent
 * (smtpd/mda_record.c): the input is one datagram as a compromised or
 * buggy agent might send it.  A record the reader takes has printable
 * text within its bounds, and the writer gives back the same datagram
 * for it; where the text had nothing to clean, that is the input.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "smtpd/mda.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mda_record	 r, r2;
	char			 err[MDA_ERR_MAX], err2[MDA_ERR_MAX];
	char			 buf[sizeof(r) + MDA_ERR_MAX];
	size_t			 i, len, n;
	int			 clean = 1;

	if (mda_record_parse((const char *)data, size, &r, err) == -1)
		return 0;
	len = strlen(err);
	if (len != r.len || len >= MDA_ERR_MAX)
		abort();
	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)err[i]))
			abort();
	for (i = sizeof(r); i < size; i++)
		if (data[i] == '\0' || iscntrl(data[i]))
			clean = 0;
	/* The writer sends no text with a success. */
	if (r.rc == EX_OK && r.len != 0)
		return 0;
	n = mda_record_build(buf, sizeof(buf), r.evpid, r.rc, err);
	if (n == 0 || mda_record_parse(buf, n, &r2, err2) == -1 ||
	    memcmp(&r, &r2, sizeof(r)) != 0 || strcmp(err, err2) != 0)
		abort();
	if (clean && (n != size || memcmp(buf, data, n) != 0))
		abort();
	return 0;
}
