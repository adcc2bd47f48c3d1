/*
 * Small helpers every process may use: address text, identifiers,
 * descriptors.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"

const char *
sa_to_text(const struct sockaddr *sa)
{
	static char	 buf[NI_MAXHOST];
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

void
set_nonblocking(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
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
