/*
 * libFuzzer target: the RFC 5321 path and parameter parsers, with and
 * without each flag.  Whatever they accept must format back into a
 * bounded string.  The same text, as a header field, goes to the
 * domain check of masquerade.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailaddr		 addr;
	struct smtp_param	 params[SMTP_PARAMS_MAX];
	const char		*rest, *err;
	char			*s, out[600];
	int			 flags;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (flags = 0; flags < 8; flags++) {
		if (smtp_addr_parse_path(s, flags, &addr, &rest, &err) == 0) {
			if (smtp_addr_format(&addr, out, sizeof(out)) == 0 &&
			    strlen(out) >= sizeof(out))
				abort();
			(void)smtp_params_parse(rest, params,
			    SMTP_PARAMS_MAX, &err);
		}
	}
	(void)smtp_xtext_valid(s);
	/* No address, no match; an address of the domain alone matches. */
	if (strchr(s, '@') == NULL && smtp_addr_header_domains(s, "a.example"))
		abort();
	(void)smtp_addr_header_domains(s, "");
	free(s);
	return 0;
}
