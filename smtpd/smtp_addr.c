/*
 * RFC 5321 4.1.2 paths and ESMTP parameters, with the RFC 6531
 * extensions when the client gave SMTPUTF8.
 *
 * The parser is strict where leniency has let one address be read as
 * another: '%' and '!' are plain local-part characters, a quoted '@'
 * stays inside the quotes, a source route is recorded and dropped, and
 * a domain whose last label is all digits is refused, since resolvers
 * would take "host@192.0.2.1" for an IP address (RFC 1123 2.1: such a
 * name is never a host name).  Everything it produces is as written,
 * except the local part, which is brought to one canonical form so that
 * two spellings of one mailbox compare equal.
 *
 * Only libc: the regress test links this file alone.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_addr.h"

#define LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1, octets as written */
#define LABEL_MAX	63	/* RFC 1035 2.3.4 */
#define DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define PATH_MAX_LEN	256	/* RFC 5321 4.5.3.1.3, brackets included */

#define E_CTRL		"control characters not allowed"
#define E_8BIT		"non-ASCII characters need SMTPUTF8"
#define E_UTF8		"invalid UTF-8"
#define E_BRACKETS	"missing angle brackets"
#define E_NULL		"null path not allowed"
#define E_NODOMAIN	"missing domain"
#define E_LOCAL		"invalid local part"
#define E_LOCALLEN	"local part too long"
#define E_QUOTE		"unterminated quoted string"
#define E_DOMAIN	"invalid domain"
#define E_LABELLEN	"domain label too long"
#define E_DOMAINLEN	"domain too long"
#define E_LITERAL	"invalid address literal"
#define E_GENERAL	"unsupported address literal"
#define E_ROUTE		"invalid source route"
#define E_PATHLEN	"path too long"
#define E_JUNK		"junk after path"

struct parser {
	const char	*p;
	int		 flags;
	const char	*err;
	int		 numeric;	/* last label read was all digits */
};

static int
fail(struct parser *ps, const char *err)
{
	ps->err = err;
	return -1;
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 5322 3.2.3 atext, the ASCII part. */
static int
is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~",
	    c) != NULL);
}

/* RFC 5321 dcontent: printable ASCII but "[", "\" and "]". */
static int
is_dcontent(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']';
}

/*
 * Length of the well-formed UTF-8 character at s, or 0.  Overlong
 * forms, surrogates and code points past U+10FFFF are refused, as are
 * the C1 controls, which are controls however they are encoded.
 */
static size_t
utf8_len(const unsigned char *s)
{
	static const uint32_t	 least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t		 cp;
	size_t			 i, n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	/* A NUL is no continuation byte: a cut sequence stops here. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < least[n] || cp < 0xa0 || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Step over one non-ASCII character where RFC 6531 allows one. */
static int
take_utf8(struct parser *ps)
{
	size_t	 n;

	if (!(ps->flags & SMTP_ADDR_UTF8))
		return fail(ps, E_8BIT);
	if ((n = utf8_len((const unsigned char *)ps->p)) == 0)
		return fail(ps, E_UTF8);
	ps->p += n;
	return 0;
}

/*
 * Refuse controls, and 8-bit text without SMTPUTF8, over the whole
 * argument first, so the reason is the same wherever they hide.  A NUL
 * ends the string: the line reader must refuse a line holding one.
 */
static int
prescan(struct parser *ps)
{
	const unsigned char	*s;

	for (s = (const unsigned char *)ps->p; *s != '\0'; s++) {
		if (*s < 0x20 || *s == 0x7f)
			return fail(ps, E_CTRL);
		if (*s >= 0x80 && !(ps->flags & SMTP_ADDR_UTF8))
			return fail(ps, E_8BIT);
	}
	return 0;
}

/* 1 if an atext character was taken, 0 if none is there, -1 on error. */
static int
take_atext(struct parser *ps)
{
	unsigned char	 c = *ps->p;

	if (c >= 0x80)
		return take_utf8(ps) == -1 ? -1 : 1;
	if (!is_atext(c))
		return 0;
	ps->p++;
	return 1;
}

/* Dot-string = Atom *("." Atom); stops at the first other character. */
static int
scan_dot_string(struct parser *ps)
{
	const char	*atom;
	int		 r;

	for (;;) {
		atom = ps->p;
		while ((r = take_atext(ps)) == 1)
			;
		if (r == -1)
			return -1;
		if (ps->p == atom)
			return fail(ps, E_LOCAL);
		if (*ps->p != '.')
			return 0;
		ps->p++;
	}
}

static int
append(struct parser *ps, char *buf, size_t bufsz, size_t *n,
    const char *s, size_t len)
{
	if (*n + len >= bufsz)
		return fail(ps, E_LOCALLEN);
	memcpy(buf + *n, s, len);
	*n += len;
	buf[*n] = '\0';
	return 0;
}

/*
 * Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE, its
 * content with the quoted-pairs undone left in buf.
 */
static int
scan_quoted(struct parser *ps, char *buf, size_t bufsz)
{
	const char	*c;
	size_t		 n = 0;

	buf[0] = '\0';
	for (ps->p++; *ps->p != '"'; ) {
		c = ps->p;
		if (*c == '\0')
			return fail(ps, E_QUOTE);
		if (*c == '\\') {
			/* quoted-pairSMTP is "\" %d32-126: ASCII only. */
			if ((unsigned char)c[1] < 32 ||
			    (unsigned char)c[1] > 126)
				return fail(ps, E_LOCAL);
			c++;
			ps->p += 2;
		} else if ((unsigned char)*c >= 0x80) {
			if (take_utf8(ps) == -1)
				return -1;
		} else if (*c < 32 || *c == 127)
			return fail(ps, E_LOCAL);
		else
			ps->p++;
		if (append(ps, buf, bufsz, &n, c, ps->p - c) == -1)
			return -1;
	}
	ps->p++;
	return 0;
}

/*
 * The quoted content as the one spelling of its mailbox: bare when it
 * is a dot-string anyway, else quoted with "\" only before '"' and
 * "\".  Never longer than what was written, so it fits.
 */
static int
canonical_quoted(struct parser *ps, const char *content, char *out,
    size_t outsz)
{
	struct parser	 sub = { content, ps->flags, NULL, 0 };
	size_t		 n = 0;

	if (scan_dot_string(&sub) == 0 && *sub.p == '\0')
		return append(ps, out, outsz, &n, content, strlen(content));
	if (append(ps, out, outsz, &n, "\"", 1) == -1)
		return -1;
	for (; *content != '\0'; content++) {
		if ((*content == '"' || *content == '\\') &&
		    append(ps, out, outsz, &n, "\\", 1) == -1)
			return -1;
		if (append(ps, out, outsz, &n, content, 1) == -1)
			return -1;
	}
	return append(ps, out, outsz, &n, "\"", 1);
}

static int
parse_local(struct parser *ps, struct mailaddr *addr)
{
	char		 content[LOCAL_MAX + 1];
	const char	*start = ps->p;
	size_t		 n = 0;

	if (*start == '"') {
		if (scan_quoted(ps, content, sizeof(content)) == -1)
			return -1;
	} else if (scan_dot_string(ps) == -1)
		return -1;
	if (ps->p - start > LOCAL_MAX)
		return fail(ps, E_LOCALLEN);
	if (*start == '"')
		return canonical_quoted(ps, content, addr->local,
		    sizeof(addr->local));
	return append(ps, addr->local, sizeof(addr->local), &n, start,
	    ps->p - start);
}

/* sub-domain = Let-dig [Ldh-str], where a UTF-8 character is a letter. */
static int
parse_label(struct parser *ps)
{
	const char	*start = ps->p;
	unsigned char	 c;

	ps->numeric = 1;
	for (;;) {
		c = *ps->p;
		if (c >= 0x80) {
			if (take_utf8(ps) == -1)
				return -1;
			ps->numeric = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			break;
		if (!is_digit(c))
			ps->numeric = 0;
		ps->p++;
	}
	if (ps->p == start || *start == '-' || ps->p[-1] == '-')
		return fail(ps, E_DOMAIN);
	if (ps->p - start > LABEL_MAX)
		return fail(ps, E_LABELLEN);
	return 0;
}

/* Domain, copied as written to out when out is not NULL. */
static int
parse_domain(struct parser *ps, char *out, size_t outsz)
{
	const char	*start = ps->p;
	size_t		 len;

	for (;;) {
		if (parse_label(ps) == -1)
			return -1;
		if (*ps->p != '.')
			break;
		ps->p++;
	}
	len = ps->p - start;
	if (len > DOMAIN_MAX)
		return fail(ps, E_DOMAINLEN);
	if (ps->numeric)
		return fail(ps, E_DOMAIN);
	if (out != NULL) {
		if (len >= outsz)
			return fail(ps, E_DOMAINLEN);
		memcpy(out, start, len);
		out[len] = '\0';
	}
	return 0;
}

/* Standardized-tag = Ldh-str, the part of a general literal before ':'. */
static int
tag_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || !is_alnum(s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/*
 * address-literal: "[" IPv4 "]" or "[IPv6:" IPv6 "]", checked by
 * inet_pton; the general form names protocols we cannot deliver to.
 */
static int
parse_literal(struct parser *ps, char *out, size_t outsz)
{
	char		 buf[64];
	struct in6_addr	 in6;
	struct in_addr	 in4;
	const char	*start = ps->p, *body, *colon;
	size_t		 len;

	for (body = ++ps->p; is_dcontent(*ps->p); ps->p++)
		;
	if (*ps->p != ']')
		return fail(ps, E_LITERAL);
	len = ps->p++ - body;
	if (len >= sizeof(buf))
		return fail(ps, E_LITERAL);
	memcpy(buf, body, len);
	buf[len] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, buf + 5, &in6) != 1)
			return fail(ps, E_LITERAL);
	} else if ((colon = strchr(buf, ':')) != NULL)
		return fail(ps, tag_valid(buf, colon - buf) ? E_GENERAL :
		    E_LITERAL);
	else if (inet_pton(AF_INET, buf, &in4) != 1)
		return fail(ps, E_LITERAL);
	len = ps->p - start;
	if (len >= outsz)
		return fail(ps, E_LITERAL);
	memcpy(out, start, len);
	out[len] = '\0';
	return 0;
}

/*
 * A-d-l = At-domain *("," At-domain) ":", At-domain = "@" Domain.  Read
 * to be sure of where the mailbox starts, then forgotten.
 */
static int
parse_route(struct parser *ps)
{
	for (;;) {
		if (*ps->p != '@')
			return fail(ps, E_ROUTE);
		ps->p++;
		if (parse_domain(ps, NULL, 0) == -1)
			return fail(ps, E_ROUTE);
		if (*ps->p == ':') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, E_ROUTE);
		ps->p++;
	}
}

/* "<postmaster>", the one mailbox RFC 5321 4.1.1.3 lets go bare. */
static int
bare_local(struct parser *ps, const char *start, struct mailaddr *addr)
{
	if (!(ps->flags & SMTP_ADDR_BARE_OK) || addr->routed ||
	    *start == '"' || strcasecmp(addr->local, "postmaster") != 0)
		return fail(ps, E_NODOMAIN);
	addr->domain[0] = '\0';
	return 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ), up to ">". */
static int
parse_mailbox(struct parser *ps, struct mailaddr *addr)
{
	const char	*start = ps->p;

	if (parse_local(ps, addr) == -1)
		return -1;
	if (*ps->p == '>')
		return bare_local(ps, start, addr);
	if (*ps->p != '@')
		return fail(ps, *ps->p == '\0' ? E_BRACKETS : E_LOCAL);
	ps->p++;
	if (*ps->p == '[') {
		if (parse_literal(ps, addr->domain, sizeof(addr->domain)) == -1)
			return -1;
		addr->literal = 1;
	} else if (parse_domain(ps, addr->domain, sizeof(addr->domain)) == -1)
		return -1;
	if (*ps->p != '>')
		return fail(ps, *ps->p == '\0' ? E_BRACKETS : E_DOMAIN);
	return 0;
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int
parse_path(struct parser *ps, struct mailaddr *addr)
{
	const char	*lt;

	if (prescan(ps) == -1)
		return -1;
	while (*ps->p == ' ')
		ps->p++;
	if (*ps->p != '<')
		return fail(ps, E_BRACKETS);
	lt = ps->p++;
	if (*ps->p == '>') {
		if (!(ps->flags & SMTP_ADDR_NULL_OK))
			return fail(ps, E_NULL);
	} else {
		if (*ps->p == '@') {
			if (parse_route(ps) == -1)
				return -1;
			addr->routed = 1;
		}
		if (parse_mailbox(ps, addr) == -1)
			return -1;
	}
	ps->p++;
	if (ps->p - lt > PATH_MAX_LEN)
		return fail(ps, E_PATHLEN);
	if (*ps->p != '\0' && *ps->p != ' ')
		return fail(ps, E_JUNK);
	while (*ps->p == ' ')
		ps->p++;
	addr->utf8 = has_8bit(addr->local) || has_8bit(addr->domain);
	return 0;
}

int
smtp_addr_parse_path(const char *s, int flags, struct mailaddr *addr,
    const char **params, const char **err)
{
	struct parser	 ps = { s, flags, NULL, 0 };

	memset(addr, 0, sizeof(*addr));
	if (parse_path(&ps, addr) == -1) {
		/* Half an address must not be mistaken for one. */
		memset(addr, 0, sizeof(*addr));
		*err = ps.err;
		return -1;
	}
	if (params != NULL)
		*params = ps.p;
	return 0;
}

int
smtp_addr_domain_valid(const char *s, int flags, const char **err)
{
	struct parser	 ps = { s, flags, NULL, 0 };
	char		 buf[MAILADDR_DOMAINMAX];
	int		 r;

	if (prescan(&ps) == -1) {
		*err = ps.err;
		return -1;
	}
	if (*ps.p == '[')
		r = parse_literal(&ps, buf, sizeof(buf));
	else
		r = parse_domain(&ps, NULL, 0);
	if (r == 0 && *ps.p != '\0')
		r = fail(&ps, E_DOMAIN);
	if (r == -1)
		*err = ps.err;
	return r;
}

int
smtp_addr_format(const struct mailaddr *addr, char *buf, size_t bufsz)
{
	int	 n;

	if (addr->domain[0] == '\0')
		n = snprintf(buf, bufsz, "%s", addr->local);
	else
		n = snprintf(buf, bufsz, "%s@%s", addr->local, addr->domain);
	if (n < 0 || (size_t)n >= bufsz) {
		/* A cut address is another address: leave none. */
		if (bufsz > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* esmtp-value = 1*(%d33-60 / %d62-126) */
static int
is_value_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '=';
}

static int
param_parse(const char **sp, struct smtp_param *prm, const char **err)
{
	const char	*s = *sp;
	size_t		 n = 0;

	memset(prm, 0, sizeof(*prm));
	if (!is_alnum(*s)) {
		*err = "invalid parameter keyword";
		return -1;
	}
	for (; is_alnum(*s) || *s == '-'; s++) {
		if (n == sizeof(prm->key) - 1) {
			*err = "parameter keyword too long";
			return -1;
		}
		prm->key[n++] = (*s >= 'a' && *s <= 'z') ? *s - 'a' + 'A' : *s;
	}
	if (*s == '=') {
		prm->has_value = 1;
		for (n = 0, s++; is_value_char(*s); s++) {
			if (n == sizeof(prm->value) - 1) {
				*err = "parameter value too long";
				return -1;
			}
			prm->value[n++] = *s;
		}
		if (n == 0) {
			*err = "empty parameter value";
			return -1;
		}
	}
	if (*s != ' ' && *s != '\0') {
		*err = "invalid character in parameter";
		return -1;
	}
	*sp = s;
	return 0;
}

int
smtp_params_parse(const char *s, struct smtp_param *params, size_t nparams,
    const char **err)
{
	size_t	 i, n = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return (int)n;
		if (n == nparams) {
			*err = "too many parameters";
			return -1;
		}
		if (param_parse(&s, &params[n], err) == -1)
			return -1;
		for (i = 0; i < n; i++)
			if (strcmp(params[i].key, params[n].key) == 0) {
				*err = "repeated parameter";
				return -1;
			}
		n++;
	}
}

static int
is_xhex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

int
smtp_xtext_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '+') {
			if (!is_xhex(s[1]) || !is_xhex(s[2]))
				return -1;
			s += 2;
		} else if ((unsigned char)*s < 33 ||
		    (unsigned char)*s > 126 || *s == '=')
			return -1;
	}
	return 0;
}

/*
 * Whether a header field's value (From:, say) names only addresses in
 * domain: every @ in it, wherever it stands, must be followed by that
 * domain, up to a delimiter, and there must be at least one.  An @ in
 * a display name or a comment counts too, so that a name that looks
 * like another domain's address is refused as well.
 */
int
smtp_addr_header_domains(const char *value, const char *domain)
{
	const char	*p;
	size_t		 len, dlen = strlen(domain);
	int		 found = 0;

	if (dlen == 0)
		return 0;
	for (p = value; (p = strchr(p, '@')) != NULL; p += len) {
		p++;
		len = strcspn(p, " \t\r\n<>,;:()\"@");
		if (len != dlen || strncasecmp(p, domain, len) != 0)
			return 0;
		found = 1;
	}
	return found;
}
