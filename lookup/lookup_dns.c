/*
 * Reverse DNS for the lookup process, with c-ares on the process's
 * libevent loop.  A client's name counts only when it is confirmed:
 * the PTR name must resolve back to the client's address (forward-
 * confirmed reverse DNS), so a forged PTR record names nobody.  A PTR
 * name that is not a host name is not even looked up: the name goes
 * into the Received: header and the logs.  An answer that there is no
 * such record is no name; no answer at all (a timeout, a server
 * failure) is told apart, so that a rule that needs the name fails
 * rather than takes the client for one without.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/nameser.h>

#include <ares.h>
#include <event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "../smtpd/smtpd.h"
#include "lookup_dns.h"
#include "../smtpd/log.h"

#define DNS_TIMEOUT_MS	2000
#define DNS_TRIES	2

struct dns_sock {
	TAILQ_ENTRY(dns_sock)	 entry;
	ares_socket_t		 fd;
	struct event		 ev;
};

struct dns_query {
	struct sockaddr_storage	 ss;
	const void		*addr;		/* in ss */
	int			 addrlen;
	char			 text[NI_MAXHOST];	/* for the log */
	char			 name[256];
	dns_cb			 cb;
	void			*arg;
};

static ares_channel		 channel;
/*
 * The hosts file alone.  The PTR query goes to DNS by ares_query: a
 * reverse look-up through both would hide a DNS failure behind the
 * hosts file's "not found".
 */
static ares_channel		 files;
static TAILQ_HEAD(, dns_sock)	 socks = TAILQ_HEAD_INITIALIZER(socks);
static struct event		 dns_timer;

static void	dns_timer_arm(void);

static void
dns_sock_event(int fd, short event, void *arg)
{
	ares_process_fd(channel, (event & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (event & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_timer_arm();
}

/* c-ares tells which sockets it wants watched, and for what. */
static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_sock	*s;
	short		 events = 0;

	TAILQ_FOREACH(s, &socks, entry)
		if (s->fd == fd)
			break;
	if (s != NULL) {
		event_del(&s->ev);
		if (!readable && !writable) {
			TAILQ_REMOVE(&socks, s, entry);
			free(s);
			return;
		}
	} else {
		if (!readable && !writable)
			return;
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("calloc");
		s->fd = fd;
		TAILQ_INSERT_TAIL(&socks, s, entry);
	}
	if (readable)
		events |= EV_READ;
	if (writable)
		events |= EV_WRITE;
	event_set(&s->ev, fd, events | EV_PERSIST, dns_sock_event, NULL);
	event_add(&s->ev, NULL);
}

static void
dns_timeout(int fd, short event, void *arg)
{
	ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_timer_arm();
}

static void
dns_timer_arm(void)
{
	struct timeval	 tv, *tvp;

	evtimer_del(&dns_timer);
	if ((tvp = ares_timeout(channel, NULL, &tv)) != NULL)
		evtimer_add(&dns_timer, tvp);
}

/* Before the sandbox: resolv.conf is read here, once. */
void
dns_init(void)
{
	struct ares_options	 opts;
	int			 r;

	if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		fatalx("c-ares: %s", ares_strerror(r));
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = dns_sock_state;
	opts.timeout = DNS_TIMEOUT_MS;
	opts.tries = DNS_TRIES;
	if ((r = ares_init_options(&channel, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) != ARES_SUCCESS)
		fatalx("c-ares: %s", ares_strerror(r));
	memset(&opts, 0, sizeof(opts));
	opts.lookups = "f";
	if ((r = ares_init_options(&files, &opts, ARES_OPT_LOOKUPS)) !=
	    ARES_SUCCESS)
		fatalx("c-ares: %s", ares_strerror(r));
	evtimer_set(&dns_timer, dns_timeout, NULL);
}

static int
dns_addr_equal(const struct sockaddr_storage *ss, int family,
    const char *addr)
{
	if (ss->ss_family != family)
		return 0;
	if (family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)ss)->sin_addr,
		    addr, sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, addr,
	    sizeof(struct in6_addr)) == 0;
}

/*
 * Whether a status is no answer rather than an answer of no record:
 * only "no such name" and "no such record" say there is none.
 */
static int
dns_failed(struct dns_query *q, const char *what, int status)
{
	if (status == ARES_SUCCESS || status == ARES_ENOTFOUND ||
	    status == ARES_ENODATA)
		return 0;
	log_warnx("lookup address=%s rdns=failed query=%s error=\"%s\"",
	    q->text, what, ares_strerror(status));
	return 1;
}

static void
dns_forward_done(void *arg, int status, int timeouts, struct hostent *h)
{
	struct dns_query	*q = arg;
	char			**a;
	int			 confirmed = 0;

	if (dns_failed(q, "forward", status)) {
		q->cb(q->arg, NULL, 1);
		free(q);
		return;
	}
	if (status == ARES_SUCCESS && h != NULL)
		for (a = h->h_addr_list; *a != NULL; a++)
			if (dns_addr_equal(&q->ss, h->h_addrtype, *a))
				confirmed = 1;
	q->cb(q->arg, confirmed ? q->name : NULL, 0);
	free(q);
}

/* A name of labels, as a host name; a final dot is allowed. */
static int
dns_hostname_valid(const char *name)
{
	return name[0] != '\0' && hostname_last_label(name) != -1;
}

/* The name the PTR is found under: reversed octets, or nibbles. */
static void
dns_ptr_name(const struct dns_query *q, char *buf, size_t len)
{
	const unsigned char	*a = q->addr;
	size_t			 off = 0;
	int			 i;

	if (q->ss.ss_family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return;
	}
	for (i = q->addrlen - 1; i >= 0 && off < len; i--)
		off += snprintf(buf + off, len - off, "%x.%x.", a[i] & 0xf,
		    a[i] >> 4);
	if (off < len)
		snprintf(buf + off, len - off, "ip6.arpa");
}

/* The PTR name, if it is a host name, must resolve back to the client. */
static void
dns_reverse_named(struct dns_query *q, const struct hostent *h)
{
	if (h == NULL || h->h_name == NULL ||
	    strlen(h->h_name) >= sizeof(q->name) ||
	    !dns_hostname_valid(h->h_name)) {
		q->cb(q->arg, NULL, 0);
		free(q);
		return;
	}
	strlcpy(q->name, h->h_name, sizeof(q->name));
	ares_gethostbyname(channel, q->name, q->ss.ss_family,
	    dns_forward_done, q);
	dns_timer_arm();
}

static void
dns_ptr_done(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query	*q = arg;
	struct hostent		*h = NULL;

	if (status == ARES_SUCCESS)
		status = ares_parse_ptr_reply(abuf, alen, q->addr, q->addrlen,
		    q->ss.ss_family, &h);
	if (dns_failed(q, "reverse", status)) {
		q->cb(q->arg, NULL, 1);
		free(q);
		return;
	}
	dns_reverse_named(q, h);
	if (h != NULL)
		ares_free_hostent(h);
}

/* The hosts file first; then DNS, which may fail. */
static void
dns_files_done(void *arg, int status, int timeouts, struct hostent *h)
{
	struct dns_query	*q = arg;
	char			 name[80];

	if (status == ARES_SUCCESS && h != NULL) {
		dns_reverse_named(q, h);
		return;
	}
	dns_ptr_name(q, name, sizeof(name));
	ares_query(channel, name, C_IN, T_PTR, dns_ptr_done, q);
	dns_timer_arm();
}

/*
 * Find the confirmed name of an address; cb gets it, or NULL when there
 * is none (no PTR, a PTR that does not point back, a PTR that is no
 * host name) or when DNS gave no answer, which it is also told.
 */
void
dns_reverse(const struct sockaddr *sa, dns_cb cb, void *arg)
{
	struct dns_query	*q;
	const void		*addr;
	int			 len;

	if (sa->sa_family == AF_INET) {
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
		len = sizeof(struct in_addr);
	} else if (sa->sa_family == AF_INET6) {
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		len = sizeof(struct in6_addr);
	} else {
		cb(arg, NULL, 0);
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("calloc");
	memcpy(&q->ss, sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	strlcpy(q->text, sa_to_text(sa), sizeof(q->text));
	q->cb = cb;
	q->arg = arg;
	q->addr = sa->sa_family == AF_INET ?
	    (const void *)&((struct sockaddr_in *)&q->ss)->sin_addr :
	    (const void *)&((struct sockaddr_in6 *)&q->ss)->sin6_addr;
	q->addrlen = len;
	ares_gethostbyaddr(files, addr, len, sa->sa_family, dns_files_done,
	    q);
}
