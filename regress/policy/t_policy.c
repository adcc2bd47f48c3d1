/*
 * The policy engine, case by case.  Rules are written much as in
 * smtpd.conf and turned into criteria by a small parser here; facts are
 * written as changes to one ordinary remote transaction.  The tables
 * are fakes that fail the test when asked with the wrong kind or with a
 * key other than the fact they were made for, and count every call;
 * the broken ones answer every question with a failure.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <atf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relayd-policy/policy.h"

#define MAXRULES	6
#define MAXTOKENS	32
#define MAXCALLS	8
#define SPECSZ		256
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The fact a fake table must be asked about. */
enum fact {
	F_CLIENT,
	F_RDNS,
	F_SENDER,
	F_AUTH_USER,
	F_DOMAIN,
	F_RCPT,
};

struct fake_table {
	const char		*name;
	enum policy_table_kind	 kind;
	enum fact		 key;
	const char		*members[3];
	int			 broken;	/* every look-up fails */
};

static const struct fake_table fake_tables[] = {
	{ "relays", POLICY_TABLE_ADDR, F_CLIENT, { "192.0.2.10" }, 0 },
	{ "hosts", POLICY_TABLE_HOST, F_RDNS, { "mx.example.net" }, 0 },
	{ "senders", POLICY_TABLE_MAILADDR, F_SENDER,
	    { "alice@example.net", "@example.com" }, 0 },
	{ "users", POLICY_TABLE_USER, F_AUTH_USER, { "alice" }, 0 },
	{ "domains", POLICY_TABLE_DOMAIN, F_DOMAIN,
	    { "example.net", "example.com" }, 0 },
	{ "rcpts", POLICY_TABLE_MAILADDR, F_RCPT,
	    { "bob@example.org", "@example.com" }, 0 },
	{ "broken", POLICY_TABLE_ADDR, F_CLIENT, { "198.51.100.1" }, 1 },
	{ "brokenhosts", POLICY_TABLE_HOST, F_RDNS, { "mx.example.net" },
	    1 },
	{ "brokenrcpts", POLICY_TABLE_MAILADDR, F_RCPT,
	    { "bob@example.org" }, 1 },
};

struct call {
	char			 name[POLICY_VALUESZ];
	enum policy_table_kind	 kind;
	const void		*key;
};

struct fake {
	const char			*what;
	const struct policy_facts	*facts;
	int				 n;
	struct call			 call[MAXCALLS];
};

/*
 * The facts one case is about.  The text is cut up in place and the
 * facts point into it and at sin, so a factbuf must stay where it is.
 */
struct factbuf {
	char			 text[SPECSZ];
	struct sockaddr_in	 sin;
	struct policy_facts	 f;
};

/* Matching, one case: rules in order, the facts, what must result. */
struct mcase {
	const char	*what;
	const char	*rules[MAXRULES + 1];	/* "criteria -> action" */
	const char	*facts;
	/* action, "reject", "tempfail ACTION" (the rule) or NULL: none */
	const char	*expect;
	int		 calls;		/* table look-ups made */
};

static const struct mcase mcases[] = {
	/* Which rule. */
	{ "no rules", { NULL }, "", NULL, 0 },
	{ "a rule with no criteria matches",
	    { "-> all" }, "", "all", 0 },
	{ "the first of two matching rules wins",
	    { "from any for any -> first", "from any for any -> second" },
	    "", "first", 0 },
	{ "a broad rule wins over a later narrow one",
	    { "from any for any -> broad",
	    "from any for domain \"example.org\" -> narrow" },
	    "", "broad", 0 },
	{ "a rule that does not match is passed over",
	    { "from local for any -> local", "from any for any -> any" },
	    "", "any", 0 },
	{ "a look-up that misses passes on to the next rule",
	    { "from src <relays> for any -> relay", "from any -> any" },
	    "", "any", 1 },
	{ "no rule after the match is tried",
	    { "from any -> first", "from src <relays> -> second" },
	    "client=192.0.2.10", "first", 0 },
	{ "the third rule matches",
	    { "from local for any -> local",
	    "for domain \"example.net\" -> dom",
	    "for domain <domains> -> dtable", "for any -> any" },
	    "domain=example.com", "dtable", 1 },
	{ "none of several rules matches",
	    { "from local for any -> a", "tls -> b", "auth -> c" },
	    "", NULL, 0 },
	{ "a reject rule is chosen like any other",
	    { "from any -> reject", "from any -> any" }, "", "reject", 0 },

	/* Each kind, holding and not. */
	{ "from any, remote", { "from any -> m" }, "", "m", 0 },
	{ "from any, local submission", { "from any -> m" }, "submit",
	    "m", 0 },
	{ "from local, loopback", { "from local -> m" }, "loopback", "m", 0 },
	{ "from local, local submission", { "from local -> m" }, "submit",
	    "m", 0 },
	{ "from local, remote", { "from local -> m" }, "", NULL, 0 },
	{ "from src, client listed", { "from src <relays> -> m" },
	    "client=192.0.2.10", "m", 1 },
	{ "from src, client not listed", { "from src <relays> -> m" },
	    "client=192.0.2.11", NULL, 1 },
	{ "from src, local submission is never looked up",
	    { "from src <relays> -> m", "from any -> any" }, "submit",
	    "any", 0 },
	{ "from rdns, a name", { "from rdns -> m" },
	    "rdns=dsl.example.org", "m", 0 },
	{ "from rdns, no name", { "from rdns -> m" }, "", NULL, 0 },
	{ "from rdns <t>, name listed", { "from rdns <hosts> -> m" },
	    "rdns=mx.example.net", "m", 1 },
	{ "from rdns <t>, name not listed", { "from rdns <hosts> -> m" },
	    "rdns=dsl.example.net", NULL, 1 },
	{ "from rdns <t>, no name is not looked up",
	    { "from rdns <hosts> -> m" }, "", NULL, 0 },
	{ "from mail-from, address listed",
	    { "from mail-from <senders> -> m" },
	    "sender=alice@example.net", "m", 1 },
	{ "from mail-from, domain listed",
	    { "from mail-from <senders> -> m" },
	    "sender=carol@example.com", "m", 1 },
	{ "from mail-from, not listed",
	    { "from mail-from <senders> -> m" },
	    "sender=mallory@example.net", NULL, 1 },
	{ "from mail-from, null sender",
	    { "from mail-from <senders> -> m" }, "sender=", NULL, 1 },
	{ "auth, authenticated", { "auth -> m" }, "auth=mallory", "m", 0 },
	{ "auth, not authenticated", { "auth -> m" }, "", NULL, 0 },
	{ "auth <t>, user listed", { "auth <users> -> m" }, "auth=alice",
	    "m", 1 },
	{ "auth <t>, user not listed", { "auth <users> -> m" },
	    "auth=mallory", NULL, 1 },
	{ "auth <t>, not authenticated is not looked up",
	    { "auth <users> -> m" }, "", NULL, 0 },
	{ "tls, encrypted", { "tls -> m" }, "tls", "m", 0 },
	{ "tls, plain", { "tls -> m" }, "", NULL, 0 },
	{ "for any, a domain", { "for any -> m" }, "", "m", 0 },
	{ "for any, no domain", { "for any -> m" }, "nodomain", "m", 0 },
	{ "for local, local domain", { "for local -> m" }, "localdomain",
	    "m", 0 },
	{ "for local, other domain", { "for local -> m" }, "", NULL, 0 },
	{ "for domain, same name", { "for domain \"example.org\" -> m" },
	    "domain=example.org", "m", 0 },
	{ "for domain, rule in capitals",
	    { "for domain \"EXAMPLE.Org\" -> m" }, "domain=example.org",
	    "m", 0 },
	{ "for domain, recipient in capitals",
	    { "for domain \"example.org\" -> m" }, "domain=Example.ORG",
	    "m", 0 },
	{ "for domain, subdomain", { "for domain \"example.org\" -> m" },
	    "domain=sub.example.org", NULL, 0 },
	{ "for domain, longer name", { "for domain \"example.org\" -> m" },
	    "domain=example.org.invalid", NULL, 0 },
	{ "for domain, shorter name", { "for domain \"example.org\" -> m" },
	    "domain=example.or", NULL, 0 },
	{ "for domain, empty domain", { "for domain \"example.org\" -> m" },
	    "domain=", NULL, 0 },
	{ "for domain, no domain", { "for domain \"example.org\" -> m" },
	    "nodomain", NULL, 0 },
	{ "for domain \"\", empty domain", { "for domain \"\" -> m" },
	    "domain=", "m", 0 },
	{ "for domain <t>, listed", { "for domain <domains> -> m" },
	    "domain=example.com", "m", 1 },
	{ "for domain <t>, not listed", { "for domain <domains> -> m" },
	    "domain=example.org", NULL, 1 },
	{ "for domain <t>, empty domain is not looked up",
	    { "for domain <domains> -> m" }, "domain=", NULL, 0 },
	{ "for domain <t>, no domain is not looked up",
	    { "for domain <domains> -> m" }, "nodomain", NULL, 0 },
	{ "for rcpt-to, address listed", { "for rcpt-to <rcpts> -> m" },
	    "rcpt=bob@example.org", "m", 1 },
	{ "for rcpt-to, domain listed", { "for rcpt-to <rcpts> -> m" },
	    "rcpt=carol@example.com", "m", 1 },
	{ "for rcpt-to, not listed", { "for rcpt-to <rcpts> -> m" },
	    "rcpt=dave@example.org", NULL, 1 },

	/* Each kind negated. */
	{ "!from any", { "!from any -> m" }, "", NULL, 0 },
	{ "!from local, remote", { "!from local -> m" }, "", "m", 0 },
	{ "!from local, loopback", { "!from local -> m" }, "loopback",
	    NULL, 0 },
	{ "!from src, client listed", { "!from src <relays> -> m" },
	    "client=192.0.2.10", NULL, 1 },
	{ "!from src, client not listed", { "!from src <relays> -> m" },
	    "client=192.0.2.11", "m", 1 },
	{ "!from src, local submission is not looked up",
	    { "!from src <relays> -> m" }, "submit", "m", 0 },
	{ "!from rdns, no name", { "!from rdns -> m" }, "", "m", 0 },
	{ "!from rdns, a name", { "!from rdns -> m" },
	    "rdns=mx.example.net", NULL, 0 },
	{ "!from rdns <t>, name listed", { "!from rdns <hosts> -> m" },
	    "rdns=mx.example.net", NULL, 1 },
	{ "!from rdns <t>, name not listed", { "!from rdns <hosts> -> m" },
	    "rdns=dsl.example.net", "m", 1 },
	{ "!from rdns <t>, no name", { "!from rdns <hosts> -> m" },
	    "", "m", 0 },
	{ "!from mail-from, listed", { "!from mail-from <senders> -> m" },
	    "sender=carol@example.com", NULL, 1 },
	{ "!from mail-from, not listed",
	    { "!from mail-from <senders> -> m" },
	    "sender=mallory@example.net", "m", 1 },
	{ "!auth, not authenticated", { "!auth -> m" }, "", "m", 0 },
	{ "!auth, authenticated", { "!auth -> m" }, "auth=alice", NULL, 0 },
	{ "!auth <t>, user listed", { "!auth <users> -> m" }, "auth=alice",
	    NULL, 1 },
	{ "!auth <t>, user not listed", { "!auth <users> -> m" },
	    "auth=mallory", "m", 1 },
	{ "!auth <t>, not authenticated", { "!auth <users> -> m" }, "",
	    "m", 0 },
	{ "!tls, plain", { "!tls -> m" }, "", "m", 0 },
	{ "!tls, encrypted", { "!tls -> m" }, "tls", NULL, 0 },
	{ "!for any", { "!for any -> m" }, "", NULL, 0 },
	{ "!for local, other domain", { "!for local -> m" }, "", "m", 0 },
	{ "!for local, local domain", { "!for local -> m" }, "localdomain",
	    NULL, 0 },
	{ "!for domain, other domain", { "!for domain \"example.org\" -> m" },
	    "domain=example.net", "m", 0 },
	{ "!for domain, same in other case",
	    { "!for domain \"example.org\" -> m" }, "domain=EXAMPLE.org",
	    NULL, 0 },
	{ "!for domain, no domain", { "!for domain \"example.org\" -> m" },
	    "nodomain", "m", 0 },
	{ "!for domain <t>, listed", { "!for domain <domains> -> m" },
	    "domain=example.com", NULL, 1 },
	{ "!for domain <t>, not listed", { "!for domain <domains> -> m" },
	    "domain=example.org", "m", 1 },
	{ "!for domain <t>, no domain", { "!for domain <domains> -> m" },
	    "nodomain", "m", 0 },
	{ "!for rcpt-to, listed", { "!for rcpt-to <rcpts> -> m" },
	    "rcpt=bob@example.org", NULL, 1 },
	{ "!for rcpt-to, not listed", { "!for rcpt-to <rcpts> -> m" },
	    "rcpt=dave@example.org", "m", 1 },

	/* Several criteria: all must hold, the first failure ends it. */
	{ "source holds, domain does not",
	    { "from src <relays> for domain \"example.org\" -> both",
	    "from any for any -> rest" },
	    "client=192.0.2.10 domain=example.net", "rest", 1 },
	{ "source and domain both hold",
	    { "from src <relays> for domain \"example.org\" -> both",
	    "from any for any -> rest" },
	    "client=192.0.2.10 domain=example.org", "both", 1 },
	{ "domain holds, source does not",
	    { "from src <relays> for domain \"example.org\" -> both",
	    "from any for any -> rest" },
	    "client=192.0.2.11 domain=example.org", "rest", 1 },
	{ "authenticated but not encrypted",
	    { "auth from any for any tls -> m" }, "auth=alice", NULL, 0 },
	{ "authenticated and encrypted",
	    { "auth from any for any tls -> m" }, "auth=alice tls", "m", 0 },
	{ "two look-ups, both hold",
	    { "from src <relays> for rcpt-to <rcpts> -> m" },
	    "client=192.0.2.10 rcpt=bob@example.org", "m", 2 },
	{ "a look-up that misses ends the rule",
	    { "from src <relays> from mail-from <senders> -> m" },
	    "client=192.0.2.11 sender=alice@example.net", NULL, 1 },
	{ "a failed plain criterion saves the look-up",
	    { "from local for domain <domains> -> m" },
	    "domain=example.com", NULL, 0 },
	{ "a failed domain saves a later look-up",
	    { "for domain \"example.net\" from src <relays> -> m" },
	    "client=192.0.2.10 domain=example.org", NULL, 0 },
	{ "a failed negation saves the look-up",
	    { "!tls from src <relays> -> m" }, "client=192.0.2.10 tls",
	    NULL, 0 },

	/* A look-up that fails is no answer, and stops the rules. */
	{ "from src, table fails", { "from src <broken> -> m" }, "",
	    "tempfail m", 1 },
	{ "!from src, table fails", { "!from src <broken> -> m" }, "",
	    "tempfail m", 1 },
	{ "!from src, table fails, the later rule is not tried",
	    { "!from src <broken> for any -> relay",
	    "from src <relays> -> listed", "from any -> any" },
	    "client=192.0.2.10", "tempfail relay", 1 },
	{ "a reject rule whose table fails is not passed over",
	    { "from src <broken> for any -> reject",
	    "from any for any -> relay" }, "", "tempfail reject", 1 },
	{ "a failure in a later rule, after one that does not match",
	    { "from local for any -> local", "from src <broken> -> b",
	    "from any -> c" }, "", "tempfail b", 1 },
	{ "a rule that matches before the failing one wins",
	    { "from any for any -> first",
	    "from src <broken> for any -> reject" }, "", "first", 0 },
	{ "from src, local submission asks no failing table",
	    { "from src <broken> -> m", "from any -> any" }, "submit",
	    "any", 0 },
	{ "for rcpt-to, table fails", { "for rcpt-to <brokenrcpts> -> m" },
	    "", "tempfail m", 1 },
	{ "!for rcpt-to, table fails",
	    { "!for rcpt-to <brokenrcpts> -> m", "for any -> any" }, "",
	    "tempfail m", 1 },
	{ "from rdns <t>, table fails", { "!from rdns <brokenhosts> -> m" },
	    "rdns=mx.example.net", "tempfail m", 1 },
	{ "a criterion that does not hold, after the failure",
	    { "from src <broken> for domain \"example.net\" -> m",
	    "from any for any -> any" }, "domain=example.org", "any", 1 },
	{ "a criterion that does not hold, before the failure",
	    { "for domain \"example.net\" from src <broken> -> m",
	    "from any for any -> any" }, "domain=example.org", "any", 0 },
	{ "a negation that does not hold, after the failure",
	    { "from src <broken> !tls -> m", "from any -> any" }, "tls",
	    "any", 1 },
	{ "a failure and a table that answers no",
	    { "from src <broken> from src <relays> -> m", "from any -> any" },
	    "client=192.0.2.11", "any", 2 },
	{ "a failure and a table that answers yes",
	    { "from src <broken> from src <relays> -> m", "from any -> any" },
	    "client=192.0.2.10", "tempfail m", 2 },

	/* The reverse DNS failed: whether there is a name is unknown. */
	{ "from rdns, DNS failed", { "from rdns -> m", "from any -> any" },
	    "rdnsfail", "tempfail m", 0 },
	{ "!from rdns, DNS failed", { "!from rdns -> m", "from any -> any" },
	    "rdnsfail", "tempfail m", 0 },
	{ "from rdns <t>, DNS failed, the table is not asked",
	    { "from rdns <hosts> -> m" }, "rdnsfail", "tempfail m", 0 },
	{ "!from rdns <t>, DNS failed",
	    { "!from rdns <hosts> -> m" }, "rdnsfail", "tempfail m", 0 },
	{ "a rule without rdns does not care that DNS failed",
	    { "from any for any -> m" }, "rdnsfail", "m", 0 },
	{ "DNS failed, but another criterion does not hold",
	    { "tls from rdns -> m", "from any -> any" }, "rdnsfail", "any",
	    0 },
};

/* Shadowing, one case: the rules and the (shadowed, by) pairs. */
struct ucase {
	const char	*what;
	const char	*rules[MAXRULES + 1];
	int		 want[MAXRULES][2];	/* rule numbers, from 1 */
	int		 nwant;
};

static const struct ucase ucases[] = {
	{ "no rules", { NULL }, { { 0 } }, 0 },
	{ "a catch-all shadows every later rule",
	    { "from any for any -> all", "from local for local -> a",
	    "auth from any for any -> b", "for domain \"example.org\" -> c" },
	    { { 2, 1 }, { 3, 1 }, { 4, 1 } }, 3 },
	{ "a rule with no criteria shadows every later rule",
	    { "-> all", "tls -> a", "!from local -> b" },
	    { { 2, 1 }, { 3, 1 } }, 2 },
	{ "from local for any shadows from local for domain",
	    { "from local for any -> a", "from local for domain \"x\" -> b" },
	    { { 2, 1 } }, 1 },
	{ "a narrow rule does not shadow a broader one",
	    { "from local for domain \"x\" -> a", "from local for any -> b",
	    "from any for any -> c" },
	    { { 0 } }, 0 },
	{ "different source tables",
	    { "from src <a> for any -> a", "from src <b> for any -> b" },
	    { { 0 } }, 0 },
	{ "the same source table",
	    { "from src <a> for any -> a",
	    "from src <a> for domain <d> -> b" },
	    { { 2, 1 } }, 1 },
	{ "table names are compared exactly",
	    { "from src <Relays> -> a", "from src <relays> -> b" },
	    { { 0 } }, 0 },
	{ "a negation shadows the same negation",
	    { "!from local for any -> a", "!from local for local -> b" },
	    { { 2, 1 } }, 1 },
	{ "a negation does not shadow the plain criterion",
	    { "!from local for any -> a", "from local for any -> b" },
	    { { 0 } }, 0 },
	{ "a plain criterion does not shadow its negation",
	    { "from local for any -> a", "!from local for any -> b" },
	    { { 0 } }, 0 },
	{ "!from any holds never, so shadows nothing",
	    { "!from any -> a", "from local -> b" }, { { 0 } }, 0 },
	{ "!for any holds never, so shadows nothing",
	    { "!for any -> a", "for local -> b" }, { { 0 } }, 0 },
	{ "identical rules",
	    { "from local for local -> a", "from local for local -> b" },
	    { { 2, 1 } }, 1 },
	{ "three identical rules, both named after the first",
	    { "tls for local -> a", "tls for local -> b",
	    "tls for local -> c" },
	    { { 2, 1 }, { 3, 1 } }, 2 },
	{ "shadowed by the first of two that cover it",
	    { "from local for any -> a", "from local for domain \"x\" -> b",
	    "from local for domain \"x\" tls -> c" },
	    { { 2, 1 }, { 3, 1 } }, 2 },
	{ "shadowed by a rule other than the first",
	    { "tls -> a", "from local -> b", "from local auth -> c" },
	    { { 3, 2 } }, 1 },
	{ "domains are compared without case",
	    { "for domain \"Example.ORG\" -> a",
	    "from local for domain \"example.org\" -> b" },
	    { { 2, 1 } }, 1 },
	{ "different domains",
	    { "for domain \"example.org\" -> a",
	    "for domain \"example.net\" -> b" },
	    { { 0 } }, 0 },
	{ "criteria in another order",
	    { "tls from local -> a", "from local for any tls auth -> b" },
	    { { 2, 1 } }, 1 },
	{ "a criterion the later rule lacks",
	    { "from local tls -> a", "from local for any -> b" },
	    { { 0 } }, 0 },
	{ "auth with a table does not shadow plain auth",
	    { "auth <users> -> a", "auth -> b" }, { { 0 } }, 0 },
	{ "an ordinary configuration",
	    { "from local for local -> local",
	    "from any for domain \"example.org\" -> in",
	    "auth from any for any -> out" },
	    { { 0 } }, 0 },
};

static const struct fake_table *
fake_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NELEM(fake_tables); i++)
		if (strcmp(fake_tables[i].name, name) == 0)
			return &fake_tables[i];
	return NULL;
}

static const char *
fake_fact(const struct policy_facts *f, enum fact which)
{
	switch (which) {
	case F_CLIENT:
		break;
	case F_RDNS:
		return f->rdns;
	case F_SENDER:
		return f->sender;
	case F_AUTH_USER:
		return f->auth_user;
	case F_DOMAIN:
		return f->rcpt_domain;
	case F_RCPT:
		return f->rcpt;
	}
	return NULL;
}

/* As the real tables do: the address itself, then its @domain. */
static int
fake_holds(const struct fake_table *t, const char *key)
{
	const char	*at;
	size_t		 i;

	at = t->kind == POLICY_TABLE_MAILADDR ? strchr(key, '@') : NULL;
	for (i = 0; i < NELEM(t->members) && t->members[i] != NULL; i++)
		if (strcmp(t->members[i], key) == 0 ||
		    (at != NULL && strcmp(t->members[i], at) == 0))
			return 1;
	return 0;
}

static int
fake_has(void *arg, const char *name, enum policy_table_kind kind,
    const void *key)
{
	struct fake		*fk = arg;
	const struct fake_table	*t;
	const struct sockaddr_in *sin;
	const char		*want;
	char			 addr[INET_ADDRSTRLEN];

	if (fk->n < MAXCALLS) {
		strlcpy(fk->call[fk->n].name, name, sizeof(fk->call[0].name));
		fk->call[fk->n].kind = kind;
		fk->call[fk->n].key = key;
	}
	fk->n++;
	if ((t = fake_find(name)) == NULL)
		atf_tc_fail("%s: no table \"%s\"", fk->what, name);
	if (kind != t->kind)
		atf_tc_fail("%s: table %s asked with kind %d", fk->what, name,
		    kind);
	if (key == NULL)
		atf_tc_fail("%s: table %s asked with no key", fk->what, name);
	if (t->key == F_CLIENT) {
		if (key != fk->facts->client)
			atf_tc_fail("%s: table %s not asked the client",
			    fk->what, name);
		sin = key;
		ATF_REQUIRE(inet_ntop(AF_INET, &sin->sin_addr, addr,
		    sizeof(addr)) != NULL);
		if (t->broken)
			return -1;
		return fake_holds(t, addr);
	}
	want = fake_fact(fk->facts, t->key);
	if (want == NULL || strcmp(key, want) != 0)
		atf_tc_fail("%s: table %s asked \"%s\", want \"%s\"",
		    fk->what, name, (const char *)key,
		    want != NULL ? want : "(none)");
	if (t->broken)
		return -1;
	return fake_holds(t, key);
}

static void
fake_init(struct fake *fk, const char *what, const struct policy_facts *f)
{
	memset(fk, 0, sizeof(*fk));
	fk->what = what;
	fk->facts = f;
}

/*
 * An ordinary remote transaction, changed by each word of spec: submit,
 * loopback, client=IP, rdns=NAME, rdnsfail (the reverse DNS failed),
 * auth=USER, tls, sender=ADDR,
 * rcpt=ADDR (which also sets the domain), domain=D, nodomain,
 * localdomain.
 */
static void
facts_build(struct factbuf *fb, const char *spec)
{
	struct policy_facts	*f = &fb->f;
	char			*w, *v, *last;

	ATF_REQUIRE(strlcpy(fb->text, spec, sizeof(fb->text)) <
	    sizeof(fb->text));
	memset(&fb->sin, 0, sizeof(fb->sin));
	fb->sin.sin_family = AF_INET;
	ATF_REQUIRE(inet_pton(AF_INET, "198.51.100.1", &fb->sin.sin_addr) ==
	    1);
	memset(f, 0, sizeof(*f));
	f->client = (struct sockaddr *)&fb->sin;
	f->sender = "alice@example.net";
	f->rcpt = "bob@example.org";
	f->rcpt_domain = "example.org";

	for (w = strtok_r(fb->text, " ", &last); w != NULL;
	    w = strtok_r(NULL, " ", &last)) {
		if ((v = strchr(w, '=')) != NULL)
			*v++ = '\0';
		if (strcmp(w, "submit") == 0) {
			f->client = NULL;
			f->client_local = 1;
		} else if (strcmp(w, "loopback") == 0) {
			ATF_REQUIRE(inet_pton(AF_INET, "127.0.0.1",
			    &fb->sin.sin_addr) == 1);
			f->client_local = 1;
		} else if (strcmp(w, "client") == 0 && v != NULL)
			ATF_REQUIRE(inet_pton(AF_INET, v,
			    &fb->sin.sin_addr) == 1);
		else if (strcmp(w, "rdns") == 0 && v != NULL)
			f->rdns = v;
		else if (strcmp(w, "rdnsfail") == 0) {
			f->rdns = NULL;
			f->rdns_failed = 1;
		}
		else if (strcmp(w, "auth") == 0 && v != NULL) {
			f->authenticated = 1;
			f->auth_user = v;
		} else if (strcmp(w, "tls") == 0)
			f->tls = 1;
		else if (strcmp(w, "sender") == 0 && v != NULL)
			f->sender = v;
		else if (strcmp(w, "rcpt") == 0 && v != NULL) {
			f->rcpt = v;
			f->rcpt_domain = strchr(v, '@') != NULL ?
			    strchr(v, '@') + 1 : "";
		} else if (strcmp(w, "domain") == 0 && v != NULL)
			f->rcpt_domain = v;
		else if (strcmp(w, "nodomain") == 0)
			f->rcpt_domain = NULL;
		else if (strcmp(w, "localdomain") == 0)
			f->rcpt_domain_local = 1;
		else
			atf_tc_fail("facts \"%s\": bad word %s", spec, w);
	}
}

/* How a criterion is written: one or two words and what follows. */
enum follows {
	NOTHING,
	TABLE,		/* <t> */
	OPT_TABLE,	/* [<t>] */
	DOMAIN,		/* "d" or <t> */
};

static const struct word {
	const char		*first;
	const char		*second;
	enum policy_kind	 kind;
	enum follows		 follows;
} words[] = {
	{ "from", "any", POLICY_FROM_ANY, NOTHING },
	{ "from", "local", POLICY_FROM_LOCAL, NOTHING },
	{ "from", "src", POLICY_FROM_SRC, TABLE },
	{ "from", "rdns", POLICY_FROM_RDNS, OPT_TABLE },
	{ "from", "mail-from", POLICY_FROM_MAILFROM, TABLE },
	{ "auth", NULL, POLICY_AUTH, OPT_TABLE },
	{ "tls", NULL, POLICY_TLS, NOTHING },
	{ "for", "any", POLICY_FOR_ANY, NOTHING },
	{ "for", "local", POLICY_FOR_LOCAL, NOTHING },
	{ "for", "domain", POLICY_FOR_DOMAIN, DOMAIN },
	{ "for", "rcpt-to", POLICY_FOR_RCPTTO, TABLE },
};

/* The inside of a token written between open and close, or NULL. */
static char *
unwrap(char *tok, char open, char close)
{
	size_t	 len = strlen(tok);

	if (len < 2 || tok[0] != open || tok[len - 1] != close)
		return NULL;
	tok[len - 1] = '\0';
	return tok + 1;
}

static const struct word *
word_find(char **tok, int n, int i)
{
	const char	*first = tok[i] + (tok[i][0] == '!');
	size_t		 j;

	for (j = 0; j < NELEM(words); j++) {
		if (strcmp(words[j].first, first) != 0)
			continue;
		if (words[j].second == NULL ||
		    (i + 1 < n && strcmp(words[j].second, tok[i + 1]) == 0))
			return &words[j];
	}
	return NULL;
}

/* Adds the criterion written at tok[i]; returns the index after it. */
static int
criterion_parse(struct policy_rule *r, const char *spec, char **tok, int n,
    int i)
{
	const struct word	*w;
	enum policy_kind	 kind;
	const char		*value = NULL;
	int			 negate = tok[i][0] == '!';

	if ((w = word_find(tok, n, i)) == NULL)
		atf_tc_fail("rule \"%s\": bad word %s", spec, tok[i]);
	i += w->second != NULL ? 2 : 1;
	kind = w->kind;
	switch (w->follows) {
	case NOTHING:
		break;
	case OPT_TABLE:
		if (i < n && tok[i][0] == '<')
			value = unwrap(tok[i++], '<', '>');
		break;
	case TABLE:
		if (i < n)
			value = unwrap(tok[i++], '<', '>');
		ATF_REQUIRE_MSG(value != NULL, "rule \"%s\": no table", spec);
		break;
	case DOMAIN:
		if (i < n && (value = unwrap(tok[i], '<', '>')) != NULL)
			kind = POLICY_FOR_DOMAIN_TABLE;
		else if (i < n)
			value = unwrap(tok[i], '"', '"');
		ATF_REQUIRE_MSG(value != NULL, "rule \"%s\": no domain",
		    spec);
		i++;
		break;
	}
	ATF_REQUIRE(policy_rule_add(r, kind, negate, value) != NULL);
	return i;
}

/* "criteria -> action", where an action of reject makes it reject. */
static struct policy_rule *
rule_parse(const char *spec, int line)
{
	struct policy_rule	*r;
	char			 buf[SPECSZ], *tok[MAXTOKENS], *p, *last;
	int			 i, n = 0;

	ATF_REQUIRE(strlcpy(buf, spec, sizeof(buf)) < sizeof(buf));
	for (p = strtok_r(buf, " ", &last); p != NULL;
	    p = strtok_r(NULL, " ", &last)) {
		ATF_REQUIRE(n < MAXTOKENS);
		tok[n++] = p;
	}
	ATF_REQUIRE((r = policy_rule_new(line)) != NULL);
	i = 0;
	while (i < n && strcmp(tok[i], "->") != 0)
		i = criterion_parse(r, spec, tok, n, i);
	ATF_REQUIRE_MSG(i + 2 == n, "rule \"%s\": want -> action", spec);
	if (strcmp(tok[i + 1], "reject") == 0)
		r->reject = 1;
	else
		ATF_REQUIRE(strlcpy(r->action, tok[i + 1], sizeof(r->action)) <
		    sizeof(r->action));
	return r;
}

static void
rules_build(struct policy_rules *rules, const char *const *spec)
{
	struct policy_rule	*r;
	int			 i;

	TAILQ_INIT(rules);
	/* TAILQ_INSERT_TAIL names its element more than once. */
	for (i = 0; i < MAXRULES && spec[i] != NULL; i++) {
		r = rule_parse(spec[i], i + 1);
		TAILQ_INSERT_TAIL(rules, r, entry);
	}
}

static void
rules_free(struct policy_rules *rules)
{
	struct policy_rule	*r;

	while ((r = TAILQ_FIRST(rules)) != NULL) {
		TAILQ_REMOVE(rules, r, entry);
		policy_rule_free(r);
	}
}

static const char *
rule_outcome(const struct policy_rule *r)
{
	if (r == NULL)
		return "(none)";
	return r->reject ? "reject" : r->action;
}

/* What a match came to, as an mcase expects it: NULL for no rule. */
static const char *
match_outcome(enum policy_result res, const struct policy_rule *r,
    char *buf, size_t len)
{
	switch (res) {
	case POLICY_NOMATCH:
		return r == NULL ? NULL : "(no match, with a rule)";
	case POLICY_MATCH:
		return r == NULL ? "(match, without a rule)" :
		    rule_outcome(r);
	case POLICY_TEMPFAIL:
		snprintf(buf, len, "tempfail %s", rule_outcome(r));
		return buf;
	}
	return "(unknown result)";
}

ATF_TC_WITHOUT_HEAD(match_cases);
ATF_TC_BODY(match_cases, tc)
{
	const struct mcase		*mc;
	const struct policy_rule	*r;
	struct policy_rules		 rules;
	struct factbuf			 fb;
	struct fake			 fk;
	enum policy_result		 res;
	const char			*got;
	char				 buf[POLICY_NAMESZ + 16];
	size_t				 i;

	for (i = 0; i < NELEM(mcases); i++) {
		mc = &mcases[i];
		rules_build(&rules, mc->rules);
		facts_build(&fb, mc->facts);
		fake_init(&fk, mc->what, &fb.f);

		r = (const struct policy_rule *)&rules;	/* must be set */
		res = policy_match(&rules, &fb.f, fake_has, &fk, &r);
		got = match_outcome(res, r, buf, sizeof(buf));
		if (mc->expect == NULL)
			ATF_CHECK_MSG(got == NULL, "%s: matched %s", mc->what,
			    got);
		else
			ATF_CHECK_MSG(got != NULL &&
			    strcmp(got, mc->expect) == 0,
			    "%s: matched %s, want %s", mc->what,
			    got != NULL ? got : "(none)", mc->expect);
		ATF_CHECK_MSG(fk.n == mc->calls,
		    "%s: %d table look-ups, want %d", mc->what, fk.n,
		    mc->calls);
		rules_free(&rules);
	}
}

/* The rule returned is the one in the list, not a copy. */
ATF_TC_WITHOUT_HEAD(match_returns_the_rule);
ATF_TC_BODY(match_returns_the_rule, tc)
{
	static const char *const spec[] = {
		"from local -> a", "from any -> b", "from any -> c", NULL
	};
	const struct policy_rule	*r;
	struct policy_rules		 rules;
	struct factbuf			 fb;
	struct fake			 fk;

	rules_build(&rules, spec);
	facts_build(&fb, "");
	fake_init(&fk, "match_returns_the_rule", &fb.f);
	ATF_CHECK_EQ(policy_match(&rules, &fb.f, fake_has, &fk, &r),
	    POLICY_MATCH);
	ATF_CHECK(r == TAILQ_NEXT(TAILQ_FIRST(&rules), entry));
	ATF_REQUIRE(r != NULL);
	ATF_CHECK_EQ(r->line, 2);
	rules_free(&rules);
}

/*
 * Every look-up at once, in the order written: each table by its
 * name, with its kind and the whole fact as key (not the address's
 * domain: the tables do that fallback).
 */
ATF_TC_WITHOUT_HEAD(callback_arguments);
ATF_TC_BODY(callback_arguments, tc)
{
	static const char *const spec[] = {
		"from src <relays> from rdns <hosts> "
		"from mail-from <senders> auth <users> "
		"for domain <domains> for rcpt-to <rcpts> -> all", NULL
	};
	static const struct {
		const char		*name;
		enum policy_table_kind	 kind;
		const char		*key;
	} want[] = {
		{ "relays", POLICY_TABLE_ADDR, NULL },
		{ "hosts", POLICY_TABLE_HOST, "mx.example.net" },
		{ "senders", POLICY_TABLE_MAILADDR, "carol@example.com" },
		{ "users", POLICY_TABLE_USER, "alice" },
		{ "domains", POLICY_TABLE_DOMAIN, "example.net" },
		{ "rcpts", POLICY_TABLE_MAILADDR, "dave@example.com" },
	};
	const struct policy_rule	*r;
	struct policy_rules		 rules;
	struct factbuf			 fb;
	struct fake			 fk;
	size_t				 i;

	rules_build(&rules, spec);
	facts_build(&fb, "client=192.0.2.10 rdns=mx.example.net "
	    "sender=carol@example.com auth=alice rcpt=dave@example.com "
	    "domain=example.net");
	fake_init(&fk, "callback_arguments", &fb.f);
	ATF_CHECK_EQ(policy_match(&rules, &fb.f, fake_has, &fk, &r),
	    POLICY_MATCH);
	ATF_CHECK(r != NULL);
	ATF_REQUIRE_EQ(fk.n, (int)NELEM(want));
	for (i = 0; i < NELEM(want); i++) {
		ATF_CHECK_STREQ(fk.call[i].name, want[i].name);
		ATF_CHECK_EQ(fk.call[i].kind, want[i].kind);
		if (want[i].key == NULL)
			ATF_CHECK(fk.call[i].key == fb.f.client);
		else
			ATF_CHECK_STREQ(fk.call[i].key, want[i].key);
	}
	rules_free(&rules);
}

ATF_TC_WITHOUT_HEAD(rule_new_is_empty);
ATF_TC_BODY(rule_new_is_empty, tc)
{
	struct policy_rule	*r;

	ATF_REQUIRE((r = policy_rule_new(42)) != NULL);
	ATF_CHECK_EQ(r->line, 42);
	ATF_CHECK(TAILQ_EMPTY(&r->criteria));
	ATF_CHECK_EQ(r->reject, 0);
	ATF_CHECK_STREQ(r->reject_text, "");
	ATF_CHECK_STREQ(r->action, "");
	policy_rule_free(r);
}

ATF_TC_WITHOUT_HEAD(rule_add);
ATF_TC_BODY(rule_add, tc)
{
	struct policy_rule	*r;
	struct policy_criterion	*c, *first, *second, *third;
	char			 longest[POLICY_VALUESZ];
	char			 toolong[POLICY_VALUESZ + 1];
	int			 n;

	ATF_REQUIRE((r = policy_rule_new(1)) != NULL);
	first = policy_rule_add(r, POLICY_FROM_SRC, 1, "relays");
	second = policy_rule_add(r, POLICY_TLS, 0, NULL);
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	third = policy_rule_add(r, POLICY_FOR_DOMAIN, 0, longest);
	ATF_REQUIRE(first != NULL && second != NULL && third != NULL);

	ATF_CHECK_EQ(first->kind, POLICY_FROM_SRC);
	ATF_CHECK(first->negate);
	ATF_CHECK_STREQ(first->value, "relays");
	ATF_CHECK_EQ(second->kind, POLICY_TLS);
	ATF_CHECK(!second->negate);
	ATF_CHECK_STREQ(second->value, "");
	ATF_CHECK_STREQ(third->value, longest);

	/* A value cut short would name another table: refused, not kept. */
	memset(toolong, 'a', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	ATF_CHECK(policy_rule_add(r, POLICY_FOR_DOMAIN, 0, toolong) == NULL);

	ATF_CHECK(TAILQ_FIRST(&r->criteria) == first);
	ATF_CHECK(TAILQ_NEXT(first, entry) == second);
	ATF_CHECK(TAILQ_NEXT(second, entry) == third);
	n = 0;
	TAILQ_FOREACH(c, &r->criteria, entry)
		n++;
	ATF_CHECK_EQ(n, 3);
	policy_rule_free(r);
}

/* What policy_unreachable reported. */
struct reports {
	int	 n;
	int	 pair[MAXRULES * MAXRULES][2];
};

static void
report(const struct policy_rule *shadowed, const struct policy_rule *by,
    void *arg)
{
	struct reports	*rp = arg;

	if (rp->n < (int)NELEM(rp->pair)) {
		rp->pair[rp->n][0] = shadowed->line;
		rp->pair[rp->n][1] = by->line;
	}
	rp->n++;
}

static int
reports_count(const struct reports *rp, int shadowed, int by)
{
	int	 i, n = 0;

	for (i = 0; i < rp->n && i < (int)NELEM(rp->pair); i++)
		if (rp->pair[i][0] == shadowed && rp->pair[i][1] == by)
			n++;
	return n;
}

ATF_TC_WITHOUT_HEAD(unreachable_cases);
ATF_TC_BODY(unreachable_cases, tc)
{
	const struct ucase	*uc;
	struct policy_rules	 rules;
	struct reports		 rp;
	size_t			 i;
	int			 j;

	for (i = 0; i < NELEM(ucases); i++) {
		uc = &ucases[i];
		rules_build(&rules, uc->rules);
		memset(&rp, 0, sizeof(rp));
		policy_unreachable(&rules, report, &rp);
		ATF_CHECK_MSG(rp.n == uc->nwant, "%s: %d reports, want %d",
		    uc->what, rp.n, uc->nwant);
		for (j = 0; j < uc->nwant; j++)
			ATF_CHECK_MSG(reports_count(&rp, uc->want[j][0],
			    uc->want[j][1]) == 1,
			    "%s: rule %d shadowed by %d reported %d times",
			    uc->what, uc->want[j][0], uc->want[j][1],
			    reports_count(&rp, uc->want[j][0],
			    uc->want[j][1]));
		rules_free(&rules);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, match_cases);
	ATF_TP_ADD_TC(tp, match_returns_the_rule);
	ATF_TP_ADD_TC(tp, callback_arguments);
	ATF_TP_ADD_TC(tp, rule_new_is_empty);
	ATF_TP_ADD_TC(tp, rule_add);
	ATF_TP_ADD_TC(tp, unreachable_cases);
	return atf_no_error();
}
