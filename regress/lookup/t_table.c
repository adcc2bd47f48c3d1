/*
 * Tables: inline keys and values, files of entries, CIDR networks for
 * address lookups, the loopback test and reloading.  File cases write
 * their files in the working directory atf gives each case.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <atf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/lookup.h"

#define BIGCOUNT	100000

static struct table *
table_static(const char *name)
{
	struct table	*t;

	t = table_create(name, TABLE_STATIC, NULL);
	ATF_REQUIRE(t != NULL);
	return t;
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) != EOF);
	ATF_REQUIRE(fclose(fp) == 0);
}

/* A file table loaded from text; the load must succeed. */
static struct table *
table_from_text(const char *path, const char *text)
{
	struct table	*t;
	char		 err[256] = "";

	write_file(path, text);
	t = table_create("file", TABLE_FILE, path);
	ATF_REQUIRE(t != NULL);
	if (table_load(t, err, sizeof(err)) != 0)
		atf_tc_fail("table_load %s: %s", path, err);
	return t;
}

/* A sockaddr of either family from its text form. */
static struct sockaddr_storage
sa_make(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		atf_tc_fail("bad address in test: %s", s);
	return ss;
}

static int
has_addr(struct table *t, const char *s)
{
	struct sockaddr_storage	 ss = sa_make(s);

	return table_has_addr(t, (struct sockaddr *)&ss);
}

static int
loopback(const char *s)
{
	struct sockaddr_storage	 ss = sa_make(s);

	return addr_is_loopback((struct sockaddr *)&ss);
}

/* A table holding just one network. */
static struct table *
table_net(const char *net)
{
	struct table	*t = table_static("nets");

	ATF_REQUIRE(table_add(t, net, NULL) == 0);
	return t;
}

ATF_TC_WITHOUT_HEAD(inline_keys_found_absent_not);
ATF_TC_BODY(inline_keys_found_absent_not, tc)
{
	struct table	*t = table_static("users");

	ATF_REQUIRE(table_add(t, "alice", NULL) == 0);
	ATF_REQUIRE(table_add(t, "bob", NULL) == 0);
	ATF_CHECK(table_has(t, "alice"));
	ATF_CHECK(table_has(t, "bob"));
	ATF_CHECK(!table_has(t, "carol"));
	ATF_CHECK(!table_has(t, "alic"));
	ATF_CHECK(!table_has(t, "alice "));
	ATF_CHECK(!table_has(t, "Alice"));
	ATF_CHECK(!table_has(t, ""));
	ATF_CHECK_EQ(t->count, 2);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(empty_key_refused);
ATF_TC_BODY(empty_key_refused, tc)
{
	struct table	*t = table_static("users");

	ATF_CHECK_EQ(table_add(t, "", NULL), -1);
	ATF_CHECK_EQ(t->count, 0);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(value_returned_plain_key_empty);
ATF_TC_BODY(value_returned_plain_key_empty, tc)
{
	struct table	*t = table_static("aliases");

	ATF_REQUIRE(table_add(t, "root", "alice") == 0);
	ATF_REQUIRE(table_add(t, "plain", NULL) == 0);
	ATF_REQUIRE(table_get(t, "root") != NULL);
	ATF_CHECK_STREQ(table_get(t, "root"), "alice");
	ATF_REQUIRE(table_get(t, "plain") != NULL);
	ATF_CHECK_STREQ(table_get(t, "plain"), "");
	ATF_CHECK(table_get(t, "nobody") == NULL);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(repeated_key_last_value_wins);
ATF_TC_BODY(repeated_key_last_value_wins, tc)
{
	struct table	*t = table_static("aliases");

	ATF_REQUIRE(table_add(t, "root", "alice") == 0);
	ATF_REQUIRE(table_add(t, "root", "bob") == 0);
	ATF_REQUIRE(table_add(t, "root", "carol") == 0);
	ATF_REQUIRE(table_get(t, "root") != NULL);
	ATF_CHECK_STREQ(table_get(t, "root"), "carol");
	ATF_CHECK_EQ(t->count, 1);
	/* A later plain key takes the value away. */
	ATF_REQUIRE(table_add(t, "root", NULL) == 0);
	ATF_REQUIRE(table_get(t, "root") != NULL);
	ATF_CHECK_STREQ(table_get(t, "root"), "");
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(file_comments_blanks_spaces);
ATF_TC_BODY(file_comments_blanks_spaces, tc)
{
	struct table	*t;

	t = table_from_text("aliases",
	    "# a comment line\n"
	    "\n"
	    "   \t \n"
	    "root alice\n"
	    "  \tpostmaster\t  root  \t\n"
	    "abuse   # only a comment after the key\n"
	    "info  Info Desk <info@example.org>  \n"
	    "dup first\n"
	    "dup second # the last value wins\n"
	    "#hidden value\n"
	    "last-no-newline value");
	ATF_CHECK_EQ(t->count, 6);
	ATF_REQUIRE(table_get(t, "root") != NULL);
	ATF_CHECK_STREQ(table_get(t, "root"), "alice");
	ATF_REQUIRE(table_get(t, "postmaster") != NULL);
	ATF_CHECK_STREQ(table_get(t, "postmaster"), "root");
	ATF_REQUIRE(table_get(t, "abuse") != NULL);
	ATF_CHECK_STREQ(table_get(t, "abuse"), "");
	ATF_REQUIRE(table_get(t, "info") != NULL);
	ATF_CHECK_STREQ(table_get(t, "info"), "Info Desk <info@example.org>");
	ATF_REQUIRE(table_get(t, "dup") != NULL);
	ATF_CHECK_STREQ(table_get(t, "dup"), "second");
	ATF_REQUIRE(table_get(t, "last-no-newline") != NULL);
	ATF_CHECK_STREQ(table_get(t, "last-no-newline"), "value");
	ATF_CHECK(!table_has(t, "#hidden"));
	ATF_CHECK(!table_has(t, "hidden"));
	ATF_CHECK(!table_has(t, "#"));
	ATF_CHECK(!table_has(t, ""));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(file_missing_error_names_path);
ATF_TC_BODY(file_missing_error_names_path, tc)
{
	struct table	*t;
	char		 err[256] = "";
	const char	*path = "no/such/table-file";

	t = table_create("missing", TABLE_FILE, path);
	ATF_REQUIRE(t != NULL);
	ATF_CHECK_EQ(table_load(t, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, path) != NULL, "error \"%s\" lacks path",
	    err);
	ATF_CHECK_MSG(strstr(err, "No such file") != NULL,
	    "error \"%s\" lacks reason", err);
	ATF_CHECK_EQ(t->count, 0);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(file_with_nul_refused);
ATF_TC_BODY(file_with_nul_refused, tc)
{
	static const char text[] = "alice one\nbob two\0|/bin/sh\ncarol\n";
	struct table	*t;
	FILE		*fp;
	char		 err[256] = "";

	ATF_REQUIRE((fp = fopen("nul", "w")) != NULL);
	ATF_REQUIRE(fwrite(text, 1, sizeof(text) - 1, fp) == sizeof(text) - 1);
	ATF_REQUIRE(fclose(fp) == 0);
	t = table_create("nul", TABLE_FILE, "nul");
	ATF_REQUIRE(t != NULL);
	ATF_CHECK_EQ(table_load(t, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "nul:2:") != NULL, "error \"%s\"", err);
	ATF_CHECK_EQ(t->count, 0);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(file_missing_after_load_leaves_empty);
ATF_TC_BODY(file_missing_after_load_leaves_empty, tc)
{
	struct table	*t;
	char		 err[256] = "";

	t = table_from_text("gone", "alice\n10.0.0.0/8\n");
	ATF_REQUIRE(table_has(t, "alice"));
	ATF_REQUIRE(has_addr(t, "10.1.2.3"));
	ATF_REQUIRE(unlink("gone") == 0);
	ATF_CHECK_EQ(table_load(t, err, sizeof(err)), -1);
	ATF_CHECK(strstr(err, "gone") != NULL);
	ATF_CHECK(!table_has(t, "alice"));
	ATF_CHECK(!has_addr(t, "10.1.2.3"));
	ATF_CHECK_EQ(t->count, 0);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(reload_replaces_contents);
ATF_TC_BODY(reload_replaces_contents, tc)
{
	struct table	*t;
	char		 err[256] = "";

	t = table_from_text("reload",
	    "alice one\nbob\n192.0.2.0/24\n");
	ATF_REQUIRE(table_has(t, "bob"));
	ATF_REQUIRE(has_addr(t, "192.0.2.7"));

	write_file("reload", "alice two\ncarol\n198.51.100.0/24\n");
	if (table_load(t, err, sizeof(err)) != 0)
		atf_tc_fail("reload: %s", err);
	ATF_REQUIRE(table_get(t, "alice") != NULL);
	ATF_CHECK_STREQ(table_get(t, "alice"), "two");
	ATF_CHECK(table_has(t, "carol"));
	ATF_CHECK(!table_has(t, "bob"));
	ATF_CHECK(!table_has(t, "192.0.2.0/24"));
	ATF_CHECK(!has_addr(t, "192.0.2.7"));
	ATF_CHECK(has_addr(t, "198.51.100.7"));
	ATF_CHECK_EQ(t->count, 3);
	table_free(t);
}

/*
 * A reload that fails keeps the entries but marks the table failed, so
 * that no decision rests on what the file no longer says; the next good
 * reload clears the mark.
 */
ATF_TC_WITHOUT_HEAD(failed_reload_marks_the_table_failed);
ATF_TC_BODY(failed_reload_marks_the_table_failed, tc)
{
	static const char text[] = "alice\nbob\0hidden\n";
	struct table	*t;
	FILE		*fp;
	char		 err[256] = "";

	t = table_from_text("marked", "alice\n192.0.2.0/24\n");
	ATF_CHECK(table_failure(t) == NULL);

	ATF_REQUIRE((fp = fopen("marked", "w")) != NULL);
	ATF_REQUIRE(fwrite(text, 1, sizeof(text) - 1, fp) == sizeof(text) - 1);
	ATF_REQUIRE(fclose(fp) == 0);
	ATF_CHECK_EQ(table_reload(t, err, sizeof(err)), -1);
	ATF_REQUIRE(table_failure(t) != NULL);
	ATF_CHECK_STREQ(table_failure(t), err);
	ATF_CHECK_MSG(strstr(err, "marked:2:") != NULL, "error \"%s\"", err);
	ATF_CHECK(table_has(t, "alice"));
	ATF_CHECK(has_addr(t, "192.0.2.7"));

	ATF_REQUIRE(unlink("marked") == 0);
	ATF_CHECK_EQ(table_reload(t, err, sizeof(err)), -1);
	ATF_REQUIRE(table_failure(t) != NULL);
	ATF_CHECK_MSG(strstr(table_failure(t), "No such file") != NULL,
	    "failure \"%s\"", table_failure(t));

	write_file("marked", "carol\n");
	if (table_reload(t, err, sizeof(err)) != 0)
		atf_tc_fail("reload: %s", err);
	ATF_CHECK(table_failure(t) == NULL);
	ATF_CHECK(table_has(t, "carol"));
	ATF_CHECK(!table_has(t, "alice"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(failed_load_marks_the_table_failed);
ATF_TC_BODY(failed_load_marks_the_table_failed, tc)
{
	struct table	*t;
	char		 err[256] = "";

	t = table_create("never", TABLE_FILE, "no/such/table");
	ATF_REQUIRE(t != NULL);
	ATF_CHECK(table_failure(t) == NULL);
	ATF_CHECK_EQ(table_load(t, err, sizeof(err)), -1);
	ATF_REQUIRE(table_failure(t) != NULL);
	ATF_CHECK_MSG(strstr(table_failure(t), "no/such/table") != NULL,
	    "failure \"%s\"", table_failure(t));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(large_file_every_key_found);
ATF_TC_BODY(large_file_every_key_found, tc)
{
	struct table	*t;
	FILE		*fp;
	char		 key[32], err[256] = "";
	const char	*v;
	int		 i;

	ATF_REQUIRE((fp = fopen("big", "w")) != NULL);
	for (i = 0; i < BIGCOUNT; i++)
		ATF_REQUIRE(fprintf(fp, "user%06d value%d\n", i, i) > 0);
	ATF_REQUIRE(fclose(fp) == 0);

	t = table_create("big", TABLE_FILE, "big");
	ATF_REQUIRE(t != NULL);
	if (table_load(t, err, sizeof(err)) != 0)
		atf_tc_fail("table_load: %s", err);
	ATF_REQUIRE_EQ(t->count, BIGCOUNT);
	for (i = 0; i < BIGCOUNT; i++) {
		char	 want[32];

		snprintf(key, sizeof(key), "user%06d", i);
		snprintf(want, sizeof(want), "value%d", i);
		v = table_get(t, key);
		if (v == NULL || strcmp(v, want) != 0)
			atf_tc_fail("%s: got %s, want %s", key,
			    v == NULL ? "(absent)" : v, want);
	}
	ATF_CHECK(!table_has(t, "user100000"));
	ATF_CHECK(!table_has(t, "user"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(addr_parse_net_forms);
ATF_TC_BODY(addr_parse_net_forms, tc)
{
	unsigned char	 addr[16], want[16];
	int		 family, bits;

	ATF_REQUIRE(addr_parse_net("192.0.2.1", &family, addr, &bits) == 0);
	ATF_CHECK_EQ(family, AF_INET);
	ATF_CHECK_EQ(bits, 32);
	ATF_REQUIRE(inet_pton(AF_INET, "192.0.2.1", want) == 1);
	ATF_CHECK(memcmp(addr, want, 4) == 0);

	ATF_REQUIRE(addr_parse_net("10.0.0.0/8", &family, addr, &bits) == 0);
	ATF_CHECK_EQ(family, AF_INET);
	ATF_CHECK_EQ(bits, 8);

	ATF_REQUIRE(addr_parse_net("2001:db8::/32", &family, addr, &bits) ==
	    0);
	ATF_CHECK_EQ(family, AF_INET6);
	ATF_CHECK_EQ(bits, 32);
	ATF_REQUIRE(inet_pton(AF_INET6, "2001:db8::", want) == 1);
	ATF_CHECK(memcmp(addr, want, 16) == 0);

	ATF_REQUIRE(addr_parse_net("::1", &family, addr, &bits) == 0);
	ATF_CHECK_EQ(family, AF_INET6);
	ATF_CHECK_EQ(bits, 128);

	ATF_REQUIRE(addr_parse_net("0.0.0.0/0", &family, addr, &bits) == 0);
	ATF_CHECK_EQ(bits, 0);
	ATF_REQUIRE(addr_parse_net("::/0", &family, addr, &bits) == 0);
	ATF_CHECK_EQ(bits, 0);
}

ATF_TC_WITHOUT_HEAD(addr_parse_net_bad_prefixes);
ATF_TC_BODY(addr_parse_net_bad_prefixes, tc)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x",
		"10.0.0.0/8/8", "2001:db8::/129", "::/",
		"10.0.0/8", "256.0.0.0/8", "example.org", "", "/8",
		"10.0.0.0/99999999999999999999",
	};
	unsigned char	 addr[16];
	int		 family, bits;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ_MSG(addr_parse_net(bad[i], &family, addr, &bits),
		    -1, "\"%s\" parsed as a network", bad[i]);
}

ATF_TC_WITHOUT_HEAD(bad_prefix_not_a_network);
ATF_TC_BODY(bad_prefix_not_a_network, tc)
{
	struct table	*t = table_static("nets");

	ATF_REQUIRE(table_add(t, "10.0.0.0/33", NULL) == 0);
	ATF_REQUIRE(table_add(t, "2001:db8::/129", NULL) == 0);
	ATF_CHECK(TAILQ_EMPTY(&t->nets));
	ATF_CHECK(!has_addr(t, "10.0.0.1"));
	ATF_CHECK(!has_addr(t, "10.0.0.0"));
	ATF_CHECK(!has_addr(t, "2001:db8::1"));
	/* Still a plain key, as written. */
	ATF_CHECK(table_has(t, "10.0.0.0/33"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(cidr_ipv4);
ATF_TC_BODY(cidr_ipv4, tc)
{
	struct table	*t;

	t = table_net("192.0.2.0/24");
	ATF_CHECK(has_addr(t, "192.0.2.0"));
	ATF_CHECK(has_addr(t, "192.0.2.1"));
	ATF_CHECK(has_addr(t, "192.0.2.255"));
	ATF_CHECK(!has_addr(t, "192.0.3.0"));
	ATF_CHECK(!has_addr(t, "192.0.1.255"));
	table_free(t);

	/* /20: the boundary falls inside the third byte. */
	t = table_net("172.16.16.0/20");
	ATF_CHECK(has_addr(t, "172.16.16.0"));
	ATF_CHECK(has_addr(t, "172.16.31.255"));
	ATF_CHECK(!has_addr(t, "172.16.32.0"));
	ATF_CHECK(!has_addr(t, "172.16.15.255"));
	table_free(t);

	/* /32 is one host, and so is a bare address. */
	t = table_net("198.51.100.7/32");
	ATF_CHECK(has_addr(t, "198.51.100.7"));
	ATF_CHECK(!has_addr(t, "198.51.100.6"));
	ATF_CHECK(!has_addr(t, "198.51.100.8"));
	table_free(t);

	t = table_net("198.51.100.7");
	ATF_CHECK(has_addr(t, "198.51.100.7"));
	ATF_CHECK(!has_addr(t, "198.51.100.6"));
	table_free(t);

	/* /0 holds every IPv4 address and still no IPv6 one. */
	t = table_net("0.0.0.0/0");
	ATF_CHECK(has_addr(t, "0.0.0.0"));
	ATF_CHECK(has_addr(t, "203.0.113.9"));
	ATF_CHECK(has_addr(t, "255.255.255.255"));
	ATF_CHECK(!has_addr(t, "2001:db8::1"));
	table_free(t);

	/* Host bits in the network as written do not matter. */
	t = table_net("10.1.2.3/8");
	ATF_CHECK(has_addr(t, "10.200.0.1"));
	ATF_CHECK(!has_addr(t, "11.1.2.3"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(cidr_ipv6);
ATF_TC_BODY(cidr_ipv6, tc)
{
	struct table	*t;

	t = table_net("2001:db8::/32");
	ATF_CHECK(has_addr(t, "2001:db8::"));
	ATF_CHECK(has_addr(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	ATF_CHECK(!has_addr(t, "2001:db9::"));
	ATF_CHECK(!has_addr(t, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
	table_free(t);

	/* /127: two addresses, the boundary in the last bit. */
	t = table_net("2001:db8::2/127");
	ATF_CHECK(has_addr(t, "2001:db8::2"));
	ATF_CHECK(has_addr(t, "2001:db8::3"));
	ATF_CHECK(!has_addr(t, "2001:db8::1"));
	ATF_CHECK(!has_addr(t, "2001:db8::4"));
	table_free(t);

	t = table_net("2001:db8::1/128");
	ATF_CHECK(has_addr(t, "2001:db8::1"));
	ATF_CHECK(!has_addr(t, "2001:db8::"));
	ATF_CHECK(!has_addr(t, "2001:db8::1:1"));
	table_free(t);

	/* /36: a boundary inside the fifth byte. */
	t = table_net("2001:db8:f000::/36");
	ATF_CHECK(has_addr(t, "2001:db8:f000::"));
	ATF_CHECK(has_addr(t, "2001:db8:ffff:ffff::1"));
	ATF_CHECK(!has_addr(t, "2001:db8:efff:ffff::"));
	table_free(t);

	t = table_net("::/0");
	ATF_CHECK(has_addr(t, "::"));
	ATF_CHECK(has_addr(t, "2001:db8::1"));
	ATF_CHECK(has_addr(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	ATF_CHECK(!has_addr(t, "192.0.2.1"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(ipv4_client_never_matches_ipv6_net);
ATF_TC_BODY(ipv4_client_never_matches_ipv6_net, tc)
{
	struct table	*t = table_static("nets");

	/*
	 * Each of these IPv6 networks holds a 16-byte address whose first
	 * four bytes would match 10.0.0.1 if the family were ignored.
	 */
	ATF_REQUIRE(table_add(t, "::/0", NULL) == 0);
	ATF_REQUIRE(table_add(t, "a00:1::/32", NULL) == 0);
	ATF_REQUIRE(table_add(t, "::ffff:10.0.0.1", NULL) == 0);
	ATF_CHECK(!has_addr(t, "10.0.0.1"));
	ATF_CHECK(!has_addr(t, "127.0.0.1"));
	ATF_CHECK(has_addr(t, "::ffff:10.0.0.1"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(addr_of_unknown_family_not_found);
ATF_TC_BODY(addr_of_unknown_family_not_found, tc)
{
	struct table		*t = table_net("0.0.0.0/0");
	struct sockaddr_un	 sun;

	ATF_REQUIRE(table_add(t, "::/0", NULL) == 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ATF_CHECK(!table_has_addr(t, (struct sockaddr *)&sun));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(file_networks_match);
ATF_TC_BODY(file_networks_match, tc)
{
	struct table	*t;

	t = table_from_text("nets",
	    "# relay for these\n"
	    "  192.0.2.0/24   \n"
	    "2001:db8::/48 # documentation\n"
	    "10.0.0.0/33\n");
	ATF_CHECK(has_addr(t, "192.0.2.200"));
	ATF_CHECK(has_addr(t, "2001:db8:0:ffff::1"));
	ATF_CHECK(!has_addr(t, "2001:db8:1::1"));
	ATF_CHECK(!has_addr(t, "10.0.0.1"));
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(loopback_addresses);
ATF_TC_BODY(loopback_addresses, tc)
{
	struct sockaddr_un	 sun;

	ATF_CHECK(loopback("127.0.0.1"));
	ATF_CHECK(loopback("127.255.255.254"));
	ATF_CHECK(loopback("127.1.2.3"));
	ATF_CHECK(loopback("::1"));
	ATF_CHECK(loopback("::ffff:127.0.0.1"));
	ATF_CHECK(loopback("::ffff:127.9.9.9"));

	ATF_CHECK(!loopback("192.0.2.1"));
	ATF_CHECK(!loopback("126.255.255.255"));
	ATF_CHECK(!loopback("128.0.0.1"));
	ATF_CHECK(!loopback("0.0.0.0"));
	ATF_CHECK(!loopback("::"));
	ATF_CHECK(!loopback("::2"));
	ATF_CHECK(!loopback("::ffff:192.0.2.1"));
	ATF_CHECK(!loopback("2001:db8::1"));
	/* 127.0.0.1 in the low bytes but not v4-mapped. */
	ATF_CHECK(!loopback("2001:db8::7f00:1"));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ATF_CHECK(addr_is_loopback((struct sockaddr *)&sun));
	ATF_CHECK(addr_is_loopback(NULL));
}

ATF_TC_WITHOUT_HEAD(table_find_by_name);
ATF_TC_BODY(table_find_by_name, tc)
{
	struct table_list	 list;
	struct table		*a, *b;

	TAILQ_INIT(&list);
	a = table_static("alpha");
	b = table_static("beta");
	TAILQ_INSERT_TAIL(&list, a, entry);
	TAILQ_INSERT_TAIL(&list, b, entry);
	ATF_CHECK(table_find(&list, "alpha") == a);
	ATF_CHECK(table_find(&list, "beta") == b);
	ATF_CHECK(table_find(&list, "gamma") == NULL);
	ATF_CHECK(table_find(&list, "alph") == NULL);
	table_free(a);
	table_free(b);
}

ATF_TC_WITHOUT_HEAD(create_refuses_bad_names);
ATF_TC_BODY(create_refuses_bad_names, tc)
{
	char	 name[TABLE_NAMESZ + 1];

	ATF_CHECK(table_create("", TABLE_STATIC, NULL) == NULL);
	memset(name, 'n', TABLE_NAMESZ);
	name[TABLE_NAMESZ] = '\0';
	ATF_CHECK(table_create(name, TABLE_STATIC, NULL) == NULL);
}

/* Split a list and check that its members are those wanted. */
static void
check_members(const char *list, const char *const *want, size_t nwant)
{
	char	 buf[1024], *p, *m;
	size_t	 n = 0;

	ATF_REQUIRE(strlcpy(buf, list, sizeof(buf)) < sizeof(buf));
	p = buf;
	while ((m = member_next(&p)) != NULL) {
		ATF_REQUIRE_MSG(n < nwant, "extra member \"%s\" in \"%s\"",
		    m, list);
		ATF_CHECK_STREQ_MSG(m, want[n], "member %zu of \"%s\"", n,
		    list);
		n++;
	}
	ATF_CHECK_EQ_MSG(n, nwant, "%zu members in \"%s\"", n, list);
}

ATF_TC_WITHOUT_HEAD(members_split);
ATF_TC_BODY(members_split, tc)
{
	static const char *const plain[] = { "alice", "bob", "carol" };
	static const char *const kinds[] = { "/var/log/archive",
	    "|/usr/bin/filter -a x", ":include:/etc/smtpd/staff",
	    "dave@example.org" };
	static const char *const quoted[] = { "|/bin/sh -c 'a, b'", "x",
	    "/path with blank" };
	static const char *const lines[] = { "alice", "bob", "carol",
	    "dave" };

	check_members("alice, bob,carol", plain, 3);
	check_members("  alice  ,, bob ,\tcarol  ", plain, 3);
	/* Anything after a blank is no part of a plain member. */
	check_members("alice smith, bob, carol", plain, 3);
	check_members("/var/log/archive, |/usr/bin/filter -a x ,"
	    " :include:/etc/smtpd/staff, dave@example.org", kinds, 4);
	check_members("\"|/bin/sh -c 'a, b'\", x, \"/path with blank\"",
	    quoted, 3);
	check_members("# a comment, not = members\nalice, bob\n\n"
	    "carol # and bob again\ndave\n", lines, 4);
	check_members("", NULL, 0);
	check_members(" , ,\n# only a comment\n", NULL, 0);
}

ATF_TC_WITHOUT_HEAD(members_never_empty);
ATF_TC_BODY(members_never_empty, tc)
{
	static const char *const plain[] = { "alice", "bob", "carol" };

	check_members("\"\"", NULL, 0);
	check_members("\"\", alice, \"\" ,bob,\"\"\ncarol, \"\"", plain, 3);
}

ATF_TC_WITHOUT_HEAD(members_hold_no_line_break);
ATF_TC_BODY(members_hold_no_line_break, tc)
{
	static const char *const open[] = { "\"alice", "bob\"" };
	static const char *const cr[] = { "alice", "|/bin/filter -x",
	    "bob", "carol" };

	/* A quote left open ends with its line. */
	check_members("\"alice\nbob\"", open, 2);
	/* CR ends a line as LF does, for commands and comments too. */
	check_members("alice\r|/bin/filter -x\r# bob\rbob\r\ncarol", cr, 4);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, inline_keys_found_absent_not);
	ATF_TP_ADD_TC(tp, empty_key_refused);
	ATF_TP_ADD_TC(tp, value_returned_plain_key_empty);
	ATF_TP_ADD_TC(tp, repeated_key_last_value_wins);
	ATF_TP_ADD_TC(tp, file_comments_blanks_spaces);
	ATF_TP_ADD_TC(tp, file_missing_error_names_path);
	ATF_TP_ADD_TC(tp, file_with_nul_refused);
	ATF_TP_ADD_TC(tp, file_missing_after_load_leaves_empty);
	ATF_TP_ADD_TC(tp, reload_replaces_contents);
	ATF_TP_ADD_TC(tp, large_file_every_key_found);
	ATF_TP_ADD_TC(tp, addr_parse_net_forms);
	ATF_TP_ADD_TC(tp, addr_parse_net_bad_prefixes);
	ATF_TP_ADD_TC(tp, bad_prefix_not_a_network);
	ATF_TP_ADD_TC(tp, cidr_ipv4);
	ATF_TP_ADD_TC(tp, cidr_ipv6);
	ATF_TP_ADD_TC(tp, ipv4_client_never_matches_ipv6_net);
	ATF_TP_ADD_TC(tp, addr_of_unknown_family_not_found);
	ATF_TP_ADD_TC(tp, file_networks_match);
	ATF_TP_ADD_TC(tp, loopback_addresses);
	ATF_TP_ADD_TC(tp, table_find_by_name);
	ATF_TP_ADD_TC(tp, create_refuses_bad_names);
	ATF_TP_ADD_TC(tp, failed_reload_marks_the_table_failed);
	ATF_TP_ADD_TC(tp, failed_load_marks_the_table_failed);
	ATF_TP_ADD_TC(tp, members_split);
	ATF_TP_ADD_TC(tp, members_never_empty);
	ATF_TP_ADD_TC(tp, members_hold_no_line_break);
	return atf_no_error();
}
