/*
 * Small helpers every process may use: address text, identifiers,
 * descriptors.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

const char *
sa_to_text(const struct sockaddr *sa)
{
	static char	 buf[ADDR_TEXT_MAX];
	socklen_t	 len;

	if (sa == NULL)
		return "local";
	switch (sa->sa_family) {
	case AF_INET:
		len = sizeof(struct sockaddr_in);
		break;
	case AF_INET6:
		len = sizeof(struct sockaddr_in6);
		break;
	case AF_UNIX:
		return "local";
	default:
		return "unknown";
	}
	if (getnameinfo(sa, len, buf, sizeof(buf), NULL, 0,
	    NI_NUMERICHOST) != 0)
		return "unknown";
	return buf;
}

/*
 * Make a directory if it is missing and make sure of its owner and
 * mode.  An existing path that is not a directory is an error.
 */
int
mkdir_owned(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat	 sb;

	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	if (stat(path, &sb) == -1)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (uid != (uid_t)-1 && (sb.st_uid != uid || sb.st_gid != gid) &&
	    chown(path, uid, gid) == -1)
		return -1;
	if ((sb.st_mode & 07777) != mode && chmod(path, mode) == -1)
		return -1;
	return 0;
}

/* One that came non-blocking (the queue's pipes do) costs one call. */
void
set_nonblocking(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		fatal("fcntl F_GETFL");
	if ((flags & O_NONBLOCK) == 0 &&
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("fcntl O_NONBLOCK");
}

/*
 * Identifiers are random, never zero, and printed as 16 hex digits;
 * a message's id is its first envelope's high 32 bits.
 */
uint64_t
id_generate(void)
{
	uint64_t	 id;

	do {
		arc4random_buf(&id, sizeof(id));
	} while (id == 0);
	return id;
}

const char *
id_text(uint64_t id)
{
	static char	 buf[17];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)id);
	return buf;
}

static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode strict base64 (RFC 4648, padding required) into out.  Returns
 * the decoded length, or -1 on bad input or when it does not fit.
 */
ssize_t
base64_decode(const char *in, unsigned char *out, size_t outlen)
{
	size_t	 len = strlen(in), i, n = 0;
	int	 v[4], j, pad;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad || (v[j] = base64_value(in[i + j])) == -1)
				return -1;
		}
		if (n + 3 - pad > outlen)
			return -1;
		out[n++] = (v[0] << 2) | (v[1] >> 4);
		if (pad < 2)
			out[n++] = ((v[1] & 0xf) << 4) | (v[2] >> 2);
		if (pad < 1)
			out[n++] = ((v[2] & 0x3) << 6) | v[3];
	}
	return n;
}

/* Encode len bytes; returns -1 when out is too small. */
int
base64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	 i, n = 0;
	uint32_t w;

	if ((len + 2) / 3 * 4 + 1 > outlen)
		return -1;
	for (i = 0; i < len; i += 3) {
		w = in[i] << 16;
		if (i + 1 < len)
			w |= in[i + 1] << 8;
		if (i + 2 < len)
			w |= in[i + 2];
		out[n++] = alphabet[(w >> 18) & 0x3f];
		out[n++] = alphabet[(w >> 12) & 0x3f];
		out[n++] = i + 1 < len ? alphabet[(w >> 6) & 0x3f] : '=';
		out[n++] = i + 2 < len ? alphabet[w & 0x3f] : '=';
	}
	out[n] = '\0';
	return 0;
}

/*
 * Split a decoded RFC 4616 PLAIN response, "[authzid] NUL authcid NUL
 * passwd", of n bytes with a NUL after them.  Returns -1 unless it
 * holds exactly two NULs and a non-empty authcid.
 */
int
auth_plain_split(const char *buf, size_t n, const char **authz,
    const char **user, const char **pass)
{
	const char	*u, *p;

	if ((u = memchr(buf, '\0', n)) == NULL)
		return -1;
	u++;
	if ((p = memchr(u, '\0', n - (u - buf))) == NULL)
		return -1;
	p++;
	if (memchr(p, '\0', n - (p - buf)) != NULL || u[0] == '\0')
		return -1;
	*authz = buf;
	*user = u;
	*pass = p;
	return 0;
}

/*
 * Read a whole small file from fd into a NUL-terminated buffer.  NULL
 * when it holds more than max bytes (errno EFBIG: one byte more than
 * allowed is read to tell a file that grew) or on a read error.
 */
char *
read_small(int fd, size_t max, size_t *lenp)
{
	char	*text;
	ssize_t	 n;
	size_t	 len = 0;

	if ((text = malloc(max + 2)) == NULL)
		fatal("malloc");
	while (len <= max && (n = read(fd, text + len, max + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(text);
			return NULL;
		}
		len += n;
	}
	if (len > max) {
		free(text);
		errno = EFBIG;
		return NULL;
	}
	text[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return text;
}

/* All of len bytes at data into a blocking fd, or -1 with errno. */
int
write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Whether name is made of labels of letters, digits, hyphens and
 * underscores (as host names in the wild are), none empty or over 63
 * octets, between dots.  Returns the length of the last label (0 after
 * a final dot), or -1 when it is no such name.
 */
int
hostname_last_label(const char *name)
{
	const char	*p;
	int		 label = 0;

	for (p = name; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
	}
	return label;
}

/*
 * The network addr belongs to, as text: an IPv4 address as it is (an
 * IPv4-mapped IPv6 one as IPv4), an IPv6 address as its /64.  Text that
 * is no address is its own network.  Failures of AUTH and sessions per
 * address are counted per network, so that one host of a /64 cannot
 * spread its attempts over its addresses.  Returns -1 if buf is too
 * small.
 */
int
addr_network(const char *addr, char *buf, size_t len)
{
	struct in6_addr	 in6;
	struct in_addr	 in4;
	char		 host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
	size_t		 n;

	/* A link-local address may carry its interface: not part of it. */
	n = strcspn(addr, "%");
	if (n < sizeof(host)) {
		memcpy(host, addr, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &in6) == 1) {
			if (IN6_IS_ADDR_V4MAPPED(&in6)) {
				memcpy(&in4, &in6.s6_addr[12], sizeof(in4));
				if (inet_ntop(AF_INET, &in4, text,
				    sizeof(text)) == NULL)
					return -1;
				return strlcpy(buf, text, len) < len ? 0 : -1;
			}
			memset(&in6.s6_addr[8], 0, 8);
			if (inet_ntop(AF_INET6, &in6, text,
			    sizeof(text)) == NULL)
				return -1;
			return (size_t)snprintf(buf, len, "%s/64", text) <
			    len ? 0 : -1;
		}
	}
	return strlcpy(buf, addr, len) < len ? 0 : -1;
}
