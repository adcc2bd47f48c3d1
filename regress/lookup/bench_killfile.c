/*
 * Times the kill file: generates a file of mixed entries in a temporary
 * directory, loads it, then looks up keys of each kind, half of them
 * refused, and reports the time per look-up and the peak RSS.  Not a
 * test: nothing here passes or fails on time.
 *
 *	bench_killfile [-n entries] [-m lookups]
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lookup/lookup.h"

#define POOLSIZE	65536	/* keys per kind, cycled through */
#define KEYMAX		96

enum kind {
	K_SENDER,
	K_DOMAIN,
	K_HOST,
	K_IPV4,
	K_IPV6,
};

/*
 * Of every ten entries, four are sender addresses, two @domains, two
 * host names, one IPv4 and one IPv6; the first of each kind is at the
 * offset given here.
 */
static enum kind
entry_kind(size_t i)
{
	switch (i % 10) {
	case 0: case 1: case 2: case 3:
		return K_SENDER;
	case 4: case 5:
		return K_DOMAIN;
	case 6: case 7:
		return K_HOST;
	case 8:
		return K_IPV4;
	default:
		return K_IPV6;
	}
}

/*
 * Entry i.  Each embeds i, so all are distinct.  The address kinds
 * alternate between single addresses and networks (/24 for IPv4, /48
 * for IPv6), numbered by j.
 */
static void
entry_text(size_t i, char *buf, size_t len)
{
	size_t	 j = i / 20;

	switch (entry_kind(i)) {
	case K_SENDER:
		snprintf(buf, len, "user%zu@mail%zu.example", i, i % 5000);
		break;
	case K_DOMAIN:
		snprintf(buf, len, "@dom%zu.example", i);
		break;
	case K_HOST:
		snprintf(buf, len, "host%zu.dyn%zu.isp.example", i, i % 1000);
		break;
	case K_IPV4:
		if ((i / 10) % 2 == 0)
			snprintf(buf, len, "10.%zu.%zu.%zu", (j >> 16) & 0xff,
			    (j >> 8) & 0xff, j & 0xff);
		else
			snprintf(buf, len, "%zu.%zu.%zu.0/24",
			    100 + ((j >> 16) & 0x3f), (j >> 8) & 0xff,
			    j & 0xff);
		break;
	case K_IPV6:
		if ((i / 10) % 2 == 0)
			snprintf(buf, len, "2001:db8:%zx:%zx::1",
			    (j >> 16) & 0xffff, j & 0xffff);
		else
			snprintf(buf, len, "2a00:%zx:%zx::/48",
			    (j >> 16) & 0xffff, j & 0xffff);
		break;
	}
}

/* A random entry number below n of the given offset in its ten. */
static size_t
pick(size_t n, unsigned int offset)
{
	return (size_t)arc4random_uniform(n / 10) * 10 + offset;
}

static void
sa_set(struct sockaddr_storage *ss, const char *s)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		errx(1, "bad address %s", s);
}

/* A key that is refused (hit) or not, of sender or host kind. */
static void
name_key(enum kind kind, size_t n, int hit, char *buf, size_t len)
{
	size_t	 i;

	if (kind == K_HOST) {
		i = hit ? pick(n, 6 + arc4random_uniform(2)) : n + pick(n, 6);
		snprintf(buf, len, "host%zu.dyn%zu.isp.example", i, i % 1000);
	} else if (!hit) {
		i = n + pick(n, 0);
		snprintf(buf, len, "user%zu@mail%zu.example", i, i % 5000);
	} else if (arc4random_uniform(3) != 0) {
		/* Senders outnumber @domains two to one in the file. */
		i = pick(n, arc4random_uniform(4));
		snprintf(buf, len, "User%zu@Mail%zu.example", i, i % 5000);
	} else {
		i = pick(n, 4 + arc4random_uniform(2));
		snprintf(buf, len, "someone%u@dom%zu.example",
		    arc4random_uniform(1000), i);
	}
}

/*
 * A client address that is refused or not.  Hits land on a listed
 * address or anywhere in a listed network; misses come from ranges the
 * file never uses.
 */
static void
addr_key(enum kind kind, size_t n, int hit, struct sockaddr_storage *ss)
{
	char	 entry[KEYMAX], buf[2 * KEYMAX], *slash;
	size_t	 i;

	if (!hit) {
		if (kind == K_IPV4)
			snprintf(buf, sizeof(buf), "198.18.%u.%u",
			    arc4random_uniform(256), arc4random_uniform(256));
		else
			snprintf(buf, sizeof(buf), "2001:db9::%x:%x",
			    arc4random_uniform(65536),
			    arc4random_uniform(65536));
		sa_set(ss, buf);
		return;
	}
	i = pick(n, kind == K_IPV4 ? 8 : 9);
	entry_text(i, entry, sizeof(entry));
	if ((slash = strchr(entry, '/')) == NULL) {
		sa_set(ss, entry);
		return;
	}
	*slash = '\0';
	if (kind == K_IPV4) {
		/* "a.b.c.0": any last octet. */
		entry[strlen(entry) - 1] = '\0';
		snprintf(buf, sizeof(buf), "%s%u", entry,
		    arc4random_uniform(256));
	} else {
		/* "2a00:a:b::": any interface in any subnet. */
		snprintf(buf, sizeof(buf), "%s%x:%x:%x", entry,
		    arc4random_uniform(65536), arc4random_uniform(65536),
		    arc4random_uniform(65536));
	}
	sa_set(ss, buf);
}

static double
now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "clock_gettime");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
report(const char *what, size_t m, size_t hits, double secs)
{
	printf("lookup %s: %.0f ns/op (%zu of %zu refused)\n", what,
	    secs * 1e9 / m, hits, m);
}

static void
bench_names(const struct killfile *kf, enum kind kind, size_t n, size_t m)
{
	static char	 keys[POOLSIZE][KEYMAX];
	size_t		 k, hits = 0;
	double		 t0;

	/* Even slots hit, odd ones miss. */
	for (k = 0; k < POOLSIZE; k++)
		name_key(kind, n, k % 2 == 0, keys[k], KEYMAX);
	t0 = now();
	if (kind == K_HOST)
		for (k = 0; k < m; k++)
			hits += killfile_has_host(kf, keys[k % POOLSIZE]);
	else
		for (k = 0; k < m; k++)
			hits += killfile_has_sender(kf, keys[k % POOLSIZE]);
	report(kind == K_HOST ? "host" : "sender", m, hits, now() - t0);
}

static void
bench_addrs(const struct killfile *kf, enum kind kind, size_t n, size_t m)
{
	static struct sockaddr_storage	 sas[POOLSIZE];
	size_t				 k, hits = 0;
	double				 t0;

	for (k = 0; k < POOLSIZE; k++)
		addr_key(kind, n, k % 2 == 0, &sas[k]);
	t0 = now();
	for (k = 0; k < m; k++)
		hits += killfile_has_addr(kf,
		    (struct sockaddr *)&sas[k % POOLSIZE]);
	report(kind == K_IPV4 ? "ipv4" : "ipv6", m, hits, now() - t0);
}

static size_t
count_arg(const char *s, const char *what)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, 10, LLONG_MAX, &errstr);
	if (errstr != NULL)
		errx(1, "%s %s: %s", what, s, errstr);
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_killfile [-n entries] [-m lookups]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct killfile	*kf;
	struct rusage	 ru;
	FILE		*fp;
	char		 dir[] = "/tmp/bench_killfile.XXXXXX", path[PATH_MAX];
	char		 entry[KEYMAX], errbuf[512];
	size_t		 n = 1000000, m = 1000000, i;
	double		 t0;
	int		 ch;

	while ((ch = getopt(argc, argv, "m:n:")) != -1) {
		switch (ch) {
		case 'm':
			m = count_arg(optarg, "lookups");
			break;
		case 'n':
			n = count_arg(optarg, "entries");
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();

	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(path, sizeof(path), "%s/killfile", dir);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	for (i = 0; i < n; i++) {
		entry_text(i, entry, sizeof(entry));
		fprintf(fp, "%s\n", entry);
	}
	if (fclose(fp) == EOF)
		err(1, "%s", path);

	if ((kf = killfile_new()) == NULL)
		err(1, "killfile_new");
	t0 = now();
	if (killfile_load(kf, path, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	printf("load %zu entries: %.3f s\n", n, now() - t0);
	if (killfile_count(kf) != n)
		printf("warning: %zu distinct entries\n", killfile_count(kf));
	unlink(path);
	rmdir(dir);

	bench_names(kf, K_SENDER, n, m);
	bench_names(kf, K_HOST, n, m);
	bench_addrs(kf, K_IPV4, n, m);
	bench_addrs(kf, K_IPV6, n, m);

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		err(1, "getrusage");
	printf("peak RSS: %.1f MB\n", ru.ru_maxrss / 1024.0);
	killfile_free(kf);
	return 0;
}
