/*
 * Small helpers of the runtime (util.c), used by every layer above it:
 * socket addresses as text, ids, base64, a bounded file read, a whole
 * write.  They know nothing of the configuration, the queue or the
 * tables.
 */
#ifndef UTIL_H
#define UTIL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* A numeric address as sa_to_text() writes it, scope name included. */
#define ADDR_TEXT_MAX		64
const char	*sa_to_text(const struct sockaddr *);
int		 mkdir_owned(const char *, mode_t, uid_t, gid_t);
void		 set_nonblocking(int);
uint64_t	 id_generate(void);
const char	*id_text(uint64_t);
ssize_t		 base64_decode(const char *, unsigned char *, size_t);
int		 base64_encode(const unsigned char *, size_t, char *, size_t);
int		 auth_plain_split(const char *, size_t, const char **,
		    const char **, const char **);
char		*read_small(int, size_t, size_t *);
int		 write_all(int, const void *, size_t);
int		 hostname_last_label(const char *);
#define ADDR_NETWORK_MAX	64	/* an IPv6 /64 as text, and more */
int		 addr_network(const char *, char *, size_t);

#endif
