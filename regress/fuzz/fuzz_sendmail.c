/*
 * libFuzzer target: what sendmail -t reads of a message (smtpd/
 * sendmail.c, compiled into this file for its static parsers): header
 * fields and their folding, the body, and the recipients taken from
 * To, Cc and Bcc.  Each recipient must be non-empty, fit an envelope
 * address and hold no line break even before sendmail's own check of
 * the characters (which refuses, say, what an unclosed quote left),
 * and the message built for submission must never carry a Bcc field.
 */
#include "smtpd/sendmail.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The other names of smtpctl: never reached here. */
int	mailq_main(void) { abort(); }
int	newaliases_main(void) { abort(); }

static void
check_rcpt(const char *r)
{
	if (r[0] == '\0' || strlen(r) >= ENVELOPE_ADDRMAX ||
	    strpbrk(r, "\r\n") != NULL)
		abort();
}

/* No line of the header section of the built message starts "Bcc:". */
static void
check_built(FILE *f)
{
	char	*line = NULL;
	size_t	 size = 0;
	ssize_t	 len;

	while ((len = getline(&line, &size, f)) > 0) {
		if (line[0] == '\n')
			break;
		if (strncasecmp(line, "Bcc:", 4) == 0)
			abort();
	}
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message	 m;
	struct enqueue	 e;
	FILE		*in, *saved = stdin, *built;
	size_t		 i;

	/*
	 * Beyond the recipient limit sendmail exits, as it should: no
	 * input here holds that many.
	 */
	if (size > 1800 || (in = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	memset(&m, 0, sizeof(m));
	memset(&e, 0, sizeof(e));
	stdin = in;
	message_read(&m, size > 0 && (data[0] & 1));
	stdin = saved;
	fclose(in);
	for (i = 0; i < m.nh; i++) {
		if (strchr(m.h[i].text, ':') == NULL || m.h[i].len !=
		    strlen(m.h[i].text))
			abort();
		if ((header_is(&m.h[i], "To") || header_is(&m.h[i], "Cc") ||
		    header_is(&m.h[i], "Bcc")) && e.nrcpts < 64)
			address_list(&e, strchr(m.h[i].text, ':') + 1,
			    "example.org");
	}
	for (i = 0; i < e.nrcpts; i++)
		check_rcpt(e.rcpts[i]);
	built = message_build(&m, "user@example.org", "A \"User\"",
	    "example.org");
	check_built(built);
	fclose(built);
	for (i = 0; i < m.nh; i++)
		free(m.h[i].text);
	free(m.h);
	fclose(m.body);
	enqueue_clear(&e);
	return 0;
}
