/*
 * The pure part of the auth process: checking passwords against a
 * credentials table (inline and file, both line forms, every accepted
 * hash kind, the refused ones, the length limits) and the failure
 * limiter, per network and per user, with time passed in.  Hashes are
 * made here with libxcrypt, so nothing depends on fixed test vectors.
 */
#include <sys/types.h>

#include <atf-c.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtpd/smtpd.h"
#include "smtpd/auth_creds.h"

#define T0	1000000		/* any start time will do */

/* A crypt(3) hash of password, of the kind prefix selects. */
static void
make_hash(const char *prefix, unsigned long count, const char *password,
    char *out, size_t outlen)
{
	struct crypt_data	*cd;
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;

	ATF_REQUIRE((cd = calloc(1, sizeof(*cd))) != NULL);
	if (crypt_gensalt_rn(prefix, count, NULL, 0, setting,
	    sizeof(setting)) == NULL)
		atf_tc_fail("crypt_gensalt_rn \"%s\" failed", prefix);
	if ((h = crypt_rn(password, setting, cd, sizeof(*cd))) == NULL)
		atf_tc_fail("crypt_rn \"%s\" failed", prefix);
	ATF_REQUIRE(strlcpy(out, h, outlen) < outlen);
	free(cd);
}

/* Whether crypt itself takes password for hash (the test's premise). */
static int
crypt_accepts(const char *password, const char *hash)
{
	struct crypt_data	*cd;
	const char		*h;
	int			 r;

	ATF_REQUIRE((cd = calloc(1, sizeof(*cd))) != NULL);
	h = crypt_rn(password, hash, cd, sizeof(*cd));
	r = h != NULL && strcmp(h, hash) == 0;
	free(cd);
	return r;
}

static struct table *
static_table(void)
{
	struct table	*t;

	ATF_REQUIRE((t = table_create("creds", TABLE_STATIC, NULL)) != NULL);
	return t;
}

static void
add(struct table *t, const char *key, const char *value)
{
	ATF_REQUIRE(table_add(t, key, value) == 0);
}

static void
add_colon(struct table *t, const char *user, const char *hash)
{
	char	 key[1024];

	ATF_REQUIRE((size_t)snprintf(key, sizeof(key), "%s:%s", user, hash) <
	    sizeof(key));
	add(t, key, NULL);
}

static void
check_kind(const char *prefix, unsigned long count)
{
	struct table	*t = static_table();
	char		 h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE];

	make_hash(prefix, count, "correct horse", h1, sizeof(h1));
	make_hash(prefix, count, "battery staple", h2, sizeof(h2));
	ATF_REQUIRE(strncmp(h1, prefix, strlen(prefix)) == 0);
	add(t, "alice", h1);
	add_colon(t, "bob", h2);
	ATF_CHECK_MSG(creds_hash_usable(h1), "%s not usable", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "alice", "correct horse"), AUTH_OK,
	    "%s: right password (key value)", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "bob", "battery staple"), AUTH_OK,
	    "%s: right password (user:hash)", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "alice", "correct horsE"), AUTH_FAIL,
	    "%s: wrong password", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "alice", "battery staple"),
	    AUTH_FAIL, "%s: another user's password", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "bob", "correct horse"), AUTH_FAIL,
	    "%s: another user's password (user:hash)", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "carol", "correct horse"), AUTH_FAIL,
	    "%s: unknown user", prefix);
	ATF_CHECK_EQ_MSG(creds_verify(t, "Alice", "correct horse"), AUTH_FAIL,
	    "%s: user names are exact", prefix);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(kinds_accepted);
ATF_TC_BODY(kinds_accepted, tc)
{
	check_kind("$2b$", 4);
	check_kind("$2y$", 4);
	check_kind("$y$", 0);
	check_kind("$6$", 0);
	check_kind("$5$", 0);
}

ATF_TC_WITHOUT_HEAD(file_both_line_forms);
ATF_TC_BODY(file_both_line_forms, tc)
{
	struct table	*t;
	FILE		*fp;
	char		 h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE];
	char		 err[256] = "";

	make_hash("$6$", 0, "pw-of-dave", h1, sizeof(h1));
	make_hash("$y$", 0, "pw-of-erin", h2, sizeof(h2));
	ATF_REQUIRE((fp = fopen("creds", "w")) != NULL);
	fprintf(fp, "# credentials\n\ndave\t%s\n  erin:%s  # comment\n",
	    h1, h2);
	ATF_REQUIRE(fclose(fp) == 0);
	ATF_REQUIRE((t = table_create("creds", TABLE_FILE, "creds")) != NULL);
	if (table_load(t, err, sizeof(err)) == -1)
		atf_tc_fail("table_load: %s", err);

	ATF_CHECK_EQ(creds_verify(t, "dave", "pw-of-dave"), AUTH_OK);
	ATF_CHECK_EQ(creds_verify(t, "erin", "pw-of-erin"), AUTH_OK);
	ATF_CHECK_EQ(creds_verify(t, "dave", "pw-of-erin"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "erin", "pw-of-dave"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "frank", "pw-of-dave"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_check(t, NULL, NULL), 2);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(kinds_refused);
ATF_TC_BODY(kinds_refused, tc)
{
	struct table	*t = static_table();
	char		 des[CRYPT_OUTPUT_SIZE], md5[CRYPT_OUTPUT_SIZE];
	char		 good[CRYPT_OUTPUT_SIZE], locked[CRYPT_OUTPUT_SIZE + 1];
	const char	*pw = "secret";

	make_hash("", 0, pw, des, sizeof(des));		/* traditional DES */
	make_hash("$1$", 0, pw, md5, sizeof(md5));
	make_hash("$6$", 0, pw, good, sizeof(good));
	snprintf(locked, sizeof(locked), "!%s", good);
	/* crypt would take them: only the kind check stands in the way. */
	ATF_REQUIRE(crypt_accepts(pw, des));
	ATF_REQUIRE(crypt_accepts(pw, md5));

	add(t, "des", des);
	add_colon(t, "md5", md5);
	add(t, "star", "*");
	add(t, "bang", "!");
	add(t, "locked", locked);
	add(t, "nohash", NULL);
	add(t, "emptyhash:", NULL);
	add(t, "good", good);

	ATF_CHECK(!creds_hash_usable(des));
	ATF_CHECK(!creds_hash_usable(md5));
	ATF_CHECK(!creds_hash_usable("*"));
	ATF_CHECK(!creds_hash_usable("!"));
	ATF_CHECK(!creds_hash_usable(locked));
	ATF_CHECK(!creds_hash_usable(""));
	ATF_CHECK(!creds_hash_usable("$6$"));
	ATF_CHECK(creds_hash_usable(good));

	ATF_CHECK_EQ(creds_verify(t, "des", pw), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "md5", pw), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "star", "*"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "bang", "!"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "locked", pw), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "nohash", pw), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "emptyhash", pw), AUTH_FAIL);
	/* The same password on an accepted hash does work. */
	ATF_CHECK_EQ(creds_verify(t, "good", pw), AUTH_OK);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(lengths);
ATF_TC_BODY(lengths, tc)
{
	struct table	*t = static_table();
	char		 h[CRYPT_OUTPUT_SIZE];
	char		 user[AUTH_USER_MAX + 2];
	char		 pw[AUTH_PASSWORD_MAX + 2];

	make_hash("$5$", 0, "pw", h, sizeof(h));
	memset(user, 'u', sizeof(user));
	user[AUTH_USER_MAX] = '\0';
	add(t, user, h);			/* 255: the longest allowed */
	ATF_CHECK_EQ(creds_verify(t, user, "pw"), AUTH_OK);
	user[AUTH_USER_MAX] = 'u';
	user[AUTH_USER_MAX + 1] = '\0';
	add(t, user, h);			/* 256: one too many */
	ATF_CHECK_EQ(creds_verify(t, user, "pw"), AUTH_FAIL);

	/*
	 * bcrypt reads the first 72 bytes only, so a long password whose
	 * start is right matches.  libxcrypt refuses phrases of 512 bytes
	 * or more by itself; past AUTH_PASSWORD_MAX this code refuses too.
	 */
	memset(pw, 'p', sizeof(pw));
	pw[72] = '\0';
	make_hash("$2b$", 4, pw, h, sizeof(h));
	add(t, "long", h);
	pw[72] = 'p';
	pw[511] = '\0';
	ATF_CHECK_EQ(creds_verify(t, "long", pw), AUTH_OK);
	pw[511] = 'p';
	pw[AUTH_PASSWORD_MAX + 1] = '\0';
	ATF_CHECK_EQ(creds_verify(t, "long", pw), AUTH_FAIL);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(empty_inputs);
ATF_TC_BODY(empty_inputs, tc)
{
	struct table	*t = static_table();
	char		 h[CRYPT_OUTPUT_SIZE], hp[CRYPT_OUTPUT_SIZE];

	/* A hash of the empty password is still no way in. */
	make_hash("$6$", 0, "", h, sizeof(h));
	ATF_REQUIRE(crypt_accepts("", h));
	add(t, "alice", h);
	ATF_CHECK_EQ(creds_verify(t, "alice", ""), AUTH_FAIL);
	/* Nor is an entry with an empty user part. */
	make_hash("$6$", 0, "pw", hp, sizeof(hp));
	add_colon(t, "", hp);
	ATF_CHECK_EQ(creds_verify(t, "", "pw"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "alice", NULL), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, NULL, "pw"), AUTH_FAIL);
	table_free(t);
}

/* A user named twice is refused, whichever password is given. */
ATF_TC_WITHOUT_HEAD(duplicate_user_refused);
ATF_TC_BODY(duplicate_user_refused, tc)
{
	struct table	*t = static_table();
	char		 h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE];

	make_hash("$5$", 0, "one", h1, sizeof(h1));
	make_hash("$5$", 0, "two", h2, sizeof(h2));
	add_colon(t, "ann", h1);
	add_colon(t, "ann", h2);
	add(t, "ben", h1);
	add_colon(t, "ben", h2);
	add_colon(t, "cy", h1);
	ATF_CHECK_EQ(creds_verify(t, "ann", "one"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "ann", "two"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "ben", "one"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "ben", "two"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "cy", "one"), AUTH_OK);
	table_free(t);
}

/* "a:b hash" is a user named "a:b", and such names are refused. */
ATF_TC_WITHOUT_HEAD(colon_in_user_refused);
ATF_TC_BODY(colon_in_user_refused, tc)
{
	struct table	*t = static_table();
	char		 h[CRYPT_OUTPUT_SIZE];

	make_hash("$5$", 0, "pw", h, sizeof(h));
	add(t, "a:b", h);
	add(t, "c:!", h);	/* '!' sorts before the '$' of a hash */
	add_colon(t, "c", h);
	ATF_CHECK_EQ(creds_verify(t, "a:b", "pw"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "a", "pw"), AUTH_FAIL);
	ATF_CHECK_EQ(creds_verify(t, "c:!", "pw"), AUTH_FAIL);
	/* The "c:!" entry does not hide the real "c:hash" after it. */
	ATF_CHECK_EQ(creds_verify(t, "c", "pw"), AUTH_OK);
	table_free(t);
}

struct report {
	char			 names[16][AUTH_USER_MAX + 1];
	enum creds_problem	 problems[16];
	int			 n;
};

static void
record(const char *user, enum creds_problem problem, void *arg)
{
	struct report	*r = arg;

	ATF_REQUIRE(r->n < 16);
	strlcpy(r->names[r->n], user, sizeof(r->names[r->n]));
	r->problems[r->n++] = problem;
}

static int
reported(struct report *r, const char *user, enum creds_problem problem)
{
	int	 i, n = 0;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->names[i], user) == 0 &&
		    r->problems[i] == problem)
			n++;
	return n;
}

/* Each unusable user is named once, never with its hash. */
ATF_TC_WITHOUT_HEAD(check_reports_users);
ATF_TC_BODY(check_reports_users, tc)
{
	struct table	*t = static_table();
	struct report	 r;
	char		 h[CRYPT_OUTPUT_SIZE], md5[CRYPT_OUTPUT_SIZE];
	int		 i;

	memset(&r, 0, sizeof(r));
	make_hash("$5$", 0, "pw", h, sizeof(h));
	make_hash("$1$", 0, "pw", md5, sizeof(md5));
	add(t, "ok1", h);
	add_colon(t, "ok2", h);
	add_colon(t, "old", md5);
	add(t, "star", "*");
	add_colon(t, "twice", h);
	add_colon(t, "twice", md5);
	add(t, "a:b", h);
	ATF_CHECK_EQ(creds_check(t, record, &r), 2);
	ATF_CHECK_EQ(reported(&r, "old", CREDS_BAD_HASH), 1);
	ATF_CHECK_EQ(reported(&r, "star", CREDS_BAD_HASH), 1);
	ATF_CHECK_EQ(reported(&r, "twice", CREDS_DUPLICATE), 1);
	ATF_CHECK_EQ(reported(&r, "a", CREDS_BAD_USER), 1);
	ATF_CHECK_EQ(r.n, 4);
	for (i = 0; i < r.n; i++)
		ATF_CHECK_MSG(strchr(r.names[i], '$') == NULL &&
		    strchr(r.names[i], ':') == NULL, "reported \"%s\"",
		    r.names[i]);
	table_free(t);
}

static double
elapsed(struct table *t, const char *user, const char *pw)
{
	struct timespec	 a, b;
	double		 best = 1e9, d;
	int		 i;

	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		ATF_CHECK_EQ(creds_verify(t, user, pw), AUTH_FAIL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		d = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		if (d < best)
			best = d;
	}
	return best;
}

/*
 * An unknown user costs about what a known one with a wrong password
 * does.  The bound is loose (a quarter) so a busy machine passes; a
 * check that skipped crypt for unknown users would be far below it.
 */
ATF_TC_WITHOUT_HEAD(unknown_user_costs_the_same);
ATF_TC_BODY(unknown_user_costs_the_same, tc)
{
	struct table	*t = static_table();
	char		 h[CRYPT_OUTPUT_SIZE];
	double		 known, unknown;

	make_hash("$2b$", 10, "pw", h, sizeof(h));
	add(t, "alice", h);
	ATF_REQUIRE(creds_init(t) == 0);
	known = elapsed(t, "alice", "wrong");
	unknown = elapsed(t, "nobody", "wrong");
	ATF_CHECK_MSG(unknown > known / 4, "known %.4fs, unknown %.4fs",
	    known, unknown);
	ATF_REQUIRE(creds_init(NULL) == 0);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(limiter_blocks_network_at_max);
ATF_TC_BODY(limiter_blocks_network_at_max, tc)
{
	struct auth_limiter	*l;

	ATF_REQUIRE((l = limiter_new(3, 100, 0, 0)) != NULL);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.7", "u1", T0), LIMITER_OK);
	/* A different user each time: the network's count goes up. */
	limiter_failure(l, "192.0.2.7", "u1", T0);
	limiter_failure(l, "192.0.2.7", "u2", T0 + 1);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.7", "u3", T0 + 2),
	    LIMITER_OK);
	limiter_failure(l, "192.0.2.7", "u3", T0 + 2);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.7", "u4", T0 + 3),
	    LIMITER_NETWORK);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.8", "u1", T0 + 3),
	    LIMITER_OK);
	ATF_CHECK_EQ(limiter_blocked(l, "2001:db8::7", "u1", T0 + 3),
	    LIMITER_OK);
	ATF_CHECK_EQ(limiter_net_failures(l, "192.0.2.7", T0 + 3), 3);
	ATF_CHECK_EQ(limiter_user_failures(l, "u1", T0 + 3), 1);
	limiter_free(l);
	ATF_CHECK(limiter_new(0, 3, 0, 0) == NULL);
	ATF_CHECK(limiter_new(3, 0, 0, 0) == NULL);
	ATF_CHECK(limiter_new(3, 3, -1, 0) == NULL);
}

ATF_TC_WITHOUT_HEAD(limiter_network_text);
ATF_TC_BODY(limiter_network_text, tc)
{
	static const struct {
		const char	*addr;
		const char	*net;
	} cases[] = {
		{ "192.0.2.7", "192.0.2.7" },
		{ "::ffff:192.0.2.7", "192.0.2.7" },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2::", "2001:db8:1:2::/64" },
		{ "2001:db8::1", "2001:db8::/64" },
		{ "::1", "::/64" },
		{ "fe80::1%eth0", "fe80::/64" },
		{ "local", "local" },
	};
	char	 buf[ADDR_NETWORK_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ATF_REQUIRE(addr_network(cases[i].addr, buf,
		    sizeof(buf)) == 0);
		ATF_CHECK_STREQ_MSG(buf, cases[i].net, "%s", cases[i].addr);
	}
	ATF_CHECK(addr_network("2001:db8:1:2::1", buf, 10) == -1);
}

/* The addresses of one /64 share a count; the next /64 has its own. */
ATF_TC_WITHOUT_HEAD(limiter_counts_ipv6_per_64);
ATF_TC_BODY(limiter_counts_ipv6_per_64, tc)
{
	struct auth_limiter	*l;

	ATF_REQUIRE((l = limiter_new(3, 100, 0, 0)) != NULL);
	limiter_failure(l, "2001:db8:1:2::1", "u1", T0);
	limiter_failure(l, "2001:db8:1:2:ffff::9", "u2", T0);
	limiter_failure(l, "2001:db8:1:2:a:b:c:d", "u3", T0);
	ATF_CHECK_EQ(limiter_blocked(l, "2001:db8:1:2::42", "u4", T0),
	    LIMITER_NETWORK);
	ATF_CHECK_EQ(limiter_net_failures(l, "2001:db8:1:2::77", T0), 3);
	ATF_CHECK_EQ(limiter_blocked(l, "2001:db8:1:3::1", "u4", T0),
	    LIMITER_OK);
	ATF_CHECK_EQ(limiter_blocked(l, "2001:db8:1::1", "u4", T0),
	    LIMITER_OK);
	/* An IPv4 client seen through an IPv6 socket is still itself. */
	limiter_failure(l, "192.0.2.7", "u1", T0);
	limiter_failure(l, "::ffff:192.0.2.7", "u2", T0);
	ATF_CHECK_EQ(limiter_net_failures(l, "192.0.2.7", T0), 2);
	limiter_free(l);
}

/* Guesses at one user from many networks are counted together. */
ATF_TC_WITHOUT_HEAD(limiter_blocks_user_at_max);
ATF_TC_BODY(limiter_blocks_user_at_max, tc)
{
	struct auth_limiter	*l;

	ATF_REQUIRE((l = limiter_new(100, 3, 0, 0)) != NULL);
	limiter_failure(l, "192.0.2.1", "bob", T0);
	limiter_failure(l, "198.51.100.1", "bob", T0);
	ATF_CHECK_EQ(limiter_blocked(l, "203.0.113.1", "bob", T0),
	    LIMITER_OK);
	limiter_failure(l, "2001:db8::1", "bob", T0);
	ATF_CHECK_EQ(limiter_blocked(l, "203.0.113.1", "bob", T0),
	    LIMITER_USER);
	ATF_CHECK_EQ(limiter_user_failures(l, "bob", T0), 3);
	/* Others from the same networks are not held back. */
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.1", "alice", T0),
	    LIMITER_OK);
	/* The network's limit is told first. */
	limiter_free(l);
	ATF_REQUIRE((l = limiter_new(2, 2, 0, 0)) != NULL);
	limiter_failure(l, "192.0.2.1", "bob", T0);
	limiter_failure(l, "192.0.2.1", "bob", T0);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.1", "bob", T0),
	    LIMITER_NETWORK);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.2", "bob", T0),
	    LIMITER_USER);
	limiter_free(l);
}

ATF_TC_WITHOUT_HEAD(limiter_window_ends);
ATF_TC_BODY(limiter_window_ends, tc)
{
	struct auth_limiter	*l;
	const char		*a = "192.0.2.7";

	ATF_REQUIRE((l = limiter_new(3, 3, 0, 0)) != NULL);
	/* Counted from the first failure, not the last. */
	limiter_failure(l, a, "bob", T0);
	limiter_failure(l, a, "bob", T0 + 600);
	limiter_failure(l, a, "bob", T0 + AUTH_WINDOW - 1);
	ATF_CHECK_EQ(limiter_blocked(l, a, "bob", T0 + AUTH_WINDOW - 1),
	    LIMITER_NETWORK);
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.8", "bob",
	    T0 + AUTH_WINDOW - 1), LIMITER_USER);
	ATF_CHECK_EQ(limiter_blocked(l, a, "bob", T0 + AUTH_WINDOW),
	    LIMITER_OK);
	ATF_CHECK_EQ(limiter_net_failures(l, a, T0 + AUTH_WINDOW), 0);
	ATF_CHECK_EQ(limiter_user_failures(l, "bob", T0 + AUTH_WINDOW), 0);
	/* A new run starts from scratch. */
	limiter_failure(l, a, "bob", T0 + AUTH_WINDOW + 10);
	ATF_CHECK_EQ(limiter_net_failures(l, a, T0 + AUTH_WINDOW + 10), 1);
	ATF_CHECK_EQ(limiter_blocked(l, a, "bob", T0 + AUTH_WINDOW + 10),
	    LIMITER_OK);
	limiter_free(l);
}

/*
 * A client with an account of its own logs in between its guesses at
 * another: the network's count and the other user's go on.
 */
ATF_TC_WITHOUT_HEAD(limiter_success_clears_only_its_user);
ATF_TC_BODY(limiter_success_clears_only_its_user, tc)
{
	struct auth_limiter	*l;
	const char		*a = "2001:db8::1";
	int			 i;

	ATF_REQUIRE((l = limiter_new(3, 10, 0, 0)) != NULL);
	for (i = 0; i < 3; i++) {
		ATF_CHECK_EQ(limiter_blocked(l, a, "bob", T0), LIMITER_OK);
		limiter_failure(l, a, "bob", T0);
		limiter_success(l, "alice");
	}
	ATF_CHECK_EQ(limiter_net_failures(l, a, T0), 3);
	ATF_CHECK_EQ(limiter_user_failures(l, "bob", T0), 3);
	ATF_CHECK_EQ(limiter_blocked(l, a, "bob", T0), LIMITER_NETWORK);
	ATF_CHECK_EQ(limiter_blocked(l, a, "alice", T0), LIMITER_NETWORK);
	limiter_free(l);

	/* The user's own success clears its count, and only that. */
	ATF_REQUIRE((l = limiter_new(10, 10, 0, 0)) != NULL);
	limiter_failure(l, "192.0.2.1", "alice", T0);
	limiter_failure(l, "192.0.2.1", "bob", T0);
	limiter_failure(l, "192.0.2.1", "alice", T0);
	limiter_success(l, "alice");
	ATF_CHECK_EQ(limiter_user_failures(l, "alice", T0), 0);
	ATF_CHECK_EQ(limiter_user_failures(l, "bob", T0), 1);
	ATF_CHECK_EQ(limiter_net_failures(l, "192.0.2.1", T0), 3);
	limiter_free(l);
}

ATF_TC_WITHOUT_HEAD(limiter_delay_grows_and_caps);
ATF_TC_BODY(limiter_delay_grows_and_caps, tc)
{
	struct auth_limiter	*l;
	int			 i;

	ATF_REQUIRE((l = limiter_new(100, 100, 2, 0)) != NULL);
	for (i = 1; i <= 8; i++)
		ATF_CHECK_EQ_MSG(limiter_failure(l, "192.0.2.7", "bob", T0),
		    2 * (i < AUTH_DELAY_STEPS ? i : AUTH_DELAY_STEPS),
		    "failure %d", i);
	/* Per network and user: a fresh pair starts low... */
	ATF_CHECK_EQ(limiter_failure(l, "192.0.2.8", "alice", T0), 2);
	/* ...and the larger count of the two sets the delay. */
	ATF_CHECK_EQ(limiter_failure(l, "192.0.2.9", "bob", T0),
	    2 * AUTH_DELAY_STEPS);
	limiter_free(l);

	ATF_REQUIRE((l = limiter_new(100, 100, 0, 0)) != NULL);
	for (i = 1; i <= 8; i++)
		ATF_CHECK_EQ(limiter_failure(l, "192.0.2.7", "bob", T0), 0);
	limiter_free(l);
}

ATF_TC_WITHOUT_HEAD(limiter_bounded);
ATF_TC_BODY(limiter_bounded, tc)
{
	struct auth_limiter	*l;
	char			 a[64], u[64];
	int			 i;

	ATF_REQUIRE((l = limiter_new(3, 3, 0, 100)) != NULL);
	for (i = 0; i < 1000; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i / 256, i % 256);
		snprintf(u, sizeof(u), "user%d", i);
		ATF_REQUIRE(limiter_failure(l, a, u, T0 + i / 10) >= 0);
		ATF_REQUIRE(limiter_count(l) <= 200);
	}
	ATF_CHECK_EQ(limiter_count(l), 200);
	ATF_CHECK_EQ(limiter_net_failures(l, a, T0 + 100), 1);	/* newest */
	ATF_CHECK_EQ(limiter_net_failures(l, "10.0.0.0", T0 + 100), 0);
	ATF_CHECK_EQ(limiter_user_failures(l, u, T0 + 100), 1);
	ATF_CHECK_EQ(limiter_user_failures(l, "user0", T0 + 100), 0);
	limiter_free(l);

	/* The default bound, for each kind. */
	ATF_REQUIRE((l = limiter_new(3, 3, 0, 0)) != NULL);
	for (i = 0; i < AUTH_LIMITER_MAX + 50; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::1", i / 65536,
		    i % 65536);
		snprintf(u, sizeof(u), "user%d", i);
		ATF_REQUIRE(limiter_failure(l, a, u, T0) >= 0);
	}
	ATF_CHECK_EQ(limiter_count(l), 2 * AUTH_LIMITER_MAX);
	ATF_CHECK_EQ(limiter_net_failures(l, a, T0), 1);
	limiter_free(l);
}

/*
 * The stalest goes first: a network that keeps failing stays, and user
 * names, however many, never push a network out.
 */
ATF_TC_WITHOUT_HEAD(limiter_evicts_stalest);
ATF_TC_BODY(limiter_evicts_stalest, tc)
{
	struct auth_limiter	*l;
	char			 a[64], u[64];
	int			 i;

	ATF_REQUIRE((l = limiter_new(3, 100, 0, 10)) != NULL);
	for (i = 0; i < 50; i++) {
		limiter_failure(l, "192.0.2.1", "bob", T0);
		snprintf(a, sizeof(a), "10.0.0.%d", i);
		limiter_failure(l, a, "bob", T0);
	}
	ATF_CHECK_EQ(limiter_blocked(l, "192.0.2.1", "bob", T0),
	    LIMITER_NETWORK);
	ATF_CHECK_EQ(limiter_net_failures(l, "10.0.0.0", T0), 0);
	limiter_free(l);

	ATF_REQUIRE((l = limiter_new(3, 100, 0, 10)) != NULL);
	limiter_failure(l, "192.0.2.1", "bob", T0);
	limiter_failure(l, "192.0.2.1", "bob", T0);
	for (i = 0; i < 50; i++) {
		snprintf(u, sizeof(u), "user%d", i);
		limiter_failure(l, "198.51.100.1", u, T0);
	}
	ATF_CHECK_EQ(limiter_net_failures(l, "192.0.2.1", T0), 2);
	ATF_CHECK_EQ(limiter_count(l), 2 + 10);
	limiter_free(l);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, kinds_accepted);
	ATF_TP_ADD_TC(tp, file_both_line_forms);
	ATF_TP_ADD_TC(tp, kinds_refused);
	ATF_TP_ADD_TC(tp, lengths);
	ATF_TP_ADD_TC(tp, empty_inputs);
	ATF_TP_ADD_TC(tp, duplicate_user_refused);
	ATF_TP_ADD_TC(tp, colon_in_user_refused);
	ATF_TP_ADD_TC(tp, check_reports_users);
	ATF_TP_ADD_TC(tp, unknown_user_costs_the_same);
	ATF_TP_ADD_TC(tp, limiter_blocks_network_at_max);
	ATF_TP_ADD_TC(tp, limiter_network_text);
	ATF_TP_ADD_TC(tp, limiter_counts_ipv6_per_64);
	ATF_TP_ADD_TC(tp, limiter_blocks_user_at_max);
	ATF_TP_ADD_TC(tp, limiter_window_ends);
	ATF_TP_ADD_TC(tp, limiter_success_clears_only_its_user);
	ATF_TP_ADD_TC(tp, limiter_delay_grows_and_caps);
	ATF_TP_ADD_TC(tp, limiter_bounded);
	ATF_TP_ADD_TC(tp, limiter_evicts_stalest);
	return 0;
}
