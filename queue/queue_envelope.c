/*
 * The envelope file format: one "key value" line per field, starting
 * with the format version.  Values come from the network, so dump
 * refuses any value holding CR, LF or NUL (a value can never start a
 * line of its own), and load refuses unknown, repeated or missing keys:
 * a file that does not parse is never half-trusted.  Load refuses
 * whatever dump would refuse to write, and dump whatever load would
 * refuse to read, so that an envelope loaded can always be written back
 * and reads back the same.  The same table of fields gives the packed
 * form the scheduler keeps in memory (envelope_pack).
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

enum field_kind { F_STRING, F_U64HEX, F_I64, F_U32 };

struct field {
	const char	*key;
	enum field_kind	 kind;
	size_t		 off;
	size_t		 size;
	int		 optional;	/* written only when not empty */
};

#define FSTR(k, m)	{ k, F_STRING, offsetof(struct envelope, m), \
			    sizeof(((struct envelope *)0)->m), 0 }
#define FSTROPT(k, m)	{ k, F_STRING, offsetof(struct envelope, m), \
			    sizeof(((struct envelope *)0)->m), 1 }

static const struct field fields[] = {
	{ "id", F_U64HEX, offsetof(struct envelope, id), 0, 0 },
	FSTR("sender", sender),
	FSTR("rcpt", rcpt),
	FSTR("action", action),
	FSTR("user", user),
	FSTR("target", target),
	FSTR("helo", helo),
	FSTR("client", client),
	{ "created", F_I64, offsetof(struct envelope, created), 0, 0 },
	{ "tries", F_U32, offsetof(struct envelope, tries), 0, 0 },
	FSTR("lasterr", lasterr),
	FSTR("dsn-ret", dsn_ret),
	FSTR("dsn-envid", dsn_envid),
	FSTR("dsn-notify", dsn_notify),
	FSTR("dsn-orcpt", dsn_orcpt),
	{ "warned", F_U32, offsetof(struct envelope, warned), 0, 0 },
	FSTROPT("remote-mta", remote_mta),
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

/* What a target names, by its first character. */
enum target_kind
envelope_target_kind(const char *target)
{
	switch (target[0]) {
	case '\0':
		return TARGET_NONE;
	case '/':
		return TARGET_FILE;
	case '|':
		return TARGET_COMMAND;
	default:
		return TARGET_ADDRESS;
	}
}

/* Load checks the same for what it reads. */
static int
value_is_safe(const char *v, size_t size)
{
	size_t	 len = strnlen(v, size);

	if (len == size)
		return 0;
	return strpbrk(v, "\r\n") == NULL;
}

/* Returns the length written, or -1 for a value that cannot be stored. */
int
envelope_dump(const struct envelope *e, char *buf, size_t len)
{
	const char	*base = (const char *)e;
	size_t		 i, n;
	int		 r;

	/* Load refuses an id of zero: no envelope has one. */
	if (e->id == 0)
		return -1;
	r = snprintf(buf, len, "version %d\n", ENVELOPE_VERSION);
	if (r < 0 || (size_t)r >= len)
		return -1;
	n = r;
	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];

		switch (f->kind) {
		case F_STRING:
			if (!value_is_safe(base + f->off, f->size))
				return -1;
			if (f->optional && base[f->off] == '\0')
				continue;
			r = snprintf(buf + n, len - n, "%s %s\n", f->key,
			    base + f->off);
			break;
		case F_U64HEX:
			r = snprintf(buf + n, len - n, "%s %016" PRIx64 "\n",
			    f->key, *(const uint64_t *)(base + f->off));
			break;
		case F_I64:
			if (*(const int64_t *)(base + f->off) < 0 ||
			    *(const int64_t *)(base + f->off) > ENVELOPE_TIME_MAX)
				return -1;
			r = snprintf(buf + n, len - n, "%s %" PRId64 "\n",
			    f->key, *(const int64_t *)(base + f->off));
			break;
		case F_U32:
			r = snprintf(buf + n, len - n, "%s %" PRIu32 "\n",
			    f->key, *(const uint32_t *)(base + f->off));
			break;
		}
		if (r < 0 || (size_t)r >= len - n)
			return -1;
		n += r;
	}
	return (int)n;
}

static int
parse_number(const char *v, int hex, long double max, void *out, size_t size)
{
	char			*ep;
	const char		*p;
	unsigned long long	 u;
	long long		 s;

	if (v[0] == '\0' || v[0] == ' ' || v[0] == '+')
		return -1;
	/* Digits only: strto*() would also take white space and "0x". */
	for (p = v[0] == '-' ? v + 1 : v; *p != '\0'; p++)
		if (hex ? !isxdigit((unsigned char)*p) :
		    !isdigit((unsigned char)*p))
			return -1;
	errno = 0;
	if (hex || size == sizeof(uint32_t)) {
		if (v[0] == '-')
			return -1;
		u = strtoull(v, &ep, hex ? 16 : 10);
		if (*ep != '\0' || errno == ERANGE || (long double)u > max)
			return -1;
		if (size == sizeof(uint64_t))
			*(uint64_t *)out = u;
		else
			*(uint32_t *)out = (uint32_t)u;
		return 0;
	}
	s = strtoll(v, &ep, 10);
	if (*ep != '\0' || errno == ERANGE || s < 0 || (long double)s > max)
		return -1;
	*(int64_t *)out = s;
	return 0;
}

/*
 * Parse an envelope file's text (NUL-terminated).  Returns 0, or -1
 * with err saying which line is wrong.
 */
int
envelope_load(struct envelope *e, const char *text, char *err, size_t errlen)
{
	char		*copy, *line, *next, *val;
	char		*base = (char *)e;
	int		 seen[NFIELDS] = { 0 };
	int		 lineno = 0, version = 0, rc = -1;
	size_t		 i;

	memset(e, 0, sizeof(*e));
	if ((copy = strdup(text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (line = copy; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) == NULL) {
			snprintf(err, errlen, "line %d: no newline", lineno);
			goto done;
		}
		*next++ = '\0';
		if ((val = strchr(line, ' ')) == NULL) {
			snprintf(err, errlen, "line %d: no value", lineno);
			goto done;
		}
		*val++ = '\0';
		if (lineno == 1) {
			if (strcmp(line, "version") != 0 ||
			    strcmp(val, "1") != 0) {
				snprintf(err, errlen, "unknown version");
				goto done;
			}
			version = 1;
			continue;
		}
		for (i = 0; i < NFIELDS; i++)
			if (strcmp(fields[i].key, line) == 0)
				break;
		if (i == NFIELDS || seen[i]) {
			snprintf(err, errlen, "line %d: %s key %s", lineno,
			    i == NFIELDS ? "unknown" : "repeated", line);
			goto done;
		}
		seen[i] = 1;
		switch (fields[i].kind) {
		case F_STRING:
			/* What dump refuses to write is not loaded either. */
			if (strchr(val, '\r') != NULL) {
				snprintf(err, errlen, "line %d: CR in %s",
				    lineno, line);
				goto done;
			}
			if (strlcpy(base + fields[i].off, val,
			    fields[i].size) >= fields[i].size) {
				snprintf(err, errlen, "line %d: %s too long",
				    lineno, line);
				goto done;
			}
			break;
		case F_U64HEX:
			if (strlen(val) != 16 || parse_number(val, 1,
			    (long double)UINT64_MAX, base + fields[i].off,
			    sizeof(uint64_t)) == -1)
				goto badnum;
			break;
		case F_I64:
			if (parse_number(val, 0, ENVELOPE_TIME_MAX,
			    base + fields[i].off, sizeof(int64_t)) == -1)
				goto badnum;
			break;
		case F_U32:
			if (parse_number(val, 0, (long double)UINT32_MAX,
			    base + fields[i].off, sizeof(uint32_t)) == -1)
				goto badnum;
			break;
		}
		continue;
badnum:
		snprintf(err, errlen, "line %d: bad number for %s", lineno,
		    line);
		goto done;
	}
	if (!version) {
		snprintf(err, errlen, "empty file");
		goto done;
	}
	for (i = 0; i < NFIELDS; i++)
		if (!seen[i] && !fields[i].optional) {
			snprintf(err, errlen, "missing %s", fields[i].key);
			goto done;
		}
	if (e->id == 0) {
		snprintf(err, errlen, "id is zero");
		goto done;
	}
	rc = 0;
done:
	free(copy);
	return rc;
}

/* How many bytes a field of kind k takes packed, strings aside. */
static size_t
field_packed_size(enum field_kind k)
{
	return k == F_U32 ? sizeof(uint32_t) : sizeof(uint64_t);
}

/*
 * The envelope packed for keeping in memory: its fields in the order of
 * the format, each string with its NUL and each number as it is, in a
 * buffer of the size they take (*lenp).  A struct envelope is some 3.6
 * KiB, most of it room that no value fills; packed, one takes a few
 * hundred bytes.  NULL when memory is short.
 */
char *
envelope_pack(const struct envelope *e, size_t *lenp)
{
	const char	*base = (const char *)e;
	char		*buf;
	size_t		 i, n = 0, len, sizes[NFIELDS];

	for (i = 0; i < NFIELDS; i++) {
		sizes[i] = fields[i].kind == F_STRING ?
		    strnlen(base + fields[i].off, fields[i].size - 1) + 1 :
		    field_packed_size(fields[i].kind);
		n += sizes[i];
	}
	if ((buf = malloc(n)) == NULL)
		return NULL;
	for (i = 0, len = 0; i < NFIELDS; len += sizes[i], i++) {
		memcpy(buf + len, base + fields[i].off, sizes[i]);
		/* A string that filled its field ends here all the same. */
		if (fields[i].kind == F_STRING)
			buf[len + sizes[i] - 1] = '\0';
	}
	*lenp = n;
	return buf;
}

/* The envelope that envelope_pack() packed into buf; -1 if it is not one. */
int
envelope_unpack(struct envelope *e, const char *buf, size_t len)
{
	char		*base = (char *)e;
	const char	*nul;
	size_t		 i, n, off = 0;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < NFIELDS; i++, off += n) {
		if (fields[i].kind == F_STRING) {
			if ((nul = memchr(buf + off, '\0', len - off)) == NULL)
				return -1;
			n = nul - (buf + off) + 1;
			if (n > fields[i].size)
				return -1;
		} else {
			n = field_packed_size(fields[i].kind);
			if (n > len - off)
				return -1;
		}
		memcpy(base + fields[i].off, buf + off, n);
	}
	return off == len ? 0 : -1;
}
