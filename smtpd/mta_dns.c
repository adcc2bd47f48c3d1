/*
 * Where mail for a domain goes (RFC 5321 section 5, RFC 7505), with
 * c-ares on the mta's event loop: the MX records by preference, equal
 * ones in random order, each host's addresses; no MX record means the
 * domain's own addresses (implicit MX); a null MX means no mail at all.
 * NXDOMAIN is final, any other failure of the resolver is temporary.
 * Answers come from the network and are trusted for nothing but names
 * and addresses; the number of hosts taken is bounded.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <ares.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"
#include "mta.h"

#define DNS_TIMEOUT_MS		3000
#define DNS_TRIES		2
#define DNS_ADDRS_PER_HOST	8

struct dns_sock {
	TAILQ_ENTRY(dns_sock)	 entry;
	ares_socket_t		 fd;
	struct event		 ev;
};

struct dns_mx {
	char			 name[256];
	int			 pref;
	struct mta_addr		 addrs[DNS_ADDRS_PER_HOST];
	size_t			 naddrs;
	int			 status;	/* ARES_* of its lookup */
};

struct dns_req {
	char			 name[256];
	int			 family;
	in_port_t		 port;
	int			 implicit;
	mta_dns_cb		 cb;
	void			*arg;
	struct dns_mx		 mx[MTA_MX_MAX];
	size_t			 nmx;
	size_t			 pending;
};

struct dns_host {
	struct dns_req		*req;
	size_t			 i;
};

static ares_channel		 channel;
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

static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_sock	*s;

	TAILQ_FOREACH(s, &socks, entry)
		if (s->fd == fd)
			break;
	if (s != NULL)
		event_del(&s->ev);
	if (!readable && !writable) {
		if (s != NULL) {
			TAILQ_REMOVE(&socks, s, entry);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("calloc");
		s->fd = fd;
		TAILQ_INSERT_TAIL(&socks, s, entry);
	}
	event_set(&s->ev, fd, (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0) | EV_PERSIST, dns_sock_event, NULL);
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

/*
 * Before the sandbox: resolv.conf is read here, once, unless the
 * configuration names a resolver.  Names are looked up in the DNS only
 * (never /etc/hosts, which the sandbox could not open) and as given,
 * without the search list.
 */
void
mta_dns_init(void)
{
	struct ares_options	 opts;
	char			 servers[NI_MAXHOST + 16];
	char			 lookups[] = "b";
	int			 r;

	if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		fatalx("c-ares: %s", ares_strerror(r));
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = dns_sock_state;
	opts.timeout = DNS_TIMEOUT_MS;
	opts.tries = DNS_TRIES;
	opts.flags = ARES_FLAG_NOSEARCH;
	opts.lookups = lookups;
	opts.ndomains = 0;
	opts.domains = NULL;
	if ((r = ares_init_options(&channel, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	    ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS)) != ARES_SUCCESS)
		fatalx("c-ares: %s", ares_strerror(r));
	if (env->mta.resolver[0] != '\0') {
		if (strchr(env->mta.resolver, ':') != NULL)
			snprintf(servers, sizeof(servers), "[%s]:%u",
			    env->mta.resolver, env->mta.resolver_port);
		else
			snprintf(servers, sizeof(servers), "%s:%u",
			    env->mta.resolver, env->mta.resolver_port);
		if ((r = ares_set_servers_ports_csv(channel, servers)) !=
		    ARES_SUCCESS)
			fatalx("c-ares: resolver %s: %s", servers,
			    ares_strerror(r));
	}
	evtimer_set(&dns_timer, dns_timeout, NULL);
}

static int
dns_temporary(int status)
{
	return status != ARES_ENOTFOUND && status != ARES_ENODATA &&
	    status != ARES_SUCCESS;
}

/* Every host looked up: the list, by preference, then the callback. */
static void
dns_finish(struct dns_req *req)
{
	struct mta_addr	*out;
	struct dns_mx	 tmp;
	size_t		 i, j, n = 0, total = 0;
	int		 temp = 0, notfound = 0;
	char		 err[MTA_REPLY_TEXT_MAX];

	/* Insertion sort by preference; equal ones were shuffled before. */
	for (i = 1; i < req->nmx; i++)
		for (j = i; j > 0 && req->mx[j - 1].pref > req->mx[j].pref;
		    j--) {
			tmp = req->mx[j];
			req->mx[j] = req->mx[j - 1];
			req->mx[j - 1] = tmp;
		}
	for (i = 0; i < req->nmx; i++) {
		total += req->mx[i].naddrs;
		if (dns_temporary(req->mx[i].status))
			temp = 1;
		if (req->mx[i].status == ARES_ENOTFOUND)
			notfound = 1;
	}
	if (total == 0) {
		if (req->implicit && notfound && !temp) {
			snprintf(err, sizeof(err), "550 5.1.2 domain %.128s not "
			    "found", req->name);
			req->cb(req->arg, MTA_DNS_PERMFAIL, err, NULL, 0);
		} else {
			snprintf(err, sizeof(err), "451 4.4.3 no address "
			    "found for the hosts of %.128s", req->name);
			req->cb(req->arg, MTA_DNS_TEMPFAIL, err, NULL, 0);
		}
		free(req);
		return;
	}
	if ((out = calloc(total, sizeof(*out))) == NULL)
		fatal("calloc");
	for (i = 0; i < req->nmx; i++)
		for (j = 0; j < req->mx[i].naddrs; j++)
			out[n++] = req->mx[i].addrs[j];
	req->cb(req->arg, MTA_DNS_OK, "", out, n);
	free(out);
	free(req);
}

static void
dns_addr_add(struct dns_req *req, struct dns_mx *mx, const struct sockaddr *sa,
    socklen_t len)
{
	struct mta_addr	*a;

	if (mx->naddrs == DNS_ADDRS_PER_HOST || len > sizeof(a->ss))
		return;
	if (sa->sa_family == AF_INET6 && req->family == MTA_FAMILY_INET4)
		return;
	if (sa->sa_family == AF_INET && req->family == MTA_FAMILY_INET6)
		return;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return;
	a = &mx->addrs[mx->naddrs++];
	memcpy(&a->ss, sa, len);
	a->sslen = len;
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(req->port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(req->port);
	strlcpy(a->name, mx->name, sizeof(a->name));
	a->pref = mx->pref;
}

static void
dns_host_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_host			*h = arg;
	struct dns_req			*req = h->req;
	struct dns_mx			*mx = &req->mx[h->i];
	struct ares_addrinfo_node	*node;
	int				 pass;

	mx->status = status;
	if (status == ARES_SUCCESS && res != NULL) {
		/* IPv6 first unless only one family is wanted. */
		for (pass = 0; pass < 2; pass++)
			for (node = res->nodes; node != NULL;
			    node = node->ai_next)
				if ((node->ai_family == AF_INET6) == (pass == 0))
					dns_addr_add(req, mx, node->ai_addr,
					    node->ai_addrlen);
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	free(h);
	if (--req->pending == 0)
		dns_finish(req);
}

static void
dns_hosts(struct dns_req *req)
{
	struct ares_addrinfo_hints	 hints;
	struct dns_host			*h;
	size_t				 i, n = req->nmx;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = req->family == MTA_FAMILY_INET4 ? AF_INET :
	    req->family == MTA_FAMILY_INET6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	req->pending = n;
	for (i = 0; i < n; i++) {
		if ((h = calloc(1, sizeof(*h))) == NULL)
			fatal("calloc");
		h->req = req;
		h->i = i;
		/* The callback may run at once and free req at the last. */
		ares_getaddrinfo(channel, req->mx[i].name, NULL, &hints,
		    dns_host_done, h);
	}
	dns_timer_arm();
}

/* Shuffle hosts of equal preference (RFC 5321 5.1), then sort. */
static void
dns_shuffle(struct dns_req *req)
{
	struct dns_mx	 tmp;
	size_t		 i, j;

	for (i = req->nmx; i > 1; i--) {
		j = arc4random_uniform(i);
		tmp = req->mx[i - 1];
		req->mx[i - 1] = req->mx[j];
		req->mx[j] = tmp;
	}
}

static void
dns_mx_done(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_req		*req = arg;
	struct ares_mx_reply	*mx = NULL, *m;
	char			 err[MTA_REPLY_TEXT_MAX];
	int			 nullmx = 0, others = 0;

	if (status == ARES_SUCCESS &&
	    (status = ares_parse_mx_reply(abuf, alen, &mx)) == ARES_SUCCESS &&
	    mx == NULL)
		status = ARES_ENODATA;
	if (status == ARES_ENOTFOUND) {
		snprintf(err, sizeof(err), "550 5.1.2 domain %.128s not found",
		    req->name);
		req->cb(req->arg, MTA_DNS_PERMFAIL, err, NULL, 0);
		free(req);
		return;
	}
	if (status == ARES_ENODATA) {
		/* No MX: the domain itself, at preference 0. */
		req->implicit = 1;
		strlcpy(req->mx[0].name, req->name, sizeof(req->mx[0].name));
		req->nmx = 1;
		dns_hosts(req);
		return;
	}
	if (status != ARES_SUCCESS) {
		snprintf(err, sizeof(err), "451 4.4.3 cannot find the mail "
		    "hosts of %.128s: %s", req->name, ares_strerror(status));
		req->cb(req->arg, MTA_DNS_TEMPFAIL, err, NULL, 0);
		free(req);
		return;
	}
	for (m = mx; m != NULL; m = m->next) {
		if (m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
			nullmx = 1;
			continue;
		}
		others = 1;
		if (req->nmx == MTA_MX_MAX || strlen(m->host) >=
		    sizeof(req->mx[0].name))
			continue;
		strlcpy(req->mx[req->nmx].name, m->host,
		    sizeof(req->mx[0].name));
		req->mx[req->nmx].pref = m->priority;
		req->nmx++;
	}
	ares_free_data(mx);
	if (nullmx && !others) {
		snprintf(err, sizeof(err), "556 5.1.10 domain %.128s accepts no "
		    "mail (null MX)", req->name);
		req->cb(req->arg, MTA_DNS_NULLMX, err, NULL, 0);
		free(req);
		return;
	}
	if (req->nmx == 0) {
		snprintf(err, sizeof(err), "451 4.4.3 no usable MX for %.128s",
		    req->name);
		req->cb(req->arg, MTA_DNS_TEMPFAIL, err, NULL, 0);
		free(req);
		return;
	}
	dns_shuffle(req);
	dns_hosts(req);
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]": that address, no DNS. */
static int
dns_literal(struct dns_req *req)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 buf[256], *p;
	size_t			 len = strlen(req->name);

	if (req->name[0] != '[' || req->name[len - 1] != ']' ||
	    len - 2 >= sizeof(buf))
		return 0;
	memcpy(buf, req->name + 1, len - 2);
	buf[len - 2] = '\0';
	p = buf;
	req->nmx = 1;
	strlcpy(req->mx[0].name, req->name, sizeof(req->mx[0].name));
	req->mx[0].status = ARES_SUCCESS;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (strncasecmp(p, "IPv6:", 5) == 0 &&
	    inet_pton(AF_INET6, p + 5, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		dns_addr_add(req, &req->mx[0], (struct sockaddr *)&sin6,
		    sizeof(sin6));
	} else if (inet_pton(AF_INET, p, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		dns_addr_add(req, &req->mx[0], (struct sockaddr *)&sin,
		    sizeof(sin));
	} else
		req->mx[0].status = ARES_ENOTFOUND;
	req->implicit = 1;
	dns_finish(req);
	return 1;
}

/*
 * Find the hosts for name: by MX when mx is set, else the name's own
 * addresses (a smarthost).  cb is called once, maybe before this
 * returns.
 */
void
mta_dns_resolve(const char *name, int mx, int family, in_port_t port,
    mta_dns_cb cb, void *arg)
{
	struct dns_req	*req;
	char		 err[MTA_REPLY_TEXT_MAX];

	if ((req = calloc(1, sizeof(*req))) == NULL)
		fatal("calloc");
	req->family = family;
	req->port = port;
	req->cb = cb;
	req->arg = arg;
	if (name[0] == '\0' || strlcpy(req->name, name, sizeof(req->name)) >=
	    sizeof(req->name)) {
		snprintf(err, sizeof(err), "553 5.1.2 bad destination");
		free(req);
		cb(arg, MTA_DNS_PERMFAIL, err, NULL, 0);
		return;
	}
	if (dns_literal(req))
		return;
	if (!mx) {
		req->implicit = 1;
		strlcpy(req->mx[0].name, name, sizeof(req->mx[0].name));
		req->nmx = 1;
		dns_hosts(req);
		return;
	}
	ares_query(channel, name, ns_c_in, ns_t_mx, dns_mx_done, req);
	dns_timer_arm();
}
