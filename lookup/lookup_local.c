/*
 * Local submission, as lookup judges it.  A session on the submission
 * socket is attested from the socket alone: its name must be the one
 * the parent bound, and the submitting user is the one the kernel
 * reports as the peer (SO_PEERCRED), never a name the client gives.
 * That user may send as itself; root and the members of the trusted
 * group may name any sender, and anyone else's other sender is kept
 * but marked in the message.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"
#include "lookup_session.h"

/* The submission listener whose socket this is, by its bound path. */
static const struct listener *
local_listener(int fd)
{
	const struct listener	*l;
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof(sun);

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX || len <= sizeof(sa_family_t))
		return NULL;
	TAILQ_FOREACH(l, &env->listeners, entry)
		if ((l->flags & LISTEN_LOCAL) && strncmp(sun.sun_path,
		    ((const struct sockaddr_un *)&l->ss)->sun_path,
		    sizeof(sun.sun_path)) == 0)
			return l;
	return NULL;
}

/*
 * Root, or a process in the trusted group, names any sender.  The
 * groups are the peer's own as the kernel reports them (its effective
 * group at connect and its supplementary groups), not /etc/group.
 */
static int
local_trusted(int fd, const struct ucred *cred)
{
	struct group	*gr;
	gid_t		*groups = NULL;
	socklen_t	 len = 0;
	size_t		 i, n;
	int		 found = 0;

	if (cred->uid == 0)
		return 1;
	if (env->submit_group[0] == '\0' ||
	    (gr = getgrnam(env->submit_group)) == NULL)
		return 0;
	endgrent();
	if (cred->gid == gr->gr_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) == -1 &&
	    errno != ERANGE)
		return 0;
	if (len == 0 || (groups = malloc(len)) == NULL)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		n = len / sizeof(*groups);
		for (i = 0; i < n; i++)
			if (groups[i] == gr->gr_gid)
				found = 1;
	}
	free(groups);
	return found;
}

/*
 * The listener and the user of a connection to the submission socket.
 * Returns NULL, or why not.
 */
const char *
local_attest(int fd, const struct listener **lp, struct local_peer *p)
{
	struct ucred	 cred;
	struct passwd	*pw;
	socklen_t	 len = sizeof(cred);

	if ((*lp = local_listener(fd)) == NULL)
		return "not a connection to the submission socket";
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred) || cred.pid == 0)
		return "no peer credentials";
	if ((pw = getpwuid(cred.uid)) == NULL)
		return "no such user";
	endpwent();
	if (strlcpy(p->user, pw->pw_name, sizeof(p->user)) >=
	    sizeof(p->user) || strpbrk(p->user, " \t\r\n()<>@") != NULL)
		return "user name unfit for a header";
	p->uid = cred.uid;
	p->pid = cred.pid;
	p->trusted = local_trusted(fd, &cred);
	return NULL;
}

/*
 * Whether the sender of a local session needs marking: anything but
 * the user's own name, bare or at a local domain, unless the user is
 * trusted.
 */
int
local_sender_marked(const struct local_peer *p, const char *sender)
{
	const char	*at;
	size_t		 len;

	at = strrchr(sender, '@');
	len = at != NULL ? (size_t)(at - sender) : strlen(sender);
	if (sender[0] != '\0' && len == strlen(p->user) &&
	    strncmp(sender, p->user, len) == 0 &&
	    (at == NULL || lookup_domain_is_local(at + 1)))
		return 0;
	return !p->trusted;
}
