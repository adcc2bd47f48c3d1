/*
 * Submitting one message on the local submission socket, shared by
 * smtpctl (as sendmail) and by the parent's offline runner, and the
 * offline file that holds a message while the daemon is down.
 */
#ifndef ENQUEUE_H
#define ENQUEUE_H

#include <sys/types.h>

#include <stdio.h>

#include "smtpd.h"

/* What enqueue_send() returns when the socket cannot be reached. */
#define ENQUEUE_UNREACHABLE	(-1)

struct enqueue {
	char		 sender[ENVELOPE_ADDRMAX];	/* "" is <> */
	char		 ret[8];			/* RET=, or "" */
	char		 envid[ENVELOPE_ADDRMAX];	/* ENVID=, or "" */
	char		 notify[64];			/* NOTIFY=, or "" */
	char		 helo[SMTP_DOMAIN_MAX + 1];
	char		**rcpts;
	size_t		 nrcpts;
	FILE		*msg;		/* the message, LF line ends */
	int		 verbose;	/* the dialogue on stderr */
	int		 refused;	/* recipients refused for good */
};

int	 enqueue_rcpt_add(struct enqueue *, const char *);
void	 enqueue_clear(struct enqueue *);
int	 enqueue_send(const char *, struct enqueue *);
int	 enqueue_offline_write(const char *, const struct enqueue *);
int	 enqueue_offline_read(int, struct enqueue *);
int	 enqueue_connect(const char *);

#endif
