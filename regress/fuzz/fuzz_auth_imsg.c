/*
 * libFuzzer target: the auth process's dispatcher, fed what the
 * listener may send it.  auth.c is compiled into this file so that its
 * static dispatcher can be called as the process calls it; the rest of
 * the process (start-up, sandbox, the other processes) is stubbed.  Any
 * message from the listener must end in an answer to lookup or a clean
 * refusal, never fatal().
 *
 * The input is a list of messages: a type byte (check or anything
 * else), a session byte, a flag byte (bit 0: a descriptor comes along),
 * a payload length and the payload.
 */
#include "smtpd/auth.c"

#include <stdio.h>
#include <unistd.h>

struct smtpd_config	*env;
int			 smtpd_privileged;
int			 sandbox_debug;

static size_t		 answers;

/* What auth_main() needs besides the dispatcher: never called here. */
void	proc_peers_from_exec(enum smtp_proc p, proc_dispatch_fn fn)
	    { abort(); }
void	proc_signals(void) { abort(); }
void	proc_drop_privileges(const char *u, const char *r) { abort(); }
void	sandbox(const char *p, const struct sandbox_path *s) { abort(); }

void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	struct imsg_hdr	 hdr;

	memcpy(&hdr, b->buf, sizeof(hdr));
	if (b->error || p != PROC_LOOKUP ||
	    hdr.type != IMSG_AUTH_LOOKUP_RESULT)
		abort();
	answers++;
	free(b->buf);
	free(b);
}

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct listener	 listener;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct table	*t;

	event_init();
	if ((env = calloc(1, sizeof(*env))) == NULL)
		abort();
	TAILQ_INIT(&env->listeners);
	TAILQ_INIT(&env->tables);
	strlcpy(listener.auth_table, "creds", sizeof(listener.auth_table));
	TAILQ_INSERT_TAIL(&env->listeners, &listener, entry);
	/* A cheap hash keeps the fuzzer fast; "secret" is its password. */
	if ((t = table_create("creds", TABLE_STATIC, NULL)) == NULL ||
	    table_add(t, "user", "$5$rounds=1000$salt$CCvcOM6b7TEJDPb37Aec/9UpOg4QhPNAxPpL9ZzjTB7") == -1)
		abort();
	TAILQ_INSERT_TAIL(&env->tables, t, entry);
	if (creds_init(t) == -1 ||
	    (limiter = limiter_new(3, 5, 0, 64)) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsg	 imsg;
	uint8_t		 payload[1024];
	size_t		 off = 0, len;

	while (off + 4 <= size) {
		memset(&imsg, 0, sizeof(imsg));
		imsg.hdr.type = (data[off] & 1) ? IMSG_SMTP_AUTH_CHECK :
		    data[off];
		imsg.hdr.peerid = data[off + 1];
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
		auth_dispatch(PROC_SMTP, &imsg);
		if (imsg.fd != -1)
			close(imsg.fd);
	}
	return 0;
}
