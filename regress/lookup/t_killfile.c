/*
 * The kill file: each kind of entry with its hits and near misses, case
 * and trailing dots, networks of several prefix lengths in both
 * families, malformed entries, loading (comments, errors that keep the
 * old contents) and a file of a million entries.  File cases write in
 * the working directory atf gives each case.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <atf-c.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/lookup.h"

#define BIGCOUNT	1000000
#define BIGKINDS	5

static struct killfile *
kf_make(void)
{
	struct killfile	*kf;

	ATF_REQUIRE((kf = killfile_new()) != NULL);
	return kf;
}

static void
kf_require_add(struct killfile *kf, const char *entry)
{
	if (killfile_add(kf, entry) != 0)
		atf_tc_fail("killfile_add \"%s\" refused", entry);
}

/* A kill file holding just one entry. */
static struct killfile *
kf_one(const char *entry)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, entry);
	ATF_REQUIRE_EQ(killfile_count(kf), 1);
	return kf;
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) != EOF);
	ATF_REQUIRE(fclose(fp) == 0);
}

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
has_addr(const struct killfile *kf, const char *s)
{
	struct sockaddr_storage	 ss = sa_make(s);

	return killfile_has_addr(kf, (struct sockaddr *)&ss);
}

ATF_TC_WITHOUT_HEAD(sender_address);
ATF_TC_BODY(sender_address, tc)
{
	struct killfile	*kf = kf_one("user@example.org");

	ATF_CHECK(killfile_has_sender(kf, "user@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.org.evil"));
	ATF_CHECK(!killfile_has_sender(kf, "user@sub.example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.com"));
	ATF_CHECK(!killfile_has_sender(kf, "xuser@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "use@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "other@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user"));
	ATF_CHECK(!killfile_has_sender(kf, ""));
	/* An address is no host name, nor a whole domain. */
	ATF_CHECK(!killfile_has_host(kf, "user@example.org"));
	ATF_CHECK(!killfile_has_host(kf, "example.org"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(sender_domain);
ATF_TC_BODY(sender_domain, tc)
{
	struct killfile	*kf = kf_one("@example.org");

	ATF_CHECK(killfile_has_sender(kf, "user@example.org"));
	ATF_CHECK(killfile_has_sender(kf, "anyone.else@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.org.evil"));
	ATF_CHECK(!killfile_has_sender(kf, "user@sub.example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@badexample.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.com"));
	ATF_CHECK(!killfile_has_sender(kf, "example.org"));
	ATF_CHECK(!killfile_has_host(kf, "example.org"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(sender_subdomains);
ATF_TC_BODY(sender_subdomains, tc)
{
	struct killfile	*kf = kf_one("@.example.org");

	ATF_CHECK(killfile_has_sender(kf, "user@example.org"));
	ATF_CHECK(killfile_has_sender(kf, "user@sub.example.org"));
	ATF_CHECK(killfile_has_sender(kf, "user@a.b.c.example.org"));
	ATF_CHECK(killfile_has_sender(kf, "@a.example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@badexample.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.org.evil"));
	ATF_CHECK(!killfile_has_sender(kf, "user@org"));
	ATF_CHECK(!killfile_has_sender(kf, "example.org@elsewhere.net"));
	ATF_CHECK(!killfile_has_host(kf, "example.org"));
	ATF_CHECK(!killfile_has_host(kf, "a.example.org"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(host_name);
ATF_TC_BODY(host_name, tc)
{
	struct killfile	*kf = kf_one("mx.example.org");

	ATF_CHECK(killfile_has_host(kf, "mx.example.org"));
	ATF_CHECK(!killfile_has_host(kf, "a.mx.example.org"));
	ATF_CHECK(!killfile_has_host(kf, "example.org"));
	ATF_CHECK(!killfile_has_host(kf, "mx.example.org.evil"));
	ATF_CHECK(!killfile_has_host(kf, "xmx.example.org"));
	ATF_CHECK(!killfile_has_host(kf, "mx.example"));
	ATF_CHECK(!killfile_has_host(kf, ""));
	/* A host name refuses clients, not senders at that domain. */
	ATF_CHECK(!killfile_has_sender(kf, "user@mx.example.org"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(host_domain);
ATF_TC_BODY(host_domain, tc)
{
	struct killfile	*kf = kf_one(".example.org");

	ATF_CHECK(killfile_has_host(kf, "example.org"));
	ATF_CHECK(killfile_has_host(kf, "mx.example.org"));
	ATF_CHECK(killfile_has_host(kf, "a.b.example.org"));
	ATF_CHECK(!killfile_has_host(kf, "badexample.org"));
	ATF_CHECK(!killfile_has_host(kf, "example.org.evil"));
	ATF_CHECK(!killfile_has_host(kf, "org"));
	ATF_CHECK(!killfile_has_host(kf, "example.com"));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "user@a.example.org"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(case_insensitive);
ATF_TC_BODY(case_insensitive, tc)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, "Spammer@Example.ORG");
	kf_require_add(kf, "@Bulk.Example.NET");
	kf_require_add(kf, "@.Junk.Example");
	kf_require_add(kf, "MX.Example.COM");
	kf_require_add(kf, ".Dialup.Example");
	kf_require_add(kf, "2001:DB8::/32");
	ATF_CHECK(killfile_has_sender(kf, "spammer@example.org"));
	ATF_CHECK(killfile_has_sender(kf, "SPAMMER@EXAMPLE.ORG"));
	ATF_CHECK(killfile_has_sender(kf, "sPaMmEr@eXaMpLe.OrG"));
	ATF_CHECK(!killfile_has_sender(kf, "spammer2@example.org"));
	ATF_CHECK(killfile_has_sender(kf, "x@bulk.example.net"));
	ATF_CHECK(killfile_has_sender(kf, "X@BULK.EXAMPLE.NET"));
	ATF_CHECK(killfile_has_sender(kf, "x@A.JUNK.example"));
	ATF_CHECK(killfile_has_host(kf, "mx.example.com"));
	ATF_CHECK(killfile_has_host(kf, "MX.EXAMPLE.COM"));
	ATF_CHECK(killfile_has_host(kf, "Host-1.DIALUP.example"));
	ATF_CHECK(!killfile_has_host(kf, "mx2.example.com"));
	ATF_CHECK(has_addr(kf, "2001:db8:abcd::1"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(trailing_dot);
ATF_TC_BODY(trailing_dot, tc)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, "mx.example.org.");
	kf_require_add(kf, ".example.net.");
	kf_require_add(kf, "@example.com.");
	kf_require_add(kf, "@.example.info.");
	kf_require_add(kf, "user@example.biz.");
	ATF_CHECK(killfile_has_host(kf, "mx.example.org"));
	ATF_CHECK(killfile_has_host(kf, "mx.example.org."));
	ATF_CHECK(killfile_has_host(kf, "a.example.net"));
	ATF_CHECK(killfile_has_host(kf, "example.net."));
	ATF_CHECK(killfile_has_sender(kf, "a@example.com"));
	ATF_CHECK(killfile_has_sender(kf, "a@example.com."));
	ATF_CHECK(killfile_has_sender(kf, "a@b.example.info."));
	ATF_CHECK(killfile_has_sender(kf, "user@example.biz"));
	ATF_CHECK(killfile_has_sender(kf, "user@example.biz."));
	/* Only one dot goes. */
	ATF_CHECK(!killfile_has_host(kf, "mx.example.org.."));
	ATF_CHECK(!killfile_has_sender(kf, "user@example.biz.."));
	ATF_CHECK(!killfile_has_host(kf, "mx.example"));
	ATF_CHECK_EQ(killfile_count(kf), 5);
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(long_names);
ATF_TC_BODY(long_names, tc)
{
	struct killfile	*kf = kf_one(".org");
	char		 name[512], label[64];

	/* Labels of 63, 63, 63 and 59 octets and ".org": 255 octets. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.%.59s.org", label, label,
	    label, label);
	ATF_REQUIRE_EQ(strlen(name), 255);
	ATF_CHECK(killfile_has_host(kf, name));
	/* Over 255 octets it is no name, and matches nothing. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.60s.org", label, label,
	    label, label);
	ATF_REQUIRE_EQ(strlen(name), 256);
	ATF_CHECK(!killfile_has_host(kf, name));
	/* A trailing dot does not count. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.59s.org.", label, label,
	    label, label);
	ATF_CHECK(killfile_has_host(kf, name));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(ipv4_networks);
ATF_TC_BODY(ipv4_networks, tc)
{
	struct killfile	*kf;

	kf = kf_one("198.51.100.7/32");
	ATF_CHECK(has_addr(kf, "198.51.100.7"));
	ATF_CHECK(!has_addr(kf, "198.51.100.6"));
	ATF_CHECK(!has_addr(kf, "198.51.100.8"));
	ATF_CHECK(!has_addr(kf, "::ffff:198.51.100.6"));
	killfile_free(kf);

	kf = kf_one("198.51.100.9");
	ATF_CHECK(has_addr(kf, "198.51.100.9"));
	ATF_CHECK(!has_addr(kf, "198.51.100.90"));
	killfile_free(kf);

	kf = kf_one("192.0.2.0/24");
	ATF_CHECK(has_addr(kf, "192.0.2.0"));
	ATF_CHECK(has_addr(kf, "192.0.2.255"));
	ATF_CHECK(!has_addr(kf, "192.0.3.0"));
	ATF_CHECK(!has_addr(kf, "192.0.1.255"));
	killfile_free(kf);

	/* The boundary falls inside the third octet. */
	kf = kf_one("172.16.16.0/20");
	ATF_CHECK(has_addr(kf, "172.16.16.0"));
	ATF_CHECK(has_addr(kf, "172.16.31.255"));
	ATF_CHECK(!has_addr(kf, "172.16.32.0"));
	ATF_CHECK(!has_addr(kf, "172.16.15.255"));
	killfile_free(kf);

	kf = kf_one("0.0.0.0/0");
	ATF_CHECK(has_addr(kf, "0.0.0.0"));
	ATF_CHECK(has_addr(kf, "203.0.113.9"));
	ATF_CHECK(has_addr(kf, "255.255.255.255"));
	ATF_CHECK(!has_addr(kf, "2001:db8::1"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(ipv6_networks);
ATF_TC_BODY(ipv6_networks, tc)
{
	struct killfile	*kf;

	kf = kf_one("2001:db8::7/128");
	ATF_CHECK(has_addr(kf, "2001:db8::7"));
	ATF_CHECK(!has_addr(kf, "2001:db8::6"));
	ATF_CHECK(!has_addr(kf, "2001:db8::8"));
	killfile_free(kf);

	kf = kf_one("2001:db8::9");
	ATF_CHECK(has_addr(kf, "2001:db8::9"));
	ATF_CHECK(!has_addr(kf, "2001:db8::1:9"));
	killfile_free(kf);

	kf = kf_one("2001:db8:1:2::/64");
	ATF_CHECK(has_addr(kf, "2001:db8:1:2::"));
	ATF_CHECK(has_addr(kf, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	ATF_CHECK(!has_addr(kf, "2001:db8:1:3::"));
	ATF_CHECK(!has_addr(kf, "2001:db8:1:1:ffff:ffff:ffff:ffff"));
	killfile_free(kf);

	/* /127: two addresses, the boundary in the last bit. */
	kf = kf_one("2001:db8::4/127");
	ATF_CHECK(has_addr(kf, "2001:db8::4"));
	ATF_CHECK(has_addr(kf, "2001:db8::5"));
	ATF_CHECK(!has_addr(kf, "2001:db8::3"));
	ATF_CHECK(!has_addr(kf, "2001:db8::6"));
	killfile_free(kf);

	kf = kf_one("::/0");
	ATF_CHECK(has_addr(kf, "::"));
	ATF_CHECK(has_addr(kf, "2001:db8::1"));
	ATF_CHECK(has_addr(kf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	ATF_CHECK(!has_addr(kf, "192.0.2.1"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(many_prefix_lengths);
ATF_TC_BODY(many_prefix_lengths, tc)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, "10.0.0.0/8");
	kf_require_add(kf, "192.0.2.128/25");
	kf_require_add(kf, "198.51.100.1");
	kf_require_add(kf, "2001:db8:aaaa::/48");
	kf_require_add(kf, "2001:db8:bbbb::1");
	ATF_CHECK(has_addr(kf, "10.255.0.1"));
	ATF_CHECK(has_addr(kf, "192.0.2.200"));
	ATF_CHECK(!has_addr(kf, "192.0.2.127"));
	ATF_CHECK(has_addr(kf, "198.51.100.1"));
	ATF_CHECK(!has_addr(kf, "198.51.100.2"));
	ATF_CHECK(!has_addr(kf, "11.0.0.1"));
	ATF_CHECK(has_addr(kf, "2001:db8:aaaa:1::1"));
	ATF_CHECK(has_addr(kf, "2001:db8:bbbb::1"));
	ATF_CHECK(!has_addr(kf, "2001:db8:bbbb::2"));
	ATF_CHECK(!has_addr(kf, "2001:db8:aaab::1"));
	ATF_CHECK_EQ(killfile_count(kf), 5);
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(ipv4_mapped);
ATF_TC_BODY(ipv4_mapped, tc)
{
	struct killfile		*kf;
	struct sockaddr_un	 sun;

	kf = kf_one("192.0.2.0/24");
	ATF_CHECK(has_addr(kf, "::ffff:192.0.2.1"));
	ATF_CHECK(!has_addr(kf, "::ffff:192.0.3.1"));
	/* Not mapped: the same low 32 bits under another prefix. */
	ATF_CHECK(!has_addr(kf, "::192.0.2.1"));
	ATF_CHECK(!has_addr(kf, "64:ff9b::192.0.2.1"));
	killfile_free(kf);

	/* A mapped entry is the IPv4 entry it stands for. */
	kf = kf_one("::ffff:198.51.100.0/120");
	ATF_CHECK(has_addr(kf, "198.51.100.9"));
	ATF_CHECK(has_addr(kf, "::ffff:198.51.100.9"));
	ATF_CHECK(!has_addr(kf, "198.51.101.9"));
	kf_require_add(kf, "198.51.100.0/24");
	ATF_CHECK_EQ(killfile_count(kf), 1);
	killfile_free(kf);

	/* Other families are never refused here. */
	kf = kf_one("0.0.0.0/0");
	kf_require_add(kf, "::/0");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ATF_CHECK(!killfile_has_addr(kf, (struct sockaddr *)&sun));
	ATF_CHECK(has_addr(kf, "192.0.2.1"));
	ATF_CHECK(has_addr(kf, "2001:db8::1"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(host_bits_masked);
ATF_TC_BODY(host_bits_masked, tc)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, "192.0.2.77/24");
	kf_require_add(kf, "2001:db8:1:2:3::1/32");
	ATF_CHECK(has_addr(kf, "192.0.2.1"));
	ATF_CHECK(has_addr(kf, "192.0.2.255"));
	ATF_CHECK(!has_addr(kf, "192.0.3.77"));
	ATF_CHECK(has_addr(kf, "2001:db8:ffff::1"));
	ATF_CHECK(!has_addr(kf, "2001:db9:1:2:3::1"));
	/* The same networks written cleanly are the same entries. */
	kf_require_add(kf, "192.0.2.0/24");
	kf_require_add(kf, "2001:db8::/32");
	ATF_CHECK_EQ(killfile_count(kf), 2);
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(malformed_refused);
ATF_TC_BODY(malformed_refused, tc)
{
	static const char *const bad[] = {
		"", " ", "\t", ".", "..", "@", "@.", "@..", "a@", "user@",
		"user@.", "@@example.org", "a@b@example.org",
		"user@.example.org", "user name@example.org",
		"user@exa mple.org", "ex ample.org", " example.org",
		"example.org ", "a..example.org", ".", "..example.org",
		"example..org.", "host/name", "host:name", "a\tb",
		"10.0.0.0/33", "10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/-1",
		"10.0.0.0/", "10.0.0.0/8/8", "10.0.0.0/8x", "10.0.0.0/08",
		"10.0.0/8", "10.0.0.256", "256.0.0.0/8", "1.2.3",
		"2001:db8::/129", "2001:db8::/ 64", "::/", "2001:db8:::1",
		"@10.0.0.1", "user@[192.0.2.1]", "/8",
	};
	struct killfile	*kf = kf_make();
	char		 big[300], label[70];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ATF_CHECK_EQ_MSG(killfile_add(kf, bad[i]), -1,
		    "\"%s\" accepted", bad[i]);
		ATF_CHECK_EQ_MSG(errno, EINVAL, "\"%s\": errno %d", bad[i],
		    errno);
	}
	/* Too long a name, and too long a label. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + sizeof(big) - 5, ".org", 4);
	ATF_CHECK_EQ(killfile_add(kf, big), -1);
	memset(label, 'b', 64);
	strlcpy(label + 64, ".org", sizeof(label) - 64);
	ATF_CHECK_EQ(killfile_add(kf, label), -1);
	ATF_CHECK_EQ(killfile_count(kf), 0);
	/* Nothing got in by the back door. */
	ATF_CHECK(!killfile_has_host(kf, "example.org"));
	ATF_CHECK(!has_addr(kf, "10.0.0.1"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(odd_but_valid_entries);
ATF_TC_BODY(odd_but_valid_entries, tc)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, "first.last+tag@example.org");
	kf_require_add(kf, "a#b@example.org");
	kf_require_add(kf, "mail_relay-1.example.org");
	kf_require_add(kf, "localhost");
	ATF_CHECK(killfile_has_sender(kf, "first.last+tag@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "first.last@example.org"));
	ATF_CHECK(killfile_has_sender(kf, "a#b@example.org"));
	ATF_CHECK(killfile_has_host(kf, "mail_relay-1.example.org"));
	ATF_CHECK(killfile_has_host(kf, "LOCALHOST"));
	ATF_CHECK_EQ(killfile_count(kf), 4);
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(duplicates_counted_once);
ATF_TC_BODY(duplicates_counted_once, tc)
{
	struct killfile	*kf = kf_make();

	kf_require_add(kf, "user@example.org");
	kf_require_add(kf, "USER@example.ORG");
	kf_require_add(kf, "user@example.org.");
	kf_require_add(kf, "@example.org");
	kf_require_add(kf, "@EXAMPLE.org");
	kf_require_add(kf, "@.example.org");
	kf_require_add(kf, "mx.example.org");
	kf_require_add(kf, "MX.example.org.");
	kf_require_add(kf, ".example.org");
	kf_require_add(kf, "192.0.2.1");
	kf_require_add(kf, "192.0.2.1/32");
	kf_require_add(kf, "2001:db8::1");
	kf_require_add(kf, "2001:DB8:0::1/128");
	/* Distinct: the address, @domain, @.domain, host, .domain, 2 IPs. */
	ATF_CHECK_EQ(killfile_count(kf), 7);
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(load_comments_blanks_spaces);
ATF_TC_BODY(load_comments_blanks_spaces, tc)
{
	struct killfile	*kf = kf_make();
	char		 err[256] = "";

	write_file("kill",
	    "# refused clients and senders\n"
	    "\n"
	    "   \t \n"
	    "spammer@example.org\n"
	    "  \t@bulk.example.net\t  \n"
	    "mx.example.com   # a comment after the entry\n"
	    "a#b@example.org\n"
	    "#.hidden.example\n"
	    "    # an indented comment\n"
	    "192.0.2.0/24\r\n"
	    "2001:db8::/32\n"
	    "last.example.info");
	if (killfile_load(kf, "kill", err, sizeof(err)) != 0)
		atf_tc_fail("killfile_load: %s", err);
	ATF_CHECK_EQ(killfile_count(kf), 7);
	ATF_CHECK(killfile_has_sender(kf, "spammer@example.org"));
	ATF_CHECK(killfile_has_sender(kf, "x@bulk.example.net"));
	ATF_CHECK(killfile_has_host(kf, "mx.example.com"));
	ATF_CHECK(killfile_has_sender(kf, "a#b@example.org"));
	ATF_CHECK(!killfile_has_sender(kf, "a@example.org"));
	ATF_CHECK(!killfile_has_host(kf, "x.hidden.example"));
	ATF_CHECK(has_addr(kf, "192.0.2.9"));
	ATF_CHECK(has_addr(kf, "2001:db8::9"));
	ATF_CHECK(killfile_has_host(kf, "last.example.info"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(load_bad_line_keeps_old);
ATF_TC_BODY(load_bad_line_keeps_old, tc)
{
	struct killfile	*kf = kf_make();
	char		 err[256] = "";

	write_file("kill", "old@example.org\n.old.example\n10.0.0.0/8\n");
	if (killfile_load(kf, "kill", err, sizeof(err)) != 0)
		atf_tc_fail("killfile_load: %s", err);
	ATF_REQUIRE_EQ(killfile_count(kf), 3);
	ATF_CHECK(killfile_failure(kf) == NULL);

	write_file("kill.new",
	    "# a new list\n"
	    "new@example.org\n"
	    "\n"
	    "  not an entry  \n"
	    "192.0.2.0/24\n");
	ATF_CHECK_EQ(killfile_load(kf, "kill.new", err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "kill.new:4: bad entry not an entry");
	/* It no longer says what its file says. */
	ATF_REQUIRE(killfile_failure(kf) != NULL);
	ATF_CHECK_STREQ(killfile_failure(kf), err);
	ATF_CHECK_EQ(killfile_count(kf), 3);
	ATF_CHECK(killfile_has_sender(kf, "old@example.org"));
	ATF_CHECK(killfile_has_host(kf, "a.old.example"));
	ATF_CHECK(has_addr(kf, "10.1.2.3"));
	/* Not even the good lines before the bad one got in. */
	ATF_CHECK(!killfile_has_sender(kf, "new@example.org"));
	ATF_CHECK(!has_addr(kf, "192.0.2.1"));

	/* A good file again clears the failure. */
	write_file("kill.new", "new@example.org\n");
	if (killfile_load(kf, "kill.new", err, sizeof(err)) != 0)
		atf_tc_fail("killfile_load: %s", err);
	ATF_CHECK(killfile_failure(kf) == NULL);
	killfile_free(kf);
}

/* Whether any entry needs the client's name. */
ATF_TC_WITHOUT_HEAD(has_hosts);
ATF_TC_BODY(has_hosts, tc)
{
	struct killfile	*kf = kf_make();

	ATF_CHECK(!killfile_has_hosts(kf));
	ATF_REQUIRE(killfile_add(kf, "a@example.org") == 0);
	ATF_REQUIRE(killfile_add(kf, "@.example.net") == 0);
	ATF_REQUIRE(killfile_add(kf, "192.0.2.0/24") == 0);
	ATF_CHECK(!killfile_has_hosts(kf));
	ATF_REQUIRE(killfile_add(kf, ".example.com") == 0);
	ATF_CHECK(killfile_has_hosts(kf));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(load_bad_prefix_reported);
ATF_TC_BODY(load_bad_prefix_reported, tc)
{
	struct killfile	*kf = kf_make();
	char		 err[256] = "";

	write_file("kill", "192.0.2.0/24\n10.0.0.0/33\n");
	ATF_CHECK_EQ(killfile_load(kf, "kill", err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "kill:2: bad entry 10.0.0.0/33");
	ATF_CHECK_EQ(killfile_count(kf), 0);
	ATF_CHECK(!has_addr(kf, "192.0.2.1"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(load_long_bad_entry_truncated);
ATF_TC_BODY(load_long_bad_entry_truncated, tc)
{
	struct killfile	*kf = kf_make();
	char		 err[1024] = "", text[2100];

	/* A 2000-octet entry with a control character at its start. */
	text[0] = '\001';
	memset(text + 1, 'x', 1999);
	strlcpy(text + 2000, "@@\n", sizeof(text) - 2000);
	write_file("kill", text);
	ATF_CHECK_EQ(killfile_load(kf, "kill", err, sizeof(err)), -1);
	ATF_CHECK_MSG(strncmp(err, "kill:1: bad entry ?xxx", 22) == 0,
	    "error \"%s\"", err);
	ATF_CHECK_MSG(strlen(err) < 100, "error of %zu octets", strlen(err));
	ATF_CHECK(strlen(err) > 3 && strcmp(err + strlen(err) - 3, "...") ==
	    0);
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(load_missing_keeps_old);
ATF_TC_BODY(load_missing_keeps_old, tc)
{
	struct killfile	*kf = kf_one("@example.org");
	char		 err[256] = "";

	ATF_CHECK_EQ(killfile_load(kf, "no/such/kill-file", err,
	    sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "no/such/kill-file") != NULL,
	    "error \"%s\" lacks the path", err);
	ATF_CHECK_MSG(strstr(err, "No such file") != NULL,
	    "error \"%s\" lacks the reason", err);
	ATF_CHECK_EQ(killfile_count(kf), 1);
	ATF_CHECK(killfile_has_sender(kf, "a@example.org"));
	killfile_free(kf);
}

ATF_TC_WITHOUT_HEAD(reload_replaces_contents);
ATF_TC_BODY(reload_replaces_contents, tc)
{
	struct killfile	*kf = kf_make();
	char		 err[256] = "";

	write_file("kill", "a@example.org\nmx.example.org\n192.0.2.0/24\n");
	if (killfile_load(kf, "kill", err, sizeof(err)) != 0)
		atf_tc_fail("killfile_load: %s", err);
	write_file("kill", "b@example.org\n2001:db8::/32\n");
	if (killfile_load(kf, "kill", err, sizeof(err)) != 0)
		atf_tc_fail("reload: %s", err);
	ATF_CHECK_EQ(killfile_count(kf), 2);
	ATF_CHECK(killfile_has_sender(kf, "b@example.org"));
	ATF_CHECK(has_addr(kf, "2001:db8::1"));
	ATF_CHECK(!killfile_has_sender(kf, "a@example.org"));
	ATF_CHECK(!killfile_has_host(kf, "mx.example.org"));
	ATF_CHECK(!has_addr(kf, "192.0.2.1"));

	/* An empty file empties it. */
	write_file("kill", "# nothing\n");
	if (killfile_load(kf, "kill", err, sizeof(err)) != 0)
		atf_tc_fail("reload: %s", err);
	ATF_CHECK_EQ(killfile_count(kf), 0);
	ATF_CHECK(!killfile_has_sender(kf, "b@example.org"));
	ATF_CHECK(!has_addr(kf, "2001:db8::1"));
	killfile_free(kf);
}

/*
 * Entry i of the big file, of kind i % BIGKINDS, with what to look up to
 * hit it: every number is distinct, so the entries are too.
 */
static void
big_entry(int i, char *entry, size_t len)
{
	switch (i % BIGKINDS) {
	case 0:
		snprintf(entry, len, "user%d@mail%d.example", i, i % 1000);
		break;
	case 1:
		snprintf(entry, len, "@domain%d.example", i);
		break;
	case 2:
		snprintf(entry, len, "host%d.clients.example", i);
		break;
	case 3:
		snprintf(entry, len, "10.%d.%d.%d", (i >> 16) & 0xff,
		    (i >> 8) & 0xff, i & 0xff);
		break;
	default:
		snprintf(entry, len, "2001:db8:%x:%x::/64", (i >> 16) & 0xffff,
		    i & 0xffff);
		break;
	}
}

/* Whether the key for number i, of its kind, is refused. */
static int
big_has(const struct killfile *kf, int i)
{
	char	 key[128];

	switch (i % BIGKINDS) {
	case 0:
		snprintf(key, sizeof(key), "User%d@mail%d.example", i,
		    i % 1000);
		return killfile_has_sender(kf, key);
	case 1:
		snprintf(key, sizeof(key), "someone@domain%d.example", i);
		return killfile_has_sender(kf, key);
	case 2:
		snprintf(key, sizeof(key), "host%d.clients.example", i);
		return killfile_has_host(kf, key);
	case 3:
		snprintf(key, sizeof(key), "10.%d.%d.%d", (i >> 16) & 0xff,
		    (i >> 8) & 0xff, i & 0xff);
		return has_addr(kf, key);
	default:
		snprintf(key, sizeof(key), "2001:db8:%x:%x::%x",
		    (i >> 16) & 0xffff, i & 0xffff, (i * 7) & 0xffff);
		return has_addr(kf, key);
	}
}

ATF_TC_WITHOUT_HEAD(million_entries);
ATF_TC_BODY(million_entries, tc)
{
	struct killfile	*kf = kf_make();
	FILE		*fp;
	char		 entry[128], err[256] = "";
	int		 i;

	ATF_REQUIRE((fp = fopen("big", "w")) != NULL);
	for (i = 0; i < BIGCOUNT; i++) {
		big_entry(i, entry, sizeof(entry));
		ATF_REQUIRE(fprintf(fp, "%s\n", entry) > 0);
	}
	ATF_REQUIRE(fclose(fp) == 0);
	if (killfile_load(kf, "big", err, sizeof(err)) != 0)
		atf_tc_fail("killfile_load: %s", err);
	ATF_REQUIRE_EQ(killfile_count(kf), BIGCOUNT);

	/* Present: a spread of numbers, each kind, and both ends. */
	for (i = 0; i < BIGCOUNT; i += 997)
		if (!big_has(kf, i))
			atf_tc_fail("entry %d not found", i);
	for (i = BIGCOUNT - BIGKINDS; i < BIGCOUNT; i++)
		if (!big_has(kf, i))
			atf_tc_fail("entry %d not found", i);
	/*
	 * Absent: numbers past the end (the IPv4 ones wrap into 10/8 from
	 * 2^24, so stay below that), and each kind's key for a number of
	 * another kind.
	 */
	for (i = BIGCOUNT; i < BIGCOUNT + 50000; i += 7)
		if (big_has(kf, i))
			atf_tc_fail("absent %d found", i);
	ATF_CHECK(!killfile_has_sender(kf, "user1@mail1.example"));
	ATF_CHECK(!killfile_has_sender(kf, "someone@domain0.example"));
	ATF_CHECK(!killfile_has_host(kf, "host3.clients.example"));
	ATF_CHECK(!has_addr(kf, "11.0.0.3"));
	ATF_CHECK(!has_addr(kf, "2001:db8:0:3::1"));
	killfile_free(kf);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sender_address);
	ATF_TP_ADD_TC(tp, sender_domain);
	ATF_TP_ADD_TC(tp, sender_subdomains);
	ATF_TP_ADD_TC(tp, host_name);
	ATF_TP_ADD_TC(tp, host_domain);
	ATF_TP_ADD_TC(tp, case_insensitive);
	ATF_TP_ADD_TC(tp, trailing_dot);
	ATF_TP_ADD_TC(tp, long_names);
	ATF_TP_ADD_TC(tp, ipv4_networks);
	ATF_TP_ADD_TC(tp, ipv6_networks);
	ATF_TP_ADD_TC(tp, many_prefix_lengths);
	ATF_TP_ADD_TC(tp, ipv4_mapped);
	ATF_TP_ADD_TC(tp, host_bits_masked);
	ATF_TP_ADD_TC(tp, malformed_refused);
	ATF_TP_ADD_TC(tp, odd_but_valid_entries);
	ATF_TP_ADD_TC(tp, duplicates_counted_once);
	ATF_TP_ADD_TC(tp, load_comments_blanks_spaces);
	ATF_TP_ADD_TC(tp, load_bad_line_keeps_old);
	ATF_TP_ADD_TC(tp, has_hosts);
	ATF_TP_ADD_TC(tp, load_bad_prefix_reported);
	ATF_TP_ADD_TC(tp, load_long_bad_entry_truncated);
	ATF_TP_ADD_TC(tp, load_missing_keeps_old);
	ATF_TP_ADD_TC(tp, reload_replaces_contents);
	ATF_TP_ADD_TC(tp, million_entries);
	return atf_no_error();
}
