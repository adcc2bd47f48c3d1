/*
 * The listener process: accepts connections on the sockets the parent
 * bound and runs one SMTP session each (smtp_session.c).
 */
#ifndef SMTP_H
#define SMTP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <event2/event.h>

struct imsg;

extern struct event_base	*smtp_base;

void	smtp_session_accept(int, const struct sockaddr *, socklen_t);
void	smtp_session_lookup_reply(uint32_t, uint32_t, struct imsg *);
void	smtp_session_queue_reply(uint32_t, uint32_t, struct imsg *);

#endif
