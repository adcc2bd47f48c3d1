/*
 * libFuzzer target: the auth process's dispatcher, fed the checks lookup
 * passes on.  The listener cannot reach auth; lookup frames each check
 * itself, but the user name and the password in it are the client's,
 * and a compromised listener picks the address whose failures it
 * spends.  auth.c is compiled into this file so that its static
 * dispatcher can be called as the process calls it; the rest of the
 * process (start-up, sandbox, the other processes) is stubbed.  Every
 * check must end in one answer to lookup, at once or after its delay.
 *
 * The input is a list of checks: a session byte, then three strings
 * (address, user, password), each a length byte and its bytes.
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

/* A string of the input: a length byte and that many bytes, no NUL. */
static int
take_string(const uint8_t *data, size_t size, size_t *off, char *buf,
    size_t bufsz)
{
	size_t	 len;

	if (*off >= size)
		return -1;
	len = data[(*off)++];
	if (len > size - *off)
		len = size - *off;
	if (len >= bufsz || memchr(data + *off, '\0', len) != NULL)
		return -1;
	memcpy(buf, data + *off, len);
	buf[len] = '\0';
	*off += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsg	 imsg;
	struct ibuf	*b;
	/* What lookup can send: msg_check's fields. */
	char		 addr[MSG_NETADDR_MAX], user[MSG_USER_MAX];
	char		 password[MSG_PASSWORD_MAX];
	uint32_t	 session;
	size_t		 off = 0;

	while (off < size) {
		session = data[off++];
		if (take_string(data, size, &off, addr, sizeof(addr)) == -1 ||
		    take_string(data, size, &off, user, sizeof(user)) == -1 ||
		    take_string(data, size, &off, password,
		    sizeof(password)) == -1)
			break;
		b = imsg_create(IMSG_LOOKUP_AUTH_CHECK, session, -1);
		imsg_add_string(b, "creds");
		imsg_add_string(b, addr);
		imsg_add_string(b, user);
		imsg_add_string(b, password);
		memset(&imsg, 0, sizeof(imsg));
		imsg.hdr.type = IMSG_LOOKUP_AUTH_CHECK;
		imsg.hdr.peerid = session;
		imsg.data = b->buf + IMSG_HDRSIZE;
		imsg.len = b->len - IMSG_HDRSIZE;
		imsg.hdr.len = imsg.len;
		imsg.fd = -1;
		auth_dispatch(PROC_LOOKUP, &imsg);
		free(b->buf);
		free(b);
	}
	return 0;
}
