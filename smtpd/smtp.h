/*
 * The listener process: accepts connections on the sockets the parent
 * bound and runs one SMTP session each (smtp_session.c).
 */
#ifndef SMTP_H
#define SMTP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <tls.h>

struct imsg;
struct listener;

void		 smtp_session_accept(struct listener *, int,
		    const struct sockaddr *, socklen_t);
void		 smtp_session_lookup_reply(uint32_t, uint32_t, struct imsg *);
void		 smtp_session_auth_reply(uint32_t, struct imsg *);
void		 smtp_session_queue_reply(uint32_t, uint32_t, struct imsg *);
void		 smtp_session_counts(size_t *, uint64_t *);
void		 smtp_local_reply(uint32_t, uint32_t, struct imsg *);
struct tls	*smtp_tls_context(struct listener *);

#endif
