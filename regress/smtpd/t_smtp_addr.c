/*
 * The MAIL FROM / RCPT TO path parser, the ESMTP parameter splitter and
 * the xtext check, driven by tables: every accepted path with what it
 * must parse to, every refused one with the reason it must give.  The
 * length limits are tried on strings built one octet either side.
 */
#include <atf-c.h>
#include <stdio.h>
#include <string.h>

#include "smtpd/smtp_addr.h"

#define NUL	SMTP_ADDR_NULL_OK
#define BARE	SMTP_ADDR_BARE_OK
#define UTF8	SMTP_ADDR_UTF8

/* The reasons, as the parser words them. */
#define E_CTRL		"control characters not allowed"
#define E_8BIT		"non-ASCII characters need SMTPUTF8"
#define E_UTF8		"invalid UTF-8"
#define E_BRACKETS	"missing angle brackets"
#define E_NULL		"null path not allowed"
#define E_NODOMAIN	"missing domain"
#define E_LOCAL		"invalid local part"
#define E_LOCALLEN	"local part too long"
#define E_QUOTE		"unterminated quoted string"
#define E_DOMAIN	"invalid domain"
#define E_LABELLEN	"domain label too long"
#define E_DOMAINLEN	"domain too long"
#define E_LITERAL	"invalid address literal"
#define E_GENERAL	"unsupported address literal"
#define E_ROUTE		"invalid source route"
#define E_PATHLEN	"path too long"
#define E_JUNK		"junk after path"

struct good {
	const char	*in;
	int		 flags;
	const char	*local;
	const char	*domain;
	int		 literal;
	int		 routed;
	int		 utf8;
	const char	*params;
};

struct bad {
	const char	*in;
	int		 flags;
	const char	*err;
};

static void
check_good(const struct good *g)
{
	struct mailaddr	 a;
	const char	*params = NULL, *err = NULL;

	memset(&a, 0xa5, sizeof(a));
	if (smtp_addr_parse_path(g->in, g->flags, &a, &params, &err) != 0) {
		atf_tc_fail_nonfatal("%s: refused: %s", g->in,
		    err ? err : "(no reason)");
		return;
	}
	ATF_CHECK_STREQ_MSG(a.local, g->local, "%s: local", g->in);
	ATF_CHECK_STREQ_MSG(a.domain, g->domain, "%s: domain", g->in);
	ATF_CHECK_EQ_MSG(a.literal, g->literal, "%s: literal", g->in);
	ATF_CHECK_EQ_MSG(a.routed, g->routed, "%s: routed", g->in);
	ATF_CHECK_EQ_MSG(a.utf8, g->utf8, "%s: utf8", g->in);
	ATF_CHECK_MSG(params != NULL, "%s: no params pointer", g->in);
	if (params != NULL)
		ATF_CHECK_STREQ_MSG(params, g->params, "%s: params", g->in);
}

static void
check_bad(const struct bad *b)
{
	struct mailaddr	 a;
	const char	*params = "untouched", *err = NULL;

	if (smtp_addr_parse_path(b->in, b->flags, &a, &params, &err) != -1) {
		atf_tc_fail_nonfatal("%s: accepted as <%s@%s>", b->in,
		    a.local, a.domain);
		return;
	}
	ATF_CHECK_MSG(err != NULL, "%s: no reason", b->in);
	if (err != NULL)
		ATF_CHECK_STREQ_MSG(err, b->err, "%s: reason", b->in);
	ATF_CHECK_STREQ_MSG(a.local, "", "%s: local left set", b->in);
	ATF_CHECK_STREQ_MSG(a.domain, "", "%s: domain left set", b->in);
	ATF_CHECK_STREQ_MSG(params, "untouched", "%s: params set", b->in);
}

#define RUN(table, fn) do {						\
	size_t	 i_;							\
	for (i_ = 0; i_ < sizeof(table) / sizeof(table[0]); i_++)	\
		fn(&table[i_]);						\
} while (0)

/* n copies of c, NUL-terminated, in buf. */
static char *
fill(char *buf, int c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* A domain of exactly len octets: 63-octet labels, then the rest. */
static char *
domain_of(char *buf, size_t len)
{
	size_t	 n = 0, label, left;

	while (n < len) {
		if (n > 0)
			buf[n++] = '.';
		left = len - n;
		label = left > 63 ? 63 : left;
		/* Leaving one octet would leave a dot and no label. */
		if (left - label == 1)
			label--;
		memset(buf + n, 'a' + n % 26, label);
		n += label;
	}
	buf[n] = '\0';
	ATF_REQUIRE_EQ(strlen(buf), len);
	return buf;
}

ATF_TC_WITHOUT_HEAD(ordinary);
ATF_TC_BODY(ordinary, tc)
{
	static const struct good good[] = {
		{ "<user@example.com>", 0, "user", "example.com", 0, 0, 0,
		    "" },
		{ "<User.Name@Mail.Example.COM>", 0, "User.Name",
		    "Mail.Example.COM", 0, 0, 0, "" },
		{ "<a@b.c.d.example>", 0, "a", "b.c.d.example", 0, 0, 0, "" },
		{ "<u2@host9.example>", 0, "u2", "host9.example", 0, 0, 0,
		    "" },
		{ "<1@2a.example>", 0, "1", "2a.example", 0, 0, 0, "" },
		{ "<u@x-y--z.example>", 0, "u", "x-y--z.example", 0, 0, 0,
		    "" },
		{ "<u@localhost>", 0, "u", "localhost", 0, 0, 0, "" },
		{ "<u@123.example>", 0, "u", "123.example", 0, 0, 0, "" },
		{ "<!#$%&'*+-/=?^_`{|}~@x.example>", 0,
		    "!#$%&'*+-/=?^_`{|}~", "x.example", 0, 0, 0, "" },
		{ "   <u@x.example>", 0, "u", "x.example", 0, 0, 0, "" },
		{ "<u@x.example> SIZE=100", 0, "u", "x.example", 0, 0, 0,
		    "SIZE=100" },
		{ "<u@x.example>    SIZE=100 BODY=8BITMIME", 0, "u",
		    "x.example", 0, 0, 0, "SIZE=100 BODY=8BITMIME" },
		{ "<u@x.example>   ", 0, "u", "x.example", 0, 0, 0, "" },
		/* Flags that allow more take nothing away. */
		{ "<u@x.example>", NUL | BARE | UTF8, "u", "x.example", 0, 0,
		    0, "" },
	};
	static const struct bad bad[] = {
		{ "<u@-x.example>", 0, E_DOMAIN },
		{ "<u@x-.example>", 0, E_DOMAIN },
		{ "<u@x.example->", 0, E_DOMAIN },
		{ "<u@x_y.example>", 0, E_DOMAIN },
		{ "<u@x.example.>", 0, E_DOMAIN },
		{ "<u@.x.example>", 0, E_DOMAIN },
		{ "<u@x..example>", 0, E_DOMAIN },
		{ "<u@>", 0, E_DOMAIN },
		{ "<@>", 0, E_ROUTE },
		{ "<u@x.example@y.example>", 0, E_DOMAIN },
		{ "<u@x.example >", 0, E_DOMAIN },
		{ "< u@x.example>", 0, E_LOCAL },
		{ "<u @x.example>", 0, E_LOCAL },
		{ "<u@x .example>", 0, E_DOMAIN },
		/* Numbers without brackets read as an IP address. */
		{ "<u@192.0.2.1>", 0, E_DOMAIN },
		{ "<u@example.123>", 0, E_DOMAIN },
		{ "<u@123>", 0, E_DOMAIN },
		{ "<.u@x.example>", 0, E_LOCAL },
		{ "<u.@x.example>", 0, E_LOCAL },
		{ "<u..v@x.example>", 0, E_LOCAL },
		{ "<@x.example>", 0, E_ROUTE },
		{ "<u(c)@x.example>", 0, E_LOCAL },
		{ "<u,v@x.example>", 0, E_LOCAL },
		{ "<u<v@x.example>", 0, E_LOCAL },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(brackets_and_spaces);
ATF_TC_BODY(brackets_and_spaces, tc)
{
	static const struct bad bad[] = {
		{ "u@x.example", 0, E_BRACKETS },
		{ "u@x.example>", 0, E_BRACKETS },
		{ "<u@x.example", 0, E_BRACKETS },
		{ "<u", 0, E_BRACKETS },
		{ "<", 0, E_LOCAL },
		{ "", 0, E_BRACKETS },
		{ "   ", 0, E_BRACKETS },
		{ "<u@x.example>x", 0, E_JUNK },
		{ "<u@x.example>>", 0, E_JUNK },
		{ "<u@x.example><v@y.example>", 0, E_JUNK },
		{ "<u@x.example>SIZE=1", 0, E_JUNK },
		{ "<>x", NUL, E_JUNK },
		{ "<<u@x.example>>", 0, E_LOCAL },
	};

	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(controls);
ATF_TC_BODY(controls, tc)
{
	static const struct bad bad[] = {
		{ "<u\r@x.example>", 0, E_CTRL },
		{ "<u@x.example\n>", 0, E_CTRL },
		{ "<u\t@x.example>", 0, E_CTRL },
		{ "\t<u@x.example>", 0, E_CTRL },
		{ "<u@x.example>\tSIZE=1", 0, E_CTRL },
		{ "<u@x.example>\r\n", 0, E_CTRL },
		{ "<\"a\tb\"@x.example>", 0, E_CTRL },
		{ "<\"a\\\tb\"@x.example>", 0, E_CTRL },
		{ "<u\x7f@x.example>", 0, E_CTRL },
		{ "<u\x01@x.example>", UTF8, E_CTRL },
		{ "<u\x1b@x.example>", 0, E_CTRL },
		/* A NUL ends the string: what precedes it is incomplete. */
		{ "<u\0@x.example>", 0, E_BRACKETS },
		{ "<\"u\0\"@x.example>", 0, E_QUOTE },
	};

	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(null_path);
ATF_TC_BODY(null_path, tc)
{
	static const struct good good[] = {
		{ "<>", NUL, "", "", 0, 0, 0, "" },
		{ "  <> SIZE=10", NUL, "", "", 0, 0, 0, "SIZE=10" },
	};
	static const struct bad bad[] = {
		{ "<>", 0, E_NULL },
		{ "<>", BARE | UTF8, E_NULL },
		{ "< >", NUL, E_LOCAL },
		{ "<@x.example:>", NUL, E_LOCAL },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(bare_postmaster);
ATF_TC_BODY(bare_postmaster, tc)
{
	static const struct good good[] = {
		{ "<postmaster>", BARE, "postmaster", "", 0, 0, 0, "" },
		{ "<Postmaster>", BARE, "Postmaster", "", 0, 0, 0, "" },
		{ "<POSTMASTER> X=1", BARE, "POSTMASTER", "", 0, 0, 0,
		    "X=1" },
		{ "<postmaster@x.example>", 0, "postmaster", "x.example", 0,
		    0, 0, "" },
	};
	static const struct bad bad[] = {
		{ "<postmaster>", 0, E_NODOMAIN },
		{ "<Postmaster>", NUL, E_NODOMAIN },
		{ "<someone>", BARE, E_NODOMAIN },
		{ "<someone>", 0, E_NODOMAIN },
		{ "<postmasters>", BARE, E_NODOMAIN },
		{ "<post.master>", BARE, E_NODOMAIN },
		{ "<\"postmaster\">", BARE, E_NODOMAIN },
		{ "<@x.example:postmaster>", BARE, E_NODOMAIN },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(quoted);
ATF_TC_BODY(quoted, tc)
{
	static const struct good good[] = {
		{ "<\"john doe\"@x.example>", 0, "\"john doe\"", "x.example",
		    0, 0, 0, "" },
		{ "<\"a\\\"b\"@x.example>", 0, "\"a\\\"b\"", "x.example", 0,
		    0, 0, "" },
		{ "<\"a\\\\b\"@x.example>", 0, "\"a\\\\b\"", "x.example", 0,
		    0, 0, "" },
		/* Unneeded quoting and escapes go. */
		{ "<\"john\"@x.example>", 0, "john", "x.example", 0, 0, 0,
		    "" },
		{ "<\"john.smith\"@x.example>", 0, "john.smith", "x.example",
		    0, 0, 0, "" },
		{ "<\"j\\ohn\"@x.example>", 0, "john", "x.example", 0, 0, 0,
		    "" },
		{ "<\"a\\ b\"@x.example>", 0, "\"a b\"", "x.example", 0, 0, 0,
		    "" },
		{ "<\"a\\@b\"@x.example>", 0, "\"a@b\"", "x.example", 0, 0, 0,
		    "" },
		/* Not a dot-string, so the quotes stay. */
		{ "<\".john\"@x.example>", 0, "\".john\"", "x.example", 0, 0,
		    0, "" },
		{ "<\"john.\"@x.example>", 0, "\"john.\"", "x.example", 0, 0,
		    0, "" },
		{ "<\"john..doe\"@x.example>", 0, "\"john..doe\"",
		    "x.example", 0, 0, 0, "" },
		{ "<\"\"@x.example>", 0, "\"\"", "x.example", 0, 0, 0, "" },
		{ "<\"<>\"@x.example>", 0, "\"<>\"", "x.example", 0, 0, 0,
		    "" },
		{ "<\" \"@x.example>", 0, "\" \"", "x.example", 0, 0, 0, "" },
	};
	static const struct bad bad[] = {
		{ "<\"john@x.example>", 0, E_QUOTE },
		{ "<\"john\\\"@x.example>", 0, E_QUOTE },
		{ "<\"jo\"hn@x.example>", 0, E_LOCAL },
		{ "<jo\"hn\"@x.example>", 0, E_LOCAL },
		{ "<\"a\".b@x.example>", 0, E_LOCAL },
		{ "<\"a\"\"b\"@x.example>", 0, E_LOCAL },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(relay_tricks);
ATF_TC_BODY(relay_tricks, tc)
{
	static const struct good good[] = {
		{ "<user%other@host.example>", 0, "user%other",
		    "host.example", 0, 0, 0, "" },
		{ "<other!user@host.example>", 0, "other!user",
		    "host.example", 0, 0, 0, "" },
		{ "<\"user@other\"@host.example>", 0, "\"user@other\"",
		    "host.example", 0, 0, 0, "" },
		{ "<@host.example:user@other.example>", 0, "user",
		    "other.example", 0, 1, 0, "" },
		{ "<user@[192.0.2.1]>", 0, "user", "[192.0.2.1]", 1, 0, 0,
		    "" },
		{ "<\"user%other@third\"@host.example>", 0,
		    "\"user%other@third\"", "host.example", 0, 0, 0, "" },
	};

	RUN(good, check_good);
}

ATF_TC_WITHOUT_HEAD(source_route);
ATF_TC_BODY(source_route, tc)
{
	static const struct good good[] = {
		{ "<@a.example:u@x.example>", 0, "u", "x.example", 0, 1, 0,
		    "" },
		{ "<@a.example,@b.example:u@x.example>", 0, "u", "x.example",
		    0, 1, 0, "" },
		{ "<@a.example,@b.example,@c:u@[192.0.2.7]>", 0, "u",
		    "[192.0.2.7]", 1, 1, 0, "" },
		{ "<@a.example:\"u v\"@x.example> X=1", 0, "\"u v\"",
		    "x.example", 0, 1, 0, "X=1" },
	};
	static const struct bad bad[] = {
		{ "<@a.example u@x.example>", 0, E_ROUTE },
		{ "<@a.example>", 0, E_ROUTE },
		{ "<@a.example>", NUL, E_ROUTE },
		{ "<@:u@x.example>", 0, E_ROUTE },
		{ "<@a.example,b.example:u@x.example>", 0, E_ROUTE },
		{ "<@a.example,:u@x.example>", 0, E_ROUTE },
		{ "<@a.example,,@b.example:u@x.example>", 0, E_ROUTE },
		{ "<@a..example:u@x.example>", 0, E_ROUTE },
		{ "<@a.example.:u@x.example>", 0, E_ROUTE },
		{ "<@-a.example:u@x.example>", 0, E_ROUTE },
		{ "<@[192.0.2.1]:u@x.example>", 0, E_ROUTE },
		{ "<@192.0.2.1:u@x.example>", 0, E_ROUTE },
		{ "<@a.example;u@x.example>", 0, E_ROUTE },
		{ "<@a.example:>", 0, E_LOCAL },
		{ "<@a.example:@b.example:u@x.example>", 0, E_LOCAL },
		{ "<@a.example::u@x.example>", 0, E_LOCAL },
		{ "<@a.example:u>", 0, E_NODOMAIN },
		{ "<@a.example", 0, E_ROUTE },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(address_literal);
ATF_TC_BODY(address_literal, tc)
{
	static const struct good good[] = {
		{ "<u@[192.0.2.1]>", 0, "u", "[192.0.2.1]", 1, 0, 0, "" },
		{ "<u@[0.0.0.0]>", 0, "u", "[0.0.0.0]", 1, 0, 0, "" },
		{ "<u@[255.255.255.255]>", 0, "u", "[255.255.255.255]", 1, 0,
		    0, "" },
		{ "<u@[IPv6:2001:db8::1]>", 0, "u", "[IPv6:2001:db8::1]", 1,
		    0, 0, "" },
		{ "<u@[ipv6:::1]>", 0, "u", "[ipv6:::1]", 1, 0, 0, "" },
		{ "<u@[IPv6:2001:DB8:0:0:0:0:0:1]>", 0, "u",
		    "[IPv6:2001:DB8:0:0:0:0:0:1]", 1, 0, 0, "" },
		{ "<u@[IPv6:::ffff:192.0.2.1]>", 0, "u",
		    "[IPv6:::ffff:192.0.2.1]", 1, 0, 0, "" },
	};
	static const struct bad bad[] = {
		{ "<u@[300.1.1.1]>", 0, E_LITERAL },
		{ "<u@[1.2.3]>", 0, E_LITERAL },
		{ "<u@[1.2.3.4.5]>", 0, E_LITERAL },
		{ "<u@[1.2.3.4.]>", 0, E_LITERAL },
		{ "<u@[]>", 0, E_LITERAL },
		{ "<u@[a.example]>", 0, E_LITERAL },
		{ "<u@[ 1.2.3.4]>", 0, E_LITERAL },
		{ "<u@[1.2.3.4>", 0, E_LITERAL },
		{ "<u@[1.2.3.4]x>", 0, E_DOMAIN },
		{ "<u@[1.2.3.4]", 0, E_BRACKETS },
		{ "<u@[IPv6:zz]>", 0, E_LITERAL },
		{ "<u@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, E_LITERAL },
		{ "<u@[IPv6:]>", 0, E_LITERAL },
		{ "<u@[IPv6:192.0.2.1]>", 0, E_LITERAL },
		{ "<u@[IPv6:fe80::1%eth0]>", 0, E_LITERAL },
		{ "<u@[::1]>", 0, E_LITERAL },
		{ "<u@[2001:db8::1]>", 0, E_GENERAL },
		{ "<u@[tag:stuff]>", 0, E_GENERAL },
		{ "<u@[IPv4:192.0.2.1]>", 0, E_GENERAL },
		{ "<u@[tag-:stuff]>", 0, E_LITERAL },
		{ "<u@[-tag:stuff]>", 0, E_GENERAL },
		{ "<u@x.[1.2.3.4]>", 0, E_DOMAIN },
		{ "<u@[1.2.3.4].x>", 0, E_DOMAIN },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(utf8);
ATF_TC_BODY(utf8, tc)
{
	static const struct good good[] = {
		{ "<jos\xc3\xa9@x.example>", UTF8, "jos\xc3\xa9", "x.example",
		    0, 0, 1, "" },
		{ "<u@b\xc3\xbc" "cher.example>", UTF8, "u",
		    "b\xc3\xbc" "cher.example", 0, 0, 1, "" },
		{ "<\"jo s\xc3\xa9\"@x.example>", UTF8, "\"jo s\xc3\xa9\"",
		    "x.example", 0, 0, 1, "" },
		{ "<\"jos\xc3\xa9\"@x.example>", UTF8, "jos\xc3\xa9",
		    "x.example", 0, 0, 1, "" },
		{ "<\xe2\x82\xac@x.example>", UTF8, "\xe2\x82\xac",
		    "x.example", 0, 0, 1, "" },
		{ "<\xf0\x9f\x98\x80@x.example>", UTF8, "\xf0\x9f\x98\x80",
		    "x.example", 0, 0, 1, "" },
		{ "<\xc2\xa0@x.example>", UTF8, "\xc2\xa0", "x.example", 0, 0,
		    1, "" },
		/* Only the effective mailbox counts. */
		{ "<@\xc3\xa9.example:u@x.example>", UTF8, "u", "x.example",
		    0, 1, 0, "" },
		{ "<u@x.example>", UTF8, "u", "x.example", 0, 0, 0, "" },
	};
	static const struct bad bad[] = {
		{ "<jos\xc3\xa9@x.example>", 0, E_8BIT },
		{ "<u@b\xc3\xbc" "cher.example>", 0, E_8BIT },
		{ "<\"jos\xc3\xa9\"@x.example>", 0, E_8BIT },
		{ "<@\xc3\xa9.example:u@x.example>", 0, E_8BIT },
		{ "<u@x.example> X=\xc3\xa9", 0, E_8BIT },
		{ "<\x80@x.example>", 0, E_8BIT },
		{ "<\xc0\x80@x.example>", UTF8, E_UTF8 },
		{ "<\xc1\xbf@x.example>", UTF8, E_UTF8 },
		{ "<\xe0\x80\xaf@x.example>", UTF8, E_UTF8 },
		{ "<\xf0\x80\x80\xaf@x.example>", UTF8, E_UTF8 },
		{ "<\x80@x.example>", UTF8, E_UTF8 },
		{ "<a\xbf" "b@x.example>", UTF8, E_UTF8 },
		{ "<\xed\xa0\x80@x.example>", UTF8, E_UTF8 },
		{ "<\xed\xbf\xbf@x.example>", UTF8, E_UTF8 },
		{ "<\xf4\x90\x80\x80@x.example>", UTF8, E_UTF8 },
		{ "<\xf5\x80\x80\x80@x.example>", UTF8, E_UTF8 },
		{ "<\xff@x.example>", UTF8, E_UTF8 },
		{ "<a\xc3@x.example>", UTF8, E_UTF8 },
		{ "<a\xe2\x82@x.example>", UTF8, E_UTF8 },
		{ "<a\xf0\x9f\x98@x.example>", UTF8, E_UTF8 },
		{ "<u@x.example\xc3>", UTF8, E_UTF8 },
		{ "<\"a\xc3\"@x.example>", UTF8, E_UTF8 },
		/* C1 controls, however well encoded. */
		{ "<\xc2\x85@x.example>", UTF8, E_UTF8 },
		{ "<u@\xc2\x9f.example>", UTF8, E_UTF8 },
		/* Outside what RFC 6531 extends. */
		{ "<\"a\\\xc3\xa9\"@x.example>", UTF8, E_LOCAL },
		{ "<u@[\xc3\xa9]>", UTF8, E_LITERAL },
		{ "<u@\xc3\xa9-.example>", UTF8, E_DOMAIN },
	};

	RUN(good, check_good);
	RUN(bad, check_bad);
}

ATF_TC_WITHOUT_HEAD(length_local);
ATF_TC_BODY(length_local, tc)
{
	char		 local[90], in[128], q[80];
	struct good	 g = { in, 0, local, "x.example", 0, 0, 0, "" };
	struct bad	 b = { in, 0, E_LOCALLEN };

	fill(local, 'l', 64);
	snprintf(in, sizeof(in), "<%s@x.example>", local);
	check_good(&g);
	fill(local, 'l', 65);
	snprintf(in, sizeof(in), "<%s@x.example>", local);
	check_bad(&b);

	/* Quoted, the quotes and backslashes count as written. */
	fill(q, 'q', 62);
	snprintf(in, sizeof(in), "<\"%s\"@x.example>", q);
	g.local = q;
	check_good(&g);
	fill(q, 'q', 63);
	snprintf(in, sizeof(in), "<\"%s\"@x.example>", q);
	check_bad(&b);
	fill(q, ' ', 62);
	snprintf(in, sizeof(in), "<\"%s\"@x.example>", q);
	snprintf(local, sizeof(local), "\"%s\"", q);
	g.local = local;
	check_good(&g);
	fill(q, 'q', 62);
	snprintf(in, sizeof(in), "<\"\\%s\"@x.example>", q);
	check_bad(&b);
	fill(q, 'q', 61);
	snprintf(in, sizeof(in), "<\"\\%s\"@x.example>", q);
	g.local = q;
	check_good(&g);
}

ATF_TC_WITHOUT_HEAD(length_label);
ATF_TC_BODY(length_label, tc)
{
	char		 label[70], dom[80], in[128];
	struct good	 g = { in, 0, "u", dom, 0, 0, 0, "" };
	struct bad	 b = { in, 0, E_LABELLEN };
	const char	*err = NULL;

	snprintf(dom, sizeof(dom), "%s.example", fill(label, 'd', 63));
	snprintf(in, sizeof(in), "<u@%s>", dom);
	check_good(&g);
	ATF_CHECK_EQ(smtp_addr_domain_valid(dom, 0, &err), 0);

	snprintf(dom, sizeof(dom), "%s.example", fill(label, 'd', 64));
	snprintf(in, sizeof(in), "<u@%s>", dom);
	check_bad(&b);
	ATF_CHECK_EQ(smtp_addr_domain_valid(dom, 0, &err), -1);
	ATF_CHECK_STREQ(err, E_LABELLEN);

	snprintf(dom, sizeof(dom), "x.%s", fill(label, 'd', 64));
	snprintf(in, sizeof(in), "<u@%s>", dom);
	check_bad(&b);
}

/*
 * A 255-octet domain fits no path (the path stops at 256 with the
 * brackets, "u" and "@"), so the domain limit itself is tried through
 * smtp_addr_domain_valid, and through the path only for its reason.
 */
ATF_TC_WITHOUT_HEAD(length_domain);
ATF_TC_BODY(length_domain, tc)
{
	char		 dom[300], in[320];
	struct bad	 b = { in, 0, NULL };
	const char	*err = NULL;

	domain_of(dom, 255);
	ATF_CHECK_EQ_MSG(smtp_addr_domain_valid(dom, 0, &err), 0, "%s", err);
	snprintf(in, sizeof(in), "<u@%s>", dom);
	b.err = E_PATHLEN;
	check_bad(&b);

	domain_of(dom, 256);
	err = NULL;
	ATF_CHECK_EQ(smtp_addr_domain_valid(dom, 0, &err), -1);
	ATF_CHECK_STREQ(err, E_DOMAINLEN);
	snprintf(in, sizeof(in), "<u@%s>", dom);
	b.err = E_DOMAINLEN;
	check_bad(&b);
}

ATF_TC_WITHOUT_HEAD(length_path);
ATF_TC_BODY(length_path, tc)
{
	char		 local[80], dom[300], in[400];
	struct good	 g = { in, 0, local, dom, 0, 0, 0, "" };
	struct bad	 b = { in, 0, E_PATHLEN };

	/* "<" 64 "@" 189 ">" is 256 octets. */
	fill(local, 'l', 64);
	domain_of(dom, 189);
	snprintf(in, sizeof(in), "<%s@%s>", local, dom);
	ATF_REQUIRE_EQ(strlen(in), 256);
	check_good(&g);

	domain_of(dom, 190);
	snprintf(in, sizeof(in), "<%s@%s>", local, dom);
	ATF_REQUIRE_EQ(strlen(in), 257);
	check_bad(&b);

	/* The spaces before "<" and the parameters are not the path. */
	domain_of(dom, 189);
	snprintf(in, sizeof(in), "    <%s@%s> SIZE=1", local, dom);
	g.params = "SIZE=1";
	check_good(&g);

	/* A route counts, though it is dropped. */
	domain_of(dom, 180);
	snprintf(in, sizeof(in), "<@r.example:%s@%s>", local, dom);
	ATF_REQUIRE_EQ(strlen(in), 258);
	check_bad(&b);
}

ATF_TC_WITHOUT_HEAD(domain_valid);
ATF_TC_BODY(domain_valid, tc)
{
	static const struct {
		const char	*in;
		int		 flags;
		const char	*err;	/* NULL: valid */
	} t[] = {
		{ "x.example", 0, NULL },
		{ "localhost", 0, NULL },
		{ "[192.0.2.1]", 0, NULL },
		{ "[IPv6:2001:db8::1]", 0, NULL },
		{ "b\xc3\xbc" "cher.example", UTF8, NULL },
		{ "b\xc3\xbc" "cher.example", 0, E_8BIT },
		{ "", 0, E_DOMAIN },
		{ "x.example.", 0, E_DOMAIN },
		{ "x.example ", 0, E_DOMAIN },
		{ "192.0.2.1", 0, E_DOMAIN },
		{ "[192.0.2.1", 0, E_LITERAL },
		{ "[192.0.2.1]x", 0, E_DOMAIN },
		{ "[tag:stuff]", 0, E_GENERAL },
		{ "x\r.example", 0, E_CTRL },
	};
	const char	*err;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err = NULL;
		r = smtp_addr_domain_valid(t[i].in, t[i].flags, &err);
		if (t[i].err == NULL)
			ATF_CHECK_EQ_MSG(r, 0, "%s: %s", t[i].in, err);
		else {
			ATF_CHECK_EQ_MSG(r, -1, "%s: accepted", t[i].in);
			ATF_CHECK_STREQ_MSG(err ? err : "(none)", t[i].err,
			    "%s", t[i].in);
		}
	}
}

ATF_TC_WITHOUT_HEAD(format);
ATF_TC_BODY(format, tc)
{
	struct mailaddr	 a;
	const char	*params, *err;
	char		 buf[64];

	ATF_REQUIRE(smtp_addr_parse_path("<\"a b\"@x.example>", 0, &a,
	    &params, &err) == 0);
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "\"a b\"@x.example");

	/* Exactly enough room, then one octet short. */
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, 16), 0);
	ATF_CHECK_STREQ(buf, "\"a b\"@x.example");
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, 15), -1);
	ATF_CHECK_STREQ(buf, "");
	ATF_CHECK_EQ(smtp_addr_format(&a, NULL, 0), -1);

	ATF_REQUIRE(smtp_addr_parse_path("<Postmaster>", BARE, &a, &params,
	    &err) == 0);
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "Postmaster");

	ATF_REQUIRE(smtp_addr_parse_path("<>", NUL, &a, &params, &err) == 0);
	snprintf(buf, sizeof(buf), "junk");
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "");
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, 1), 0);

	ATF_REQUIRE(smtp_addr_parse_path("<u@[IPv6:::1]>", 0, &a, &params,
	    &err) == 0);
	ATF_CHECK_EQ(smtp_addr_format(&a, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "u@[IPv6:::1]");
}

ATF_TC_WITHOUT_HEAD(params_valid);
ATF_TC_BODY(params_valid, tc)
{
	struct smtp_param	 p[SMTP_PARAMS_MAX];
	const char		*err = NULL;

	ATF_CHECK_EQ(smtp_params_parse("", p, SMTP_PARAMS_MAX, &err), 0);
	ATF_CHECK_EQ(smtp_params_parse("   ", p, SMTP_PARAMS_MAX, &err), 0);

	ATF_REQUIRE_EQ_MSG(smtp_params_parse("SIZE=1000 BODY=8BITMIME", p,
	    SMTP_PARAMS_MAX, &err), 2, "%s", err);
	ATF_CHECK_STREQ(p[0].key, "SIZE");
	ATF_CHECK_STREQ(p[0].value, "1000");
	ATF_CHECK_EQ(p[0].has_value, 1);
	ATF_CHECK_STREQ(p[1].key, "BODY");
	ATF_CHECK_STREQ(p[1].value, "8BITMIME");
	ATF_CHECK_EQ(p[1].has_value, 1);

	/* Keys upper-cased, values as written, spaces tolerated. */
	ATF_REQUIRE_EQ_MSG(smtp_params_parse("  smtputf8   ret=Hdrs "
	    "envid=a+2Bb X-y2=~!<", p, SMTP_PARAMS_MAX, &err), 4, "%s", err);
	ATF_CHECK_STREQ(p[0].key, "SMTPUTF8");
	ATF_CHECK_STREQ(p[0].value, "");
	ATF_CHECK_EQ(p[0].has_value, 0);
	ATF_CHECK_STREQ(p[1].key, "RET");
	ATF_CHECK_STREQ(p[1].value, "Hdrs");
	ATF_CHECK_STREQ(p[2].key, "ENVID");
	ATF_CHECK_STREQ(p[2].value, "a+2Bb");
	ATF_CHECK_STREQ(p[3].key, "X-Y2");
	ATF_CHECK_STREQ(p[3].value, "~!<");

	ATF_REQUIRE_EQ(smtp_params_parse("8 X- 9A-", p, SMTP_PARAMS_MAX,
	    &err), 3);
	ATF_CHECK_STREQ(p[0].key, "8");
	ATF_CHECK_STREQ(p[1].key, "X-");
	ATF_CHECK_STREQ(p[2].key, "9A-");
}

ATF_TC_WITHOUT_HEAD(params_limits);
ATF_TC_BODY(params_limits, tc)
{
	struct smtp_param	 p[SMTP_PARAMS_MAX + 1];
	char			 key[40], val[600], in[700];
	const char		*err;

	err = NULL;
	ATF_CHECK_EQ(smtp_params_parse("A B C D E F G H", p, SMTP_PARAMS_MAX,
	    &err), SMTP_PARAMS_MAX);
	err = NULL;
	ATF_CHECK_EQ(smtp_params_parse("A B C D E F G H I", p,
	    SMTP_PARAMS_MAX, &err), -1);
	ATF_CHECK_STREQ(err, "too many parameters");

	/* The array size given is the bound; nothing is written past it. */
	memset(&p[2], 0x5a, sizeof(p[2]));
	err = NULL;
	ATF_CHECK_EQ(smtp_params_parse("A B C", p, 2, &err), -1);
	ATF_CHECK_STREQ(err, "too many parameters");
	ATF_CHECK_EQ(p[2].key[0], 0x5a);
	ATF_CHECK_EQ(smtp_params_parse("A B", p, 2, &err), 2);
	ATF_CHECK_EQ(smtp_params_parse("", p, 0, &err), 0);

	fill(key, 'K', 31);
	ATF_CHECK_EQ(smtp_params_parse(key, p, 1, &err), 1);
	ATF_CHECK_STREQ(p[0].key, key);
	fill(key, 'K', 32);
	err = NULL;
	ATF_CHECK_EQ(smtp_params_parse(key, p, 1, &err), -1);
	ATF_CHECK_STREQ(err, "parameter keyword too long");

	snprintf(in, sizeof(in), "X=%s", fill(val, 'v', 511));
	ATF_CHECK_EQ(smtp_params_parse(in, p, 1, &err), 1);
	ATF_CHECK_STREQ(p[0].value, val);
	snprintf(in, sizeof(in), "X=%s", fill(val, 'v', 512));
	err = NULL;
	ATF_CHECK_EQ(smtp_params_parse(in, p, 1, &err), -1);
	ATF_CHECK_STREQ(err, "parameter value too long");
}

ATF_TC_WITHOUT_HEAD(params_invalid);
ATF_TC_BODY(params_invalid, tc)
{
	static const struct {
		const char	*in;
		const char	*err;
	} t[] = {
		{ "SIZE=1 SIZE=2", "repeated parameter" },
		{ "SIZE=1 size=2", "repeated parameter" },
		{ "BODY=7BIT SIZE=1 Body=8BITMIME", "repeated parameter" },
		{ "-X=1", "invalid parameter keyword" },
		{ "=1", "invalid parameter keyword" },
		{ "S_Z=1", "invalid character in parameter" },
		{ "SIZE=", "empty parameter value" },
		{ "SIZE= 1", "empty parameter value" },
		{ "SIZE=1=2", "invalid character in parameter" },
		{ "X=a==b", "invalid character in parameter" },
		{ "SIZE=1\t", "invalid character in parameter" },
		{ "SIZE=1\r", "invalid character in parameter" },
		{ "SIZE=\x01", "empty parameter value" },
		{ "SIZE\t=1", "invalid character in parameter" },
		{ "\tSIZE=1", "invalid parameter keyword" },
		{ "X=a\x7f" "b", "invalid character in parameter" },
		{ "X=\xc3\xa9", "empty parameter value" },
		{ "X\xc3\xa9=1", "invalid character in parameter" },
		{ "\xc3\xa9=1", "invalid parameter keyword" },
		{ "SIZE=1,BODY=7BIT", "invalid character in parameter" },
	};
	struct smtp_param	 p[SMTP_PARAMS_MAX];
	const char		*err;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err = NULL;
		ATF_CHECK_EQ_MSG(smtp_params_parse(t[i].in, p,
		    SMTP_PARAMS_MAX, &err), -1, "%s: accepted", t[i].in);
		ATF_CHECK_STREQ_MSG(err ? err : "(none)", t[i].err, "%s",
		    t[i].in);
	}
}

ATF_TC_WITHOUT_HEAD(xtext);
ATF_TC_BODY(xtext, tc)
{
	static const char *good[] = {
		"", "abc", "rfc822;user@x.example", "a+2Bb", "+2B+3D+20",
		"!\"#$%&'()*,-./09:;<>?@AZ[\\]^_`az{|}~", "+00+FF",
	};
	static const char *bad[] = {
		"a=b", "a b", "a+2bb", "+2", "+", "a+", "+G0", "+0g",
		"\x7f", "a\tb", "\xc3\xa9", "+ 20", "+2B=",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ATF_CHECK_EQ_MSG(smtp_xtext_valid(good[i]), 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ_MSG(smtp_xtext_valid(bad[i]), -1, "%s", bad[i]);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, ordinary);
	ATF_TP_ADD_TC(tp, brackets_and_spaces);
	ATF_TP_ADD_TC(tp, controls);
	ATF_TP_ADD_TC(tp, null_path);
	ATF_TP_ADD_TC(tp, bare_postmaster);
	ATF_TP_ADD_TC(tp, quoted);
	ATF_TP_ADD_TC(tp, relay_tricks);
	ATF_TP_ADD_TC(tp, source_route);
	ATF_TP_ADD_TC(tp, address_literal);
	ATF_TP_ADD_TC(tp, utf8);
	ATF_TP_ADD_TC(tp, length_local);
	ATF_TP_ADD_TC(tp, length_label);
	ATF_TP_ADD_TC(tp, length_domain);
	ATF_TP_ADD_TC(tp, length_path);
	ATF_TP_ADD_TC(tp, domain_valid);
	ATF_TP_ADD_TC(tp, format);
	ATF_TP_ADD_TC(tp, params_valid);
	ATF_TP_ADD_TC(tp, params_limits);
	ATF_TP_ADD_TC(tp, params_invalid);
	ATF_TP_ADD_TC(tp, xtext);
	return atf_no_error();
}
