/*
 * libFuzzer target: what the listener may send the lookup process,
 * as a whole stream of messages to lookup_session.c's dispatcher.  The
 * listener is assumed compromised, so any sequence of any messages must
 * end in answers or clean refusals: never fatal(), never a leak, never
 * an envelope for the queue that lookup did not route.
 *
 * The input is a list of messages: a type (an index into the table
 * below), a session id, a flag byte (bit 0: attach the socket of a real
 * loopback connection), a payload length and the payload.  Routing
 * answers at once with one or two destinations; the reverse DNS answers
 * at once with no name.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/smtpd.h"
#include "lookup/lookup_dns.h"
#include "lookup/lookup_session.h"

struct smtpd_config	*env;

/* The harness's configuration is never retired: never freed. */
void
config_free(struct smtpd_config *c)
{
	abort();
}

struct smtpd_config *
lookup_config(void)
{
	return env;
}
int			 smtpd_privileged;

static int		 conn = -1;	/* an established connection */
static struct listener	 listener;
static size_t		 nenvelopes;	/* sent to the queue */
static int		 asked[4];	/* AUTHs auth has to answer */

/*
 * An AUTH reaches auth only with the session's own table and the
 * address read from the socket, whatever the listener said.
 */
static void
auth_asked(struct ibuf *b, uint32_t peerid)
{
	struct imsg	 imsg;
	char		 table[TABLE_NAMESZ], addr[NI_MAXHOST];

	memset(&imsg, 0, sizeof(imsg));
	imsg.data = b->buf + IMSG_HDRSIZE;
	imsg.len = b->len - IMSG_HDRSIZE;
	imsg_get_string(&imsg, table, sizeof(table));
	imsg_get_string(&imsg, addr, sizeof(addr));
	if (imsg.error || strcmp(table, listener.auth_table) != 0 ||
	    strcmp(addr, "127.0.0.1") != 0 || peerid >= 4)
		abort();
	asked[peerid]++;
}

void
proc_close(enum smtp_proc p, struct ibuf *b)
{
	struct imsg_hdr	 hdr;

	memcpy(&hdr, b->buf, sizeof(hdr));
	if (b->error)
		abort();
	if (p == PROC_AUTH && hdr.type == IMSG_LOOKUP_AUTH_CHECK)
		auth_asked(b, hdr.peerid);
	if (p == PROC_QUEUE && hdr.type == IMSG_LOOKUP_QUEUE_ENVELOPE)
		nenvelopes++;
	if (p == PROC_QUEUE && hdr.type == IMSG_LOOKUP_QUEUE_CREATE) {
		if (nenvelopes == 0)
			abort();	/* a message with nothing routed */
		nenvelopes = 0;
	}
	if (b->fd != -1)
		close(b->fd);
	free(b->buf);
	free(b);
}

struct killfile *
lookup_killfile(void)
{
	return NULL;
}

void
dns_reverse(const struct sockaddr *sa, dns_cb cb, void *arg)
{
	cb(arg, NULL, 0);
}

void
lookup_vrfy_expn(uint32_t id, const char *name, int privileged, int expn)
{
}

int
lookup_domain_is_local(const char *domain)
{
	return domain[0] == '\0' || strcmp(domain, "localhost") == 0;
}

/* Routing: one local user, and an alias member elsewhere. */
void
rcpt_start(enum smtp_proc to, uint32_t type, uint32_t peerid,
    const struct rcpt_query *q)
{
	static struct dest	 d[2];
	static struct dests	 ds;

	memset(&ds, 0, sizeof(ds));
	memset(d, 0, sizeof(d));
	ds.d = d;
	ds.n = ds.dmax = 2;
	strlcpy(ds.d[0].action, "local", sizeof(ds.d[0].action));
	strlcpy(ds.d[0].user, "user", sizeof(ds.d[0].user));
	strlcpy(ds.d[1].action, "local", sizeof(ds.d[1].action));
	strlcpy(ds.d[1].target, q->rcpt, sizeof(ds.d[1].target));
	session_rcpt_resolved(peerid, LOOKUP_OK, "", &ds);
}

/*
 * Auth is trusted: it answers only what it was asked, well formed; the
 * fuzzer picks the answer.
 */
static void
auth_result(struct imsg *imsg, const uint8_t *p, size_t len)
{
	struct ibuf	*b;
	char		 user[64];

	if (imsg->fd != -1) {
		close(imsg->fd);
		imsg->fd = -1;
	}
	if (asked[imsg->hdr.peerid] == 0)
		return;
	asked[imsg->hdr.peerid]--;
	snprintf(user, sizeof(user), "%.*s", (int)(len > 1 ? len - 1 : 0),
	    len > 1 ? (const char *)p + 1 : "");
	if (memchr(user, '\0', strlen(user) + 1) != user + strlen(user))
		return;
	b = imsg_create(IMSG_AUTH_LOOKUP_RESULT, imsg->hdr.peerid, -1);
	imsg_add_u32(b, len > 0 ? p[0] % 4 : AUTH_OK);
	imsg_add_string(b, len > 0 && (p[0] & 4) ? "other" : "creds");
	imsg_add_string(b, user);
	memset(imsg, 0, sizeof(*imsg));
	imsg->hdr.type = IMSG_AUTH_LOOKUP_RESULT;
	memcpy(&imsg->hdr.peerid, b->buf + offsetof(struct imsg_hdr, peerid),
	    sizeof(imsg->hdr.peerid));
	imsg->data = b->buf + IMSG_HDRSIZE;
	imsg->len = b->len - IMSG_HDRSIZE;
	imsg->fd = -1;
	session_auth_result(imsg);
	free(b->buf);
	free(b);
}

static const uint32_t types[] = {
	IMSG_SMTP_LOOKUP_CONNECT, IMSG_SMTP_LOOKUP_MAIL,
	IMSG_SMTP_LOOKUP_RCPT, IMSG_SMTP_LOOKUP_VRFY, IMSG_SMTP_LOOKUP_EXPN,
	IMSG_SMTP_LOOKUP_DATA, IMSG_SMTP_LOOKUP_TLS, IMSG_SMTP_LOOKUP_CLOSE,
	IMSG_SMTP_QUEUE_COMMIT, IMSG_AUTH_LOOKUP_RESULT, IMSG_SMTP_LOOKUP_AUTH,
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 ls, c;

	if ((env = calloc(1, sizeof(*env))) == NULL)
		abort();
	TAILQ_INIT(&env->listeners);
	env->max_rcpt = 10;
	env->vrfy = SMTP_ALLOW_AUTH;
	env->expn = SMTP_ALLOW_OFF;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1) == -1 ||
	    getsockname(ls, (struct sockaddr *)&sin, &len) == -1 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (conn = accept(ls, NULL, NULL)) == -1)
		abort();
	memcpy(&listener.ss, &sin, sizeof(sin));
	listener.port = ntohs(sin.sin_port);
	listener.flags = LISTEN_REJECT_NULL;
	strlcpy(listener.auth_table, "creds", sizeof(listener.auth_table));
	TAILQ_INSERT_TAIL(&env->listeners, &listener, entry);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsg	 imsg;
	uint8_t		 payload[512];
	size_t		 off = 0, len, i;

	while (off + 4 <= size) {
		memset(&imsg, 0, sizeof(imsg));
		imsg.hdr.type = types[data[off] % NTYPES];
		imsg.hdr.peerid = data[off + 1] % 4;
		imsg.fd = (data[off + 2] & 1) ? dup(conn) : -1;
		len = data[off + 3];
		off += 4;
		if (len > size - off)
			len = size - off;
		memcpy(payload, data + off, len);
		off += len;
		imsg.data = payload;
		imsg.len = len;
		imsg.hdr.len = len;
		if (imsg.hdr.type == IMSG_AUTH_LOOKUP_RESULT)
			auth_result(&imsg, payload, len);
		else if (imsg.hdr.type == IMSG_SMTP_QUEUE_COMMIT)
			proc_bad_imsg(PROC_LOOKUP, PROC_SMTP, &imsg);
		else
			session_dispatch(&imsg);
		if (imsg.fd != -1)
			close(imsg.fd);
	}
	/* The listener goes: every session it named must go with it. */
	for (i = 0; i < 4; i++) {
		memset(&imsg, 0, sizeof(imsg));
		imsg.hdr.type = IMSG_SMTP_LOOKUP_CLOSE;
		imsg.hdr.peerid = i;
		imsg.fd = -1;
		session_dispatch(&imsg);
	}
	if (session_count() != 0)
		abort();
	memset(asked, 0, sizeof(asked));
	return 0;
}
