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
 *
 * An answer is remembered for DNS_CACHE_TTL seconds, a name or that
 * there is none, so that a client that connects again and again costs
 * one resolution a minute, not one (and two reads of the hosts file
 * and a socket) per connection.  A failure is not remembered: the next
 * connection asks again.  At most DNS_CACHE_MAX addresses are kept;
 * the cache is emptied when it is full, so that clients from many
 * addresses cost memory no more than time.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <arpa/nameser.h>

#include <ares.h>
#include <event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lookup.h"
#include "../smtpd/smtpd.h"
#include "lookup_dns.h"
#include "../smtpd/log.h"

#define DNS_TIMEOUT_MS	2000
#define DNS_TRIES	2
#define DNS_CACHE_TTL	60	/* seconds */
#define DNS_CACHE_MAX	4096

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

/* An address and what its name came to: a confirmed name or none. */
struct dns_answer {
	RB_ENTRY(dns_answer)	 node;
	int			 family;
	unsigned char		 addr[16];
	char			 name[256];	/* empty: no name */
	time_t			 expires;
};
RB_HEAD(dns_answers, dns_answer);
static int
dns_answer_cmp(struct dns_answer *a, struct dns_answer *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}
RB_GENERATE_STATIC(dns_answers, dns_answer, node, dns_answer_cmp);
static struct dns_answers	 answers = RB_INITIALIZER(&answers);
static size_t			 nanswers;

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

static void
dns_answer_key(struct dns_answer *key, int family, const void *addr,
    int addrlen)
{
	memset(key, 0, sizeof(*key));
	key->family = family;
	memcpy(key->addr, addr, addrlen);
}

static void
dns_answers_flush(void)
{
	struct dns_answer	*a;

	while ((a = RB_ROOT(&answers)) != NULL) {
		RB_REMOVE(dns_answers, &answers, a);
		free(a);
	}
	nanswers = 0;
}

/* A remembered answer for the address that is still good, or NULL. */
static struct dns_answer *
dns_answer_find(int family, const void *addr, int addrlen)
{
	struct dns_answer	 key, *a;

	dns_answer_key(&key, family, addr, addrlen);
	if ((a = RB_FIND(dns_answers, &answers, &key)) == NULL)
		return NULL;
	if (a->expires > time(NULL))
		return a;
	RB_REMOVE(dns_answers, &answers, a);
	free(a);
	nanswers--;
	return NULL;
}

static void
dns_answer_keep(const struct dns_query *q, const char *name)
{
	struct dns_answer	*a;

	if ((a = dns_answer_find(q->ss.ss_family, q->addr,
	    q->addrlen)) == NULL) {
		if (nanswers >= DNS_CACHE_MAX)
			dns_answers_flush();
		if ((a = malloc(sizeof(*a))) == NULL)
			fatal("malloc");
		dns_answer_key(a, q->ss.ss_family, q->addr, q->addrlen);
		RB_INSERT(dns_answers, &answers, a);
		nanswers++;
	}
	strlcpy(a->name, name == NULL ? "" : name, sizeof(a->name));
	a->expires = time(NULL) + DNS_CACHE_TTL;
}

/* The query's answer, to its asker; an answer is remembered. */
static void
dns_done(struct dns_query *q, const char *name, int failed)
{
	if (!failed)
		dns_answer_keep(q, name);
	q->cb(q->arg, name, failed);
	free(q);
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
		dns_done(q, NULL, 1);
		return;
	}
	if (status == ARES_SUCCESS && h != NULL)
		for (a = h->h_addr_list; *a != NULL; a++)
			if (dns_addr_equal(&q->ss, h->h_addrtype, *a))
				confirmed = 1;
	dns_done(q, confirmed ? q->name : NULL, 0);
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
		dns_done(q, NULL, 0);
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
		dns_done(q, NULL, 1);
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
	struct dns_answer	*known;
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
	if ((known = dns_answer_find(sa->sa_family, addr, len)) != NULL) {
		cb(arg, known->name[0] != '\0' ? known->name : NULL, 0);
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
