/*
 * libFuzzer target: the envelope loader.  An envelope it accepts must
 * dump back into text that loads to the same envelope: no field can
 * smuggle a line of its own; and pack into the form the scheduler keeps
 * and unpack to the same envelope.  The input is also unpacked as it
 * is, which must end in an envelope or a refusal, never out of bounds.
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
	char		*s, *packed, text[8192], err[256];
	size_t		 len;

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
	free(s);
	return 0;
}
