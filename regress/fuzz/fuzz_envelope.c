/*
 * libFuzzer target: the envelope loader.  An envelope it accepts must
 * dump back into text that loads to the same envelope: no field can
 * smuggle a line of its own.
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
	char		*s, text[8192], err[256];

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (envelope_load(&a, s, err, sizeof(err)) == 0) {
		if (envelope_dump(&a, text, sizeof(text)) == -1)
			abort();
		if (envelope_load(&b, text, err, sizeof(err)) == -1 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	free(s);
	return 0;
}
