/*
 * libFuzzer target: the control process's dispatcher, fed what the
 * listener may send it (its answers to smtpctl's show stats).  control.c
 * is compiled into this file so that its static dispatcher can be
 * called as the process calls it.  One smtpctl client is connected and
 * waiting for stats; whatever the listener sends must be passed on as
 * text, or refused, never fatal(), and no descriptor may reach the
 * client.
 *
 * The input is a list of messages: a type byte, a client id byte, a
 * flag byte (bit 0: a descriptor comes along), a payload length and the
 * payload.
 */
#include "smtpd/control.c"

#include <stdarg.h>
#include <stdio.h>

struct smtpd_config	*env;
int			 smtpd_privileged;
int			 sandbox_debug;

/* What control_main() and the client side need: never called here. */
void	proc_peers_from_exec(enum smtp_proc p, proc_dispatch_fn fn)
	    { abort(); }
void	proc_signals(void) { abort(); }
void	proc_drop_privileges(const char *u, const char *r) { abort(); }
void	sandbox(const char *p, const struct sandbox_path *s) { abort(); }

/* Control forwards the stats request to the queue after smtp's end. */
void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	if (b->error || p != PROC_QUEUE)
		abort();
	if (b->fd != -1)
		abort();
	free(b->buf);
	free(b);
}

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	event_init();
	return 0;
}

static const uint32_t types[] = {
	IMSG_CTL_LINE, IMSG_CTL_END, IMSG_CTL_OK, IMSG_CTL_FAIL,
	IMSG_CTL_SHOW_STATS, IMSG_SMTP_LOOKUP_MAIL,
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_client	*c;
	struct imsg		 imsg;
	uint8_t			 payload[1024];
	size_t			 off = 0, len;
	int			 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		abort();
	close(sv[1]);
	imsgbuf_init(&c->ibuf, sv[0]);
	c->id = 1;
	c->pending = IMSG_CTL_SHOW_STATS;
	event_set(&c->ev, sv[0], EV_READ, control_client_event, c);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;

	while (off + 4 <= size) {
		memset(&imsg, 0, sizeof(imsg));
		imsg.hdr.type = types[data[off] % NTYPES];
		imsg.hdr.peerid = data[off + 1] % 3;
		imsg.fd = (data[off + 2] & 1) ? dup(0) : -1;
		len = data[off + 3] * 4;
		off += 4;
		if (len > size - off)
			len = size - off;
		if (len > sizeof(payload))
			len = sizeof(payload);
		memcpy(payload, data + off, len);
		off += len;
		imsg.data = payload;
		imsg.len = len;
		imsg.hdr.len = len;
		control_dispatch(PROC_SMTP, &imsg);
		if (imsg.fd != -1)
			close(imsg.fd);
		/* Nothing the listener sent may carry a descriptor on. */
		if ((c = TAILQ_FIRST(&clients)) != NULL) {
			struct ibuf	*b;

			TAILQ_FOREACH(b, &c->ibuf.wq, entry)
				if (b->fd != -1)
					abort();
		}
	}
	while ((c = TAILQ_FIRST(&clients)) != NULL)
		control_client_free(c);
	return 0;
}
