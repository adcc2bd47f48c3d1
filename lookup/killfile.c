/*
 * The kill file: clients and senders refused outright, consulted by the
 * lookup process at connect and at MAIL FROM.  It may hold millions of
 * entries, so each look-up costs a number of hash probes bounded by the
 * length of the name or address asked about, never by the entry count:
 *
 *  - names and addresses sit, lower-cased, in one open-addressing table
 *    of strings.  Host entries never hold an '@' and sender entries
 *    always do, so the two kinds share the table without colliding;
 *  - networks sit in one open-addressing table keyed by family, prefix
 *    length and masked address, next to a bitmap of the prefix lengths
 *    in use: a look-up masks the address once per length in use, at
 *    most 33 probes for IPv4 and 129 for IPv6.
 *
 * Both tables hash with SipHash-2-4 under a random key, so entries
 * taken from a third party's list cannot be chosen to collide.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtpd/conffile.h"
#include "lookup.h"

#define KF_NAMEMAX	255	/* longest entry, host name or address */
#define KF_LABELMAX	63
#define KF_MINCAP	64	/* first table size, a power of two */
#define KF_ARENAMIN	4096
#define KF_SHOWMAX	64	/* octets of a bad entry quoted in an error */

struct kf_str {
	uint32_t	 hash;
	uint32_t	 off;		/* into the arena; 0: a free slot */
};

/* Only octets, so the key has no padding and is hashed and compared whole. */
struct kf_netkey {
	uint8_t		 family;	/* 4 or 6; 0 when the slot is free */
	uint8_t		 bits;
	uint8_t		 addr[16];	/* masked to bits, the rest zero */
};

struct kf_net {
	uint32_t	 hash;
	struct kf_netkey key;
};

struct killfile {
	uint64_t	 seed[2];
	struct kf_str	*strs;
	size_t		 strcap;	/* a power of two, or 0 */
	size_t		 strcount;
	unsigned char	*arena;		/* strings, each after its length */
	size_t		 arenalen;
	size_t		 arenacap;
	struct kf_net	*nets;
	size_t		 netcap;	/* a power of two, or 0 */
	size_t		 netcount;
	uint64_t	 used4;		/* bit n: some IPv4 entry is a /n */
	uint64_t	 used6[3];	/* the same for IPv6, /0 to /128 */
	int		 hosts;		/* some entry is a host name */
	char		 error[256];	/* why the last load failed */
};

static const uint8_t kf_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

#define ROTL64(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL64(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL64(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL64(v[2], 32);
}

static void
sip_compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

/* SipHash-2-4 of buf under the kill file's key, cut to 32 bits. */
static uint32_t
kf_hash(const struct killfile *kf, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	uint64_t		 v[4], m;
	size_t			 i, n;

	v[0] = kf->seed[0] ^ 0x736f6d6570736575ULL;
	v[1] = kf->seed[1] ^ 0x646f72616e646f6dULL;
	v[2] = kf->seed[0] ^ 0x6c7967656e657261ULL;
	v[3] = kf->seed[1] ^ 0x7465646279746573ULL;
	for (i = 0; len - i >= 8; i += 8) {
		memcpy(&m, p + i, sizeof(m));
		sip_compress(v, le64toh(m));
	}
	/* The last block: the tail octets, little-endian, under the length. */
	m = (uint64_t)len << 56;
	for (n = len - i; n > 0; n--)
		m |= (uint64_t)p[i + n - 1] << (8 * (n - 1));
	sip_compress(v, m);
	v[2] ^= 0xff;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	sip_round(v);
	return (uint32_t)(v[0] ^ v[1] ^ v[2] ^ v[3]);
}

/* tolower() without the locale: names are compared as ASCII. */
static unsigned char
kf_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Copy s to buf (KF_NAMEMAX + 1 octets) lower-cased and without one
 * trailing dot.  Returns the length, or 0 when nothing is left or s is
 * too long to be a name, which then matches nothing.
 */
static size_t
kf_normalize(char *buf, const char *s)
{
	size_t	 len, i;

	len = strnlen(s, KF_NAMEMAX + 2);
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > KF_NAMEMAX)
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = kf_lower(s[i]);
	buf[len] = '\0';
	return len;
}

/*
 * The slot holding s, or the free slot where it would go.  The table is
 * never more than 70% full, so the probe ends.
 */
static size_t
kf_str_slot(const struct killfile *kf, const char *s, size_t len,
    uint32_t h)
{
	const unsigned char	*e;
	size_t			 mask = kf->strcap - 1, i;

	for (i = h & mask; kf->strs[i].off != 0; i = (i + 1) & mask) {
		if (kf->strs[i].hash != h)
			continue;
		e = kf->arena + kf->strs[i].off;
		if (e[0] == len && memcmp(e + 1, s, len) == 0)
			break;
	}
	return i;
}

static int
kf_str_has(const struct killfile *kf, const char *s, size_t len)
{
	size_t	 i;

	if (kf->strcount == 0)
		return 0;
	i = kf_str_slot(kf, s, len, kf_hash(kf, s, len));
	return kf->strs[i].off != 0;
}

/* Double the string table; the stored hashes place every slot again. */
static int
kf_str_grow(struct killfile *kf)
{
	struct kf_str	*slots;
	size_t		 cap, mask, i, j;

	cap = kf->strcap == 0 ? KF_MINCAP : kf->strcap * 2;
	if ((slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	mask = cap - 1;
	for (i = 0; i < kf->strcap; i++) {
		if (kf->strs[i].off == 0)
			continue;
		for (j = kf->strs[i].hash & mask; slots[j].off != 0;
		    j = (j + 1) & mask)
			;
		slots[j] = kf->strs[i];
	}
	free(kf->strs);
	kf->strs = slots;
	kf->strcap = cap;
	return 0;
}

/*
 * Store a string in the arena and return its offset.  Strings are
 * packed rather than allocated one by one: a million entries load in
 * a handful of allocations, and a slot needs 32 bits, not a pointer.
 */
static uint32_t
kf_arena_put(struct killfile *kf, const char *s, size_t len)
{
	unsigned char	*p;
	size_t		 need, cap;
	uint32_t	 off;

	need = kf->arenalen + 1 + len;
	if (need > UINT32_MAX) {
		errno = ENOMEM;
		return 0;
	}
	if (need > kf->arenacap) {
		for (cap = kf->arenacap == 0 ? KF_ARENAMIN : kf->arenacap;
		    cap < need; cap *= 2)
			;
		if ((p = realloc(kf->arena, cap)) == NULL)
			return 0;
		kf->arena = p;
		kf->arenacap = cap;
	}
	off = kf->arenalen;
	kf->arena[off] = len;
	memcpy(kf->arena + off + 1, s, len);
	kf->arenalen = need;
	return off;
}

static int
kf_str_add(struct killfile *kf, const char *s, size_t len)
{
	uint32_t	 h, off;
	size_t		 i;

	if ((kf->strcount + 1) * 10 > kf->strcap * 7 && kf_str_grow(kf) == -1)
		return -1;
	h = kf_hash(kf, s, len);
	i = kf_str_slot(kf, s, len, h);
	if (kf->strs[i].off != 0)
		return 0;
	if ((off = kf_arena_put(kf, s, len)) == 0)
		return -1;
	kf->strs[i].hash = h;
	kf->strs[i].off = off;
	kf->strcount++;
	return 0;
}

/* The key for addr (4 or 16 octets) cut to its first bits. */
static void
kf_net_key(const struct killfile *kf, struct kf_net *n, int family,
    const uint8_t *addr, int bits)
{
	int	 full = bits / 8, rest = bits % 8;

	memset(n, 0, sizeof(*n));
	n->key.family = family;
	n->key.bits = bits;
	memcpy(n->key.addr, addr, full);
	if (rest != 0)
		n->key.addr[full] = addr[full] & (0xff << (8 - rest));
	n->hash = kf_hash(kf, &n->key, sizeof(n->key));
}

static size_t
kf_net_slot(const struct killfile *kf, const struct kf_net *n)
{
	const struct kf_net	*e;
	size_t			 mask = kf->netcap - 1, i;

	for (i = n->hash & mask; kf->nets[i].key.family != 0;
	    i = (i + 1) & mask) {
		e = &kf->nets[i];
		if (e->hash == n->hash &&
		    memcmp(&e->key, &n->key, sizeof(e->key)) == 0)
			break;
	}
	return i;
}

static int
kf_net_grow(struct killfile *kf)
{
	struct kf_net	*slots;
	size_t		 cap, mask, i, j;

	cap = kf->netcap == 0 ? KF_MINCAP : kf->netcap * 2;
	if ((slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	mask = cap - 1;
	for (i = 0; i < kf->netcap; i++) {
		if (kf->nets[i].key.family == 0)
			continue;
		for (j = kf->nets[i].hash & mask; slots[j].key.family != 0;
		    j = (j + 1) & mask)
			;
		slots[j] = kf->nets[i];
	}
	free(kf->nets);
	kf->nets = slots;
	kf->netcap = cap;
	return 0;
}

static int
kf_len_used(const struct killfile *kf, int family, int bits)
{
	if (family == 4)
		return (kf->used4 >> bits) & 1;
	return (kf->used6[bits / 64] >> (bits % 64)) & 1;
}

static int
kf_net_add(struct killfile *kf, int family, const uint8_t *addr, int bits)
{
	struct kf_net	 n;
	size_t		 i;

	/* ::ffff:a.b.c.d is looked up as IPv4, so store it that way. */
	if (family == 6 && bits >= 96 &&
	    memcmp(addr, kf_v4mapped, sizeof(kf_v4mapped)) == 0) {
		family = 4;
		addr += sizeof(kf_v4mapped);
		bits -= 96;
	}
	if ((kf->netcount + 1) * 10 > kf->netcap * 7 && kf_net_grow(kf) == -1)
		return -1;
	kf_net_key(kf, &n, family, addr, bits);
	i = kf_net_slot(kf, &n);
	if (kf->nets[i].key.family != 0)
		return 0;
	kf->nets[i] = n;
	kf->netcount++;
	if (family == 4)
		kf->used4 |= 1ULL << bits;
	else
		kf->used6[bits / 64] |= 1ULL << (bits % 64);
	return 0;
}

/* Longest prefix first, though any hit will do. */
static int
kf_net_has(const struct killfile *kf, int family, const uint8_t *addr)
{
	struct kf_net	 n;
	int		 bits;

	if (kf->netcount == 0)
		return 0;
	for (bits = family == 4 ? 32 : 128; bits >= 0; bits--) {
		if (!kf_len_used(kf, family, bits))
			continue;
		kf_net_key(kf, &n, family, addr, bits);
		if (kf->nets[kf_net_slot(kf, &n)].key.family != 0)
			return 1;
	}
	return 0;
}

/*
 * "192.0.2.1", "192.0.2.0/24", "2001:db8::/32": family 4 or 6, address
 * and prefix length.  Stricter than addr_parse_net(), whose strtonum()
 * reads "/ 8" and "/+8" as 8: here the length is plain decimal digits
 * without a leading zero.
 */
static int
kf_parse_net(const char *s, int *family, uint8_t *addr, int *bits)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*slash, *p;
	size_t		 len;
	int		 max, n;

	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = 6;
		max = 128;
	} else
		return -1;
	*bits = max;
	if (slash == NULL)
		return 0;
	p = slash + 1;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		return -1;
	for (n = 0; *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (*p - '0')) > max)
			return -1;
	if (*p != '\0')
		return -1;
	*bits = n;
	return 0;
}

/*
 * Host names are not held to the letter of RFC 1123: '_' and octets
 * past ASCII (UTF-8 names) are too common in the wild to refuse.
 */
static int
kf_namechar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c >= 0x80;
}

/*
 * Lower-case labels separated by single dots.  A name whose last label
 * is all digits is a mistyped address ("10.0.0.256", "10.0.0/8" has
 * failed earlier on its '/'), not a name.
 */
static int
kf_domain_valid(const char *s, size_t len)
{
	size_t	 i, label = 0;
	int	 digits = 1;

	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			digits = 1;
			continue;
		}
		if (!kf_namechar(s[i]) || ++label > KF_LABELMAX)
			return 0;
		if (s[i] < '0' || s[i] > '9')
			digits = 0;
	}
	return label != 0 && !digits;
}

/* Anything visible but '@': quoted local parts are not supported. */
static int
kf_local_valid(const char *s, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c <= ' ' || c == 0x7f || c == '@')
			return 0;
	}
	return 1;
}

/* s is normalized: "user@domain", "@domain", "@.domain", "name", ".domain". */
static int
kf_entry_valid(const char *s, size_t len)
{
	const char	*at;
	size_t		 local;

	if ((at = memchr(s, '@', len)) == NULL) {
		if (s[0] == '.') {
			s++;
			len--;
		}
		return kf_domain_valid(s, len);
	}
	local = at - s;
	s = at + 1;
	len -= local + 1;
	if (local > 0) {
		if (!kf_local_valid(at - local, local))
			return 0;
	} else if (len > 0 && s[0] == '.') {
		s++;
		len--;
	}
	/* A second '@' is not a name character, so it fails here. */
	return kf_domain_valid(s, len);
}

struct killfile *
killfile_new(void)
{
	struct killfile	*kf;

	if ((kf = calloc(1, sizeof(*kf))) == NULL)
		return NULL;
	arc4random_buf(kf->seed, sizeof(kf->seed));
	/* Offset 0 marks a free slot, so no string starts there. */
	kf->arenalen = 1;
	return kf;
}

void
killfile_free(struct killfile *kf)
{
	if (kf == NULL)
		return;
	free(kf->strs);
	free(kf->arena);
	free(kf->nets);
	free(kf);
}

/*
 * Add one entry.  Returns 0, also when the entry was already there, or
 * -1 with errno EINVAL for a malformed entry and ENOMEM.
 *
 * Sender addresses are compared whole without regard to case.  Only the
 * domain is case-insensitive by the RFC, but a local part that differs
 * from a refused one in case alone is almost surely the same mailbox,
 * and a blocklist errs on the side of refusing it.
 */
int
killfile_add(struct killfile *kf, const char *entry)
{
	char	 buf[KF_NAMEMAX + 1];
	uint8_t	 addr[16];
	size_t	 len;
	int	 family, bits;

	if (kf_parse_net(entry, &family, addr, &bits) == 0)
		return kf_net_add(kf, family, addr, bits);
	if ((len = kf_normalize(buf, entry)) == 0 ||
	    !kf_entry_valid(buf, len)) {
		errno = EINVAL;
		return -1;
	}
	if (kf_str_add(kf, buf, len) == -1)
		return -1;
	if (memchr(buf, '@', len) == NULL)
		kf->hosts = 1;
	return 0;
}

/*
 * The entry on a line, trimmed, or NULL for a blank or comment line.  A
 * '#' starts a comment at the start of the line or after white space;
 * elsewhere it is part of the entry, as in "a#b@example.org".
 */
static char *
kf_line_entry(char *line)
{
	char	*p, *end;

	for (p = line; *p != '\0'; p++) {
		if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	}
	while (isspace((unsigned char)*line))
		line++;
	end = line + strlen(line);
	while (end > line && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return *line != '\0' ? line : NULL;
}

/* The error for a bad line, quoting the start of the entry harmlessly. */
static void
kf_bad_entry(char *err, size_t errlen, const char *path, size_t lineno,
    const char *entry)
{
	char		 shown[KF_SHOWMAX + 1];
	unsigned char	 c;
	size_t		 i;

	for (i = 0; i < KF_SHOWMAX && entry[i] != '\0'; i++) {
		c = entry[i];
		shown[i] = c < ' ' || c == 0x7f ? '?' : c;
	}
	shown[i] = '\0';
	snprintf(err, errlen, "%s:%zu: bad entry %s%s", path, lineno, shown,
	    entry[i] != '\0' ? "..." : "");
}

/*
 * Replace the contents with the entries of a file, one a line.  The
 * file is read into a fresh kill file that is swapped in only once
 * every line was good: on failure the old contents stay intact but the
 * kill file is marked failed (killfile_failure) until a load succeeds,
 * since it no longer holds what its file says; err says why (for a bad
 * line, "PATH:LINE: bad entry ENTRY").
 */
int
killfile_load(struct killfile *kf, const char *path, char *err, size_t errlen)
{
	struct killfile	*fresh, old;
	FILE		*fp;
	char		*line = NULL, *entry;
	size_t		 linesize = 0, lineno = 0;
	ssize_t		 len;
	int		 rc = 0;

	if ((fresh = killfile_new()) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((fp = conffile_open(path, CONFFILE_TABLE, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		killfile_free(fresh);
		return -1;
	}
	while ((len = getline(&line, &linesize, fp)) != -1) {
		lineno++;
		/* A NUL would hide the rest of the line from the parser. */
		if (memchr(line, '\0', len) != NULL) {
			kf_bad_entry(err, errlen, path, lineno, line);
			rc = -1;
			break;
		}
		if ((entry = kf_line_entry(line)) == NULL)
			continue;
		if (killfile_add(fresh, entry) == -1) {
			if (errno == ENOMEM)
				snprintf(err, errlen, "%s:%zu: %s", path,
				    lineno, strerror(errno));
			else
				kf_bad_entry(err, errlen, path, lineno, entry);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fp);
	if (rc == 0) {
		old = *kf;
		*kf = *fresh;
		*fresh = old;
	} else
		strlcpy(kf->error, err, sizeof(kf->error));
	killfile_free(fresh);
	return rc;
}

size_t
killfile_count(const struct killfile *kf)
{
	return kf->strcount + kf->netcount;
}

/*
 * Why the file could not be read the last time it was loaded, or NULL.
 * The entries read before stay, but the kill file no longer says what
 * its file says: a look-up in it is a failure, not an answer.
 */
const char *
killfile_failure(const struct killfile *kf)
{
	return kf->error[0] != '\0' ? kf->error : NULL;
}

/* Whether a client's name must be known to judge it. */
int
killfile_has_hosts(const struct killfile *kf)
{
	return kf->hosts;
}

/* An IPv4-mapped IPv6 client is the IPv4 client it stands for. */
int
killfile_has_addr(const struct killfile *kf, const struct sockaddr *sa)
{
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return kf_net_has(kf, 4, (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family != AF_INET6)
		return 0;
	sin6 = (const struct sockaddr_in6 *)sa;
	a = sin6->sin6_addr.s6_addr;
	if (memcmp(a, kf_v4mapped, sizeof(kf_v4mapped)) == 0)
		return kf_net_has(kf, 4, a + sizeof(kf_v4mapped));
	return kf_net_has(kf, 6, a);
}

/*
 * The name itself, then ".name" and ".parent" for each parent: a dot
 * entry covers its own domain too.  The spare octet at the start of buf
 * takes the dot in front of the whole name.
 */
int
killfile_has_host(const struct killfile *kf, const char *host)
{
	char	 buf[1 + KF_NAMEMAX + 1], *name = buf + 1, *p, *end, *dot;
	size_t	 len;

	/* With an '@' it would be looked up among the senders. */
	if ((len = kf_normalize(name, host)) == 0 ||
	    memchr(name, '@', len) != NULL)
		return 0;
	buf[0] = '.';
	if (kf_str_has(kf, name, len) || kf_str_has(kf, buf, len + 1))
		return 1;
	end = name + len;
	for (p = name; (dot = memchr(p, '.', end - p)) != NULL; p = dot + 1)
		if (kf_str_has(kf, dot, end - dot))
			return 1;
	return 0;
}

/*
 * The address, then "@domain", then "@.domain" and "@.parent" for each
 * parent.  Each "@." is written over the octets just before the domain
 * or the parent, which the look-up no longer needs; the two spare octets
 * at the start of buf make room when the local part is empty.
 */
int
killfile_has_sender(const struct killfile *kf, const char *sender)
{
	char	 buf[2 + KF_NAMEMAX + 1], *a = buf + 2, *at, *p, *end, *dot;
	size_t	 len;

	if ((len = kf_normalize(a, sender)) == 0 ||
	    (at = memrchr(a, '@', len)) == NULL || at + 1 == a + len)
		return 0;
	end = a + len;
	if (kf_str_has(kf, a, len) || kf_str_has(kf, at, end - at))
		return 1;
	at[-1] = '@';
	at[0] = '.';
	if (kf_str_has(kf, at - 1, end - at + 1))
		return 1;
	for (p = at + 1; (dot = memchr(p, '.', end - p)) != NULL; p = dot + 1) {
		dot[-1] = '@';
		if (kf_str_has(kf, dot - 1, end - dot + 1))
			return 1;
	}
	return 0;
}
