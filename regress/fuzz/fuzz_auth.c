/*
 * libFuzzer target: AUTH decoding.  The input is taken three ways: as
 * a base64 response (what a client sends after AUTH PLAIN or LOGIN), as
 * raw bytes to encode, and as a decoded PLAIN response to split.
 *
 * Properties: a decoded response encodes back to the same length and
 * text, up to the unused low bits of its last base64 digit, and decodes
 * again to the same bytes; any bytes survive an encode and a decode;
 * the decoder never writes past the room it is given; a split PLAIN
 * response is exactly authzid NUL authcid NUL passwd.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtpd.h"

#define ROOM	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Base64 text of len: at most one digit differs, the last before "=". */
static void
check_same_text(const char *a, const char *b, size_t len)
{
	size_t	 i, diff = 0, last;

	for (last = len; last > 0 && a[last - 1] == '='; last--)
		;
	for (i = 0; i < len; i++)
		if (a[i] != b[i] && (++diff > 1 || len - last == 0 ||
		    i != last - 1))
			abort();
}

static void
check_decode(const char *s)
{
	unsigned char	*out, *again;
	char		*text;
	size_t		 len = strlen(s), textlen;
	ssize_t		 n, m;

	if ((out = malloc(ROOM)) == NULL || (again = malloc(ROOM)) == NULL)
		abort();
	n = base64_decode(s, out, ROOM);
	if (n < 0) {
		free(out);
		free(again);
		return;
	}
	if ((size_t)n > ROOM || (size_t)n > len / 4 * 3)
		abort();
	/* One byte less room than it needs must be refused. */
	if (n > 0 && base64_decode(s, again, n - 1) != -1)
		abort();
	textlen = ((size_t)n + 2) / 3 * 4 + 1;
	if ((text = malloc(textlen)) == NULL)
		abort();
	if (base64_encode(out, n, text, textlen) == -1 ||
	    strlen(text) != len)
		abort();
	check_same_text(s, text, len);
	m = base64_decode(text, again, ROOM);
	if (m != n || memcmp(out, again, n) != 0)
		abort();
	/* LOGIN: a user name or password holds no NUL. */
	(void)memchr(out, '\0', n);
	free(text);
	free(out);
	free(again);
}

static void
check_encode(const uint8_t *data, size_t size)
{
	unsigned char	*back;
	char		*text;
	size_t		 textlen = (size + 2) / 3 * 4 + 1;

	if ((text = malloc(textlen)) == NULL ||
	    (back = malloc(size + 1)) == NULL)
		abort();
	if (base64_encode(data, size, text, textlen - 1) != -1)
		abort();
	if (base64_encode(data, size, text, textlen) == -1 ||
	    strlen(text) != textlen - 1)
		abort();
	if (base64_decode(text, back, size) != (ssize_t)size ||
	    memcmp(back, data, size) != 0)
		abort();
	free(text);
	free(back);
}

static void
check_split(const uint8_t *data, size_t size)
{
	const char	*authz, *user, *pass;
	char		*buf;
	size_t		 i, nuls = 0;

	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < size; i++)
		nuls += buf[i] == '\0';
	if (auth_plain_split(buf, size, &authz, &user, &pass) == 0) {
		if (nuls != 2 || authz != buf || user[0] == '\0' ||
		    user != authz + strlen(authz) + 1 ||
		    pass != user + strlen(user) + 1 ||
		    pass + strlen(pass) != buf + size)
			abort();
	} else if (nuls == 2 &&
	    ((const char *)memchr(buf, '\0', size))[1] != '\0')
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	check_decode(s);
	free(s);
	check_encode(data, size);
	check_split(data, size);
	return 0;
}
