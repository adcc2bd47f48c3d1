/*
 * The listeners of a configuration, built from what its "listen on"
 * lines say (struct listen_opts, filled in by parse.y): each option
 * checked against the others, the addresses resolved, and the local
 * submission socket every configuration has.  Errors come back as
 * text, which the parser gives its file and line.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"

static int	listen_fail(char *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));

static int
listen_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
listen_check(const struct listen_opts *o, char *err, size_t errlen)
{
	if ((o->flags & LISTEN_SMTPS) && (o->flags & LISTEN_TLS))
		return listen_fail(err, errlen,
		    "smtps and tls exclude each other");
	if ((o->flags & (LISTEN_TLS | LISTEN_SMTPS)) && o->tls.npki == 0)
		return listen_fail(err, errlen,
		    "tls, tls-require and smtps need a pki");
	if (o->tls.npki > 0 && !(o->flags & (LISTEN_TLS | LISTEN_SMTPS)))
		return listen_fail(err, errlen,
		    "pki given without tls, tls-require or smtps");
	if ((o->tls.ciphers[0] != '\0' || o->tls.protocols != 0 ||
	    o->tls.ca[0] != '\0' || (o->flags & LISTEN_VERIFY)) &&
	    !(o->flags & (LISTEN_TLS | LISTEN_SMTPS)))
		return listen_fail(err, errlen,
		    "ciphers, protocols, ca and verify need tls, "
		    "tls-require or smtps");
	if ((o->flags & LISTEN_VERIFY) && o->tls.ca[0] == '\0')
		return listen_fail(err, errlen,
		    "verify needs a ca to check client certificates "
		    "against");
	if (o->tls.ca[0] != '\0' && !(o->flags & LISTEN_VERIFY))
		return listen_fail(err, errlen, "ca given without verify");
	if ((o->flags & LISTEN_AUTH) && !(o->flags & (LISTEN_TLS |
	    LISTEN_SMTPS | LISTEN_AUTH_PLAINTEXT)))
		return listen_fail(err, errlen,
		    "auth is offered only over TLS: add tls, "
		    "tls-require or smtps (or auth-plaintext)");
	if ((o->flags & LISTEN_AUTH_PLAINTEXT) && !(o->flags & LISTEN_AUTH))
		return listen_fail(err, errlen,
		    "auth-plaintext without auth or auth-optional");
	if (o->senders_table[0] != '\0' && !(o->flags & LISTEN_AUTH))
		return listen_fail(err, errlen,
		    "senders without auth or auth-optional");
	return 0;
}

/*
 * The listeners of "listen on host": one for each address host names
 * (only "localhost" is looked up; anything else must be numeric).
 */
int
listen_add(struct smtpd_config *c, const char *host,
    const struct listen_opts *o, int line, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	struct listener	*l;
	long long	 port = o->port;
	int		 error;

	if (port == -1)
		port = (o->flags & LISTEN_SMTPS) ? 465 : SMTPD_PORT;
	if (port < 1 || port > 65535)
		return listen_fail(err, errlen, "port %lld out of range", port);
	if (listen_check(o, err, errlen) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (strcmp(host, "localhost") != 0)
		hints.ai_flags |= AI_NUMERICHOST;
	if ((error = getaddrinfo(host, "0", &hints, &res)) != 0)
		return listen_fail(err, errlen, "cannot listen on %s: %s", host,
		    gai_strerror(error));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("calloc");
		memcpy(&l->ss, ai->ai_addr, ai->ai_addrlen);
		l->sslen = ai->ai_addrlen;
		l->port = port;
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&l->ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&l->ss)->sin6_port =
			    htons(port);
		strlcpy(l->addr, sa_to_text(ai->ai_addr), sizeof(l->addr));
		l->fd = -1;
		l->line = line;
		l->flags = o->flags;
		l->tls = o->tls;
		strlcpy(l->auth_table, o->auth_table, sizeof(l->auth_table));
		strlcpy(l->senders_table, o->senders_table,
		    sizeof(l->senders_table));
		l->index = c->nlisteners++;
		TAILQ_INSERT_TAIL(&c->listeners, l, entry);
	}
	freeaddrinfo(res);
	return 0;
}

/*
 * The local submission socket: one, a path of its own (by default the
 * control socket's directory holds it), no TLS and no AUTH: who
 * submits is known from the socket itself.
 */
int
listen_socket_add(struct smtpd_config *c, const char *path,
    const struct listen_opts *o, int line, char *err, size_t errlen)
{
	struct listener		*l;
	struct sockaddr_un	*sun;

	TAILQ_FOREACH(l, &c->listeners, entry)
		if (l->flags & LISTEN_LOCAL)
			return listen_fail(err, errlen,
			    "listen on socket given twice");
	if (path != NULL && path[0] != '/')
		return listen_fail(err, errlen,
		    "submission socket must be an absolute path");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("calloc");
	sun = (struct sockaddr_un *)&l->ss;
	sun->sun_family = AF_UNIX;
	if (path != NULL && strlcpy(sun->sun_path, path,
	    sizeof(sun->sun_path)) >= sizeof(sun->sun_path)) {
		free(l);
		return listen_fail(err, errlen,
		    "submission socket path too long");
	}
	l->sslen = sizeof(*sun);
	l->fd = -1;
	l->line = line;
	l->flags = o->flags | LISTEN_LOCAL;
	l->index = c->nlisteners++;
	TAILQ_INSERT_TAIL(&c->listeners, l, entry);
	return 0;
}

/*
 * Every configuration has a submission socket: by default beside the
 * control socket, so that two daemons with their own control sockets
 * never share one.
 */
int
listen_socket_default(struct smtpd_config *c, int line, char *err,
    size_t errlen)
{
	struct listener		*l;
	struct sockaddr_un	*sun;
	struct listen_opts	 o;
	char			 dir[PATH_MAX], *slash;

	TAILQ_FOREACH(l, &c->listeners, entry)
		if (l->flags & LISTEN_LOCAL)
			break;
	if (l == NULL) {
		memset(&o, 0, sizeof(o));
		if (listen_socket_add(c, NULL, &o, line, err, errlen) == -1)
			return -1;
		l = TAILQ_LAST(&c->listeners, listener_list);
	}
	sun = (struct sockaddr_un *)&l->ss;
	if (sun->sun_path[0] == '\0') {
		strlcpy(dir, c->control_socket, sizeof(dir));
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path),
		    "%s/%s", dir, SMTPD_SUBMIT_NAME) >= sizeof(sun->sun_path))
			return listen_fail(err, errlen, "submission socket "
			    "path too long: name one with listen on socket");
	}
	strlcpy(l->addr, sun->sun_path, sizeof(l->addr));
	return 0;
}
