/*
 * libFuzzer target: the envelope loader.  An envelope it accepts must
 * dump back into text that loads to the same envelope: no field can
 * smuggle a line of its own; and pack into the form the scheduler keeps
 * and unpack to the same envelope.  The input is also unpacked as it
 * is, which must end in an envelope or a refusal, never out of bounds,
 * and read as a spool file: unsealed when its check line matches, and
 * an envelope that loads from it seals and unseals to its own text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope	 a, b;
	char		*s, *packed, text[8192], sealed[8192 + 32];
	char		 err[256];
	const char	*inner;
	size_t		 len;
	int		 n;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)envelope_unpack(&a, s, size);
	if (envelope_load(&a, s, err, sizeof(err)) == 0) {
		if (envelope_dump(&a, text, sizeof(text)) == -1)
			abort();
		if (envelope_load(&b, text, err, sizeof(err)) == -1 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		if ((packed = envelope_pack(&a, &len)) == NULL)
			abort();
		if (envelope_unpack(&b, packed, len) == -1 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		free(packed);
	}
	if ((inner = envelope_unseal(s, size, err, sizeof(err))) != NULL &&
	    envelope_load(&a, inner, err, sizeof(err)) == 0) {
		if ((n = envelope_dump(&a, text, sizeof(text))) == -1)
			abort();
		memcpy(sealed, text, n);
		if ((n = envelope_seal(sealed, n, sizeof(sealed) - 1)) == -1)
			abort();
		sealed[n] = '\0';
		if ((inner = envelope_unseal(sealed, n, err,
		    sizeof(err))) == NULL || strcmp(inner, text) != 0)
			abort();
	}
	free(s);
	return 0;
}
