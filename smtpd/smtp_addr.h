/*
 * RFC 5321 paths and ESMTP parameters, as the listener reads them from
 * MAIL FROM: and RCPT TO:.  Pure functions: no process, no I/O.
 */
#ifndef SMTP_ADDR_H
#define SMTP_ADDR_H

#include <stddef.h>

#define MAILADDR_LOCALMAX	66	/* 64 octets, or quoted with room */
#define MAILADDR_DOMAINMAX	256
#define SMTP_PARAMS_MAX		8

/*
 * A mailbox.  local is the local part in canonical form: unquoted when
 * its content is a valid dot-string, else quoted with only the
 * backslashes that must stay.  domain is as written (a name or an
 * address literal in brackets), "" for the null path or a bare local
 * part.
 */
struct mailaddr {
	char	 local[MAILADDR_LOCALMAX * 2];
	char	 domain[MAILADDR_DOMAINMAX];
	int	 literal;	/* domain is [address literal] */
	int	 routed;	/* a source route was given and dropped */
	int	 utf8;		/* local part or domain holds UTF-8 */
};

#define SMTP_ADDR_NULL_OK	0x01	/* "<>" allowed (MAIL FROM) */
#define SMTP_ADDR_BARE_OK	0x02	/* "<postmaster>" allowed (RCPT) */
#define SMTP_ADDR_UTF8		0x04	/* SMTPUTF8 was given */

/*
 * s is what follows "MAIL FROM:" or "RCPT TO:" (spaces before "<"
 * tolerated).  Returns 0 with *addr filled and *params pointing at the
 * ESMTP parameters ("" if none), or -1 with *err a short reason fit for
 * a 501 or 553 reply.
 */
int	smtp_addr_parse_path(const char *, int, struct mailaddr *,
	    const char **, const char **);

/*
 * s is a whole Domain or address-literal (as after "@", or in EHLO).
 * Returns 0, or -1 with *err.
 */
int	smtp_addr_domain_valid(const char *, int, const char **);

/* user@domain, or "" for the null path; returns -1 if it does not fit. */
int	smtp_addr_format(const struct mailaddr *, char *, size_t);

struct smtp_param {
	char	 key[32];	/* upper-cased */
	char	 value[512];	/* "" when the keyword has no value */
	int	 has_value;
};

/*
 * Split "KEY[=VALUE] KEY[=VALUE] ..." (RFC 5321 4.1.2 esmtp-param).
 * Returns the number of parameters, or -1 with *err on a malformed or
 * repeated keyword or more than SMTP_PARAMS_MAX of them.
 */
int	smtp_params_parse(const char *, struct smtp_param *, size_t,
	    const char **);

/* RFC 3461 xtext: 0 if s is valid xtext. */
int	smtp_xtext_valid(const char *);
int	smtp_addr_header_domains(const char *, const char *);

#endif
