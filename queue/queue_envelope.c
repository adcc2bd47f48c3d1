/*
 * The envelope file format: one "key value" line per field, starting
 * with the format version.  Values come from the network, so dump
 * refuses any value holding CR, LF or NUL (a value can never start a
 * line of its own), and load refuses unknown, repeated or missing keys:
 * a file that does not parse is never half-trusted.  Load refuses
 * whatever dump would refuse to write, and dump whatever load would
 * refuse to read, so that an envelope loaded can always be written back
 * and reads back the same.  The same table of fields gives the packed
 * form the scheduler keeps in memory (envelope_pack).  A file in the
 * spool is the text sealed: a first line "check" and the sum of the
 * rest (envelope_seal), so that a file a crash left half written is
 * told apart; the sum (file_sum) also checks the message a "message"
 * line names.
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
	FSTROPT("message", message),
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

/* A sum as written: exactly 16 lowercase hex digits at p, or -1. */
static int
sum_parse(const char *p, uint64_t *sump)
{
	char	 hex[17];
	size_t	 i;

	for (i = 0; i < 16; i++)
		if (!isdigit((unsigned char)p[i]) &&
		    (p[i] < 'a' || p[i] > 'f'))
			return -1;
	memcpy(hex, p, 16);
	hex[16] = '\0';
	*sump = strtoull(hex, NULL, 16);
	return 0;
}

/*
 * A message's length and sum as the envelope gives them: 1 when it
 * gives none, 0 when it does, -1 when "message" is not decimal digits,
 * a space and 16 hex digits.
 */
int
envelope_message_sum(const struct envelope *e, uint64_t *sizep,
    uint64_t *sump)
{
	const char	*sp, *p;
	char		*ep;

	if (e->message[0] == '\0')
		return 1;
	if ((sp = strchr(e->message, ' ')) == NULL || sp == e->message ||
	    sp - e->message > 20 || strlen(sp + 1) != 16 ||
	    sum_parse(sp + 1, sump) == -1)
		return -1;
	for (p = e->message; p < sp; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	errno = 0;
	*sizep = strtoull(e->message, &ep, 10);
	if (errno == ERANGE || ep != sp)
		return -1;
	return 0;
}

void
envelope_set_message_sum(struct envelope *e, uint64_t size, uint64_t sum)
{
	snprintf(e->message, sizeof(e->message), "%" PRIu64 " %016" PRIx64,
	    size, sum);
}

/* Returns the length written, or -1 for a value that cannot be stored. */
int
envelope_dump(const struct envelope *e, char *buf, size_t len)
{
	const char	*base = (const char *)e;
	uint64_t	 size, sum;
	size_t		 i, n;
	int		 r;

	/* Load refuses an id of zero: no envelope has one. */
	if (e->id == 0)
		return -1;
	if (envelope_message_sum(e, &size, &sum) == -1)
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
	uint64_t	 size, sum;
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
	if (envelope_message_sum(e, &size, &sum) == -1) {
		snprintf(err, errlen, "bad message length or sum");
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

/*
 * The sum: each 8 bytes mixed in as a word, the last few padded with
 * zeros, then the length, so that a file cut short or grown by zeros
 * does not sum as it did.
 */
#define SUM_K1	0x9e3779b97f4a7c15ULL
#define SUM_K2	0xc2b2ae3d27d4eb4fULL

static uint64_t
sum_mix(uint64_t h, uint64_t w)
{
	h ^= w * SUM_K2;
	h = (h << 27 | h >> 37) * SUM_K1;
	return h ^ (h >> 31);
}

void
file_sum_init(struct file_sum *s)
{
	memset(s, 0, sizeof(*s));
	s->h = SUM_K1;
}

void
file_sum_add(struct file_sum *s, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	uint64_t	 w;
	size_t		 take;

	s->len += len;
	if (s->ntail > 0) {
		take = sizeof(s->tail) - s->ntail;
		if (take > len)
			take = len;
		memcpy(s->tail + s->ntail, p, take);
		s->ntail += take;
		p += take;
		len -= take;
		if (s->ntail < sizeof(s->tail))
			return;
		memcpy(&w, s->tail, sizeof(w));
		s->h = sum_mix(s->h, w);
		s->ntail = 0;
	}
	for (; len >= sizeof(w); p += sizeof(w), len -= sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		s->h = sum_mix(s->h, w);
	}
	memcpy(s->tail, p, len);
	s->ntail = len;
}

uint64_t
file_sum_end(struct file_sum *s)
{
	uint64_t	 w = 0, h;

	if (s->ntail > 0) {
		memcpy(&w, s->tail, s->ntail);
		s->h = sum_mix(s->h, w);
	}
	h = sum_mix(s->h, s->len);
	h *= SUM_K2;
	return h ^ (h >> 29);
}

/*
 * An envelope file begins with "check" and the sum of the text after
 * that line: the queue no longer flushes an envelope before it names
 * it in queue/, so after a crash the file under that name may hold
 * some of its blocks and some of the file the pool last gave.
 */
#define SEAL_LEN	(sizeof("check ") - 1 + 16 + 1)

/*
 * Seal the len bytes of text in buf (of size cap): they move down to
 * make room for the line.  The new length, or -1 when it does not fit.
 */
int
envelope_seal(char *buf, size_t len, size_t cap)
{
	struct file_sum	 s;
	char		 line[SEAL_LEN + 1];

	if (len > INT_MAX - SEAL_LEN || cap < len + SEAL_LEN)
		return -1;
	memmove(buf + SEAL_LEN, buf, len);
	file_sum_init(&s);
	file_sum_add(&s, buf + SEAL_LEN, len);
	snprintf(line, sizeof(line), "check %016" PRIx64 "\n",
	    file_sum_end(&s));
	memcpy(buf, line, SEAL_LEN);
	return (int)(len + SEAL_LEN);
}

/*
 * The envelope text of a file's len bytes (NUL-terminated): past the
 * check line when there is one and it matches, the whole of it when
 * there is none (a file written before envelopes were sealed).  NULL,
 * with err set, when the check does not match.
 */
const char *
envelope_unseal(const char *buf, size_t len, char *err, size_t errlen)
{
	struct file_sum	 s;
	uint64_t	 want;

	if (strncmp(buf, "check ", 6) != 0)
		return buf;
	if (len < SEAL_LEN || buf[SEAL_LEN - 1] != '\n' ||
	    sum_parse(buf + 6, &want) == -1) {
		snprintf(err, errlen, "bad check line");
		return NULL;
	}
	file_sum_init(&s);
	file_sum_add(&s, buf + SEAL_LEN, len - SEAL_LEN);
	if (file_sum_end(&s) != want) {
		snprintf(err, errlen, "check does not match: the file is "
		    "not as it was written");
		return NULL;
	}
	return buf + SEAL_LEN;
}

/* An envelope as its file in the spool holds it: dumped, then sealed. */
int
envelope_dump_sealed(const struct envelope *e, char *buf, size_t len)
{
	int	 n;

	if ((n = envelope_dump(e, buf, len)) == -1)
		return -1;
	return envelope_seal(buf, n, len);
}
