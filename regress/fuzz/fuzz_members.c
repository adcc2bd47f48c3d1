/*
 * libFuzzer target: the members of an alias, an include file or a
 * ~/.forward (lookup/members.c).  Every member returned must be a
 * non-empty piece of the text, without CR or LF (it becomes a delivery
 * target, a log field and an envelope line), and must be classified as
 * what its first characters say.  Each call must consume text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lookup/lookup.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_kind(const char *m)
{
	size_t	 plen = strlen(MEMBER_INCLUDE_PREFIX);

	switch (member_kind(m)) {
	case MEMBER_NONE:
		if (strcmp(m, "|") != 0)
			abort();
		break;
	case MEMBER_FILE:
		if (m[0] != '/')
			abort();
		break;
	case MEMBER_COMMAND:
		if (m[0] != '|' || m[1] == '\0')
			abort();
		break;
	case MEMBER_INCLUDE:
		if (strncasecmp(m, MEMBER_INCLUDE_PREFIX, plen) != 0)
			abort();
		break;
	case MEMBER_NAME:
		if (m[0] == '/' || m[0] == '|' ||
		    strncasecmp(m, MEMBER_INCLUDE_PREFIX, plen) == 0)
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text, *p, *m, *before;
	size_t	 len, n = 0;

	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	len = strlen(text);
	p = text;
	for (;;) {
		before = p;
		if ((m = member_next(&p)) == NULL)
			break;
		if (p <= before || p > text + len || ++n > len)
			abort();
		if (m < text || m >= text + len || m[0] == '\0' ||
		    m + strlen(m) > text + len || strpbrk(m, "\r\n") != NULL)
			abort();
		check_kind(m);
	}
	if (p < text || p > text + len)
		abort();
	free(text);
	return 0;
}
