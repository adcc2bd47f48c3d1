/*
 * The policy engine, case by case: each case is a list of rules, the
 * facts of one recipient and the action the first matching rule must
 * carry (or none).  Tables are a fake reached through the callback,
 * which also checks that it is asked with the right name and kind.
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

#define MAXRULES	4
#define MAXCALLS	8

/* The fake tables. */
#define ADDR_TABLE	"relays"
#define ADDR_MEMBER	"192.0.2.10"
#define DOMAIN_TABLE	"domains"

static const char *const domain_members[] = { "example.net", "example.com" };

struct rule_spec {
	enum policy_from	 from;
	const char		*from_table;
	enum policy_for		 dest;
	const char		*domain;	/* a name or a table name */
	const char		*action;	/* NULL ends the list */
};

struct pcase {
	const char		*what;
	struct rule_spec	 rules[MAXRULES + 1];
	const char		*client;	/* NULL: local submission */
	int			 client_local;
	const char		*rcpt_domain;
	int			 rcpt_domain_local;
	const char		*expect;	/* NULL: no rule matches */
	int			 calls;	/* table look-ups expected */
};

#define R_ANY_ANY(a)		{ FROM_ANY, NULL, FOR_ANY, NULL, a }
#define R_LOCAL_ANY(a)		{ FROM_LOCAL, NULL, FOR_ANY, NULL, a }
#define R_SRC_ANY(a)		{ FROM_SRC, ADDR_TABLE, FOR_ANY, NULL, a }
#define R_ANY_LOCAL(a)		{ FROM_ANY, NULL, FOR_LOCAL, NULL, a }
#define R_ANY_DOMAIN(d, a)	{ FROM_ANY, NULL, FOR_DOMAIN, d, a }
#define R_ANY_DTABLE(a)		{ FROM_ANY, NULL, FOR_DOMAIN_TABLE, \
				    DOMAIN_TABLE, a }
#define R_SRC_DOMAIN(d, a)	{ FROM_SRC, ADDR_TABLE, FOR_DOMAIN, d, a }
#define R_END			{ 0, NULL, 0, NULL, NULL }

static const struct pcase cases[] = {
	{ "no rules", { R_END },
	    "198.51.100.1", 0, "example.org", 0, NULL, 0 },
	{ "first of two matching rules wins",
	    { R_ANY_ANY("first"), R_ANY_ANY("second"), R_END },
	    "198.51.100.1", 0, "example.org", 0, "first", 0 },
	{ "first match wins over a later, narrower rule",
	    { R_ANY_ANY("broad"), R_ANY_DOMAIN("example.org", "narrow"),
	    R_END },
	    "198.51.100.1", 0, "example.org", 0, "broad", 0 },
	{ "a rule that does not match is skipped",
	    { R_LOCAL_ANY("local"), R_ANY_ANY("any"), R_END },
	    "198.51.100.1", 0, "example.org", 0, "any", 0 },
	{ "from any matches a remote client",
	    { R_ANY_ANY("any"), R_END },
	    "203.0.113.5", 0, "example.org", 0, "any", 0 },
	{ "from any matches local submission",
	    { R_ANY_ANY("any"), R_END },
	    NULL, 1, "example.org", 0, "any", 0 },
	{ "from local matches a local client",
	    { R_LOCAL_ANY("local"), R_END },
	    "127.0.0.1", 1, "example.org", 0, "local", 0 },
	{ "from local matches local submission",
	    { R_LOCAL_ANY("local"), R_END },
	    NULL, 1, "example.org", 0, "local", 0 },
	{ "from local refuses a remote client",
	    { R_LOCAL_ANY("local"), R_END },
	    "198.51.100.1", 0, "example.org", 0, NULL, 0 },
	{ "from src matches a client in the table",
	    { R_SRC_ANY("relay"), R_END },
	    ADDR_MEMBER, 0, "example.org", 0, "relay", 1 },
	{ "from src refuses a client not in the table",
	    { R_SRC_ANY("relay"), R_END },
	    "192.0.2.11", 0, "example.org", 0, NULL, 1 },
	{ "from src refuses local submission without asking",
	    { R_SRC_ANY("relay"), R_END },
	    NULL, 1, "example.org", 1, NULL, 0 },
	{ "from src falls through to the next rule",
	    { R_SRC_ANY("relay"), R_LOCAL_ANY("local"), R_END },
	    NULL, 1, "example.org", 0, "local", 0 },
	{ "for any matches any domain",
	    { R_ANY_ANY("any"), R_END },
	    "198.51.100.1", 0, "anything.invalid", 0, "any", 0 },
	{ "for local matches a local domain",
	    { R_ANY_LOCAL("deliver"), R_END },
	    "198.51.100.1", 0, "mail.example.org", 1, "deliver", 0 },
	{ "for local refuses another domain",
	    { R_ANY_LOCAL("deliver"), R_END },
	    "198.51.100.1", 0, "example.org", 0, NULL, 0 },
	{ "for domain matches the same name",
	    { R_ANY_DOMAIN("example.org", "dom"), R_END },
	    "198.51.100.1", 0, "example.org", 0, "dom", 0 },
	{ "for domain matches case-insensitively",
	    { R_ANY_DOMAIN("example.org", "dom"), R_END },
	    "198.51.100.1", 0, "ExAmPlE.ORG", 0, "dom", 0 },
	{ "for domain in capitals matches lower case",
	    { R_ANY_DOMAIN("EXAMPLE.ORG", "dom"), R_END },
	    "198.51.100.1", 0, "example.org", 0, "dom", 0 },
	{ "for domain refuses a subdomain",
	    { R_ANY_DOMAIN("example.org", "dom"), R_END },
	    "198.51.100.1", 0, "sub.example.org", 0, NULL, 0 },
	{ "for domain refuses a longer name",
	    { R_ANY_DOMAIN("example.org", "dom"), R_END },
	    "198.51.100.1", 0, "example.org.evil", 0, NULL, 0 },
	{ "for domain refuses a prefix of the name",
	    { R_ANY_DOMAIN("example.org", "dom"), R_END },
	    "198.51.100.1", 0, "example.or", 0, NULL, 0 },
	{ "for domain refuses a recipient without a domain",
	    { R_ANY_DOMAIN("example.org", "dom"), R_END },
	    "198.51.100.1", 0, NULL, 0, NULL, 0 },
	{ "for domain table matches a member",
	    { R_ANY_DTABLE("dtable"), R_END },
	    "198.51.100.1", 0, "example.com", 0, "dtable", 1 },
	{ "for domain table refuses a non-member",
	    { R_ANY_DTABLE("dtable"), R_END },
	    "198.51.100.1", 0, "example.org", 0, NULL, 1 },
	{ "for domain table refuses no domain without asking",
	    { R_ANY_DTABLE("dtable"), R_END },
	    "198.51.100.1", 0, NULL, 0, NULL, 0 },
	{ "from and for must both match",
	    { R_SRC_DOMAIN("example.org", "both"), R_ANY_ANY("rest"),
	    R_END },
	    ADDR_MEMBER, 0, "example.net", 0, "rest", 1 },
	{ "from and for both matching",
	    { R_SRC_DOMAIN("example.org", "both"), R_ANY_ANY("rest"),
	    R_END },
	    ADDR_MEMBER, 0, "example.org", 0, "both", 1 },
	{ "several rules, the third matches",
	    { R_LOCAL_ANY("local"), R_ANY_DOMAIN("example.org", "dom"),
	    R_ANY_DTABLE("dtable"), R_ANY_ANY("any") },
	    "198.51.100.1", 0, "example.net", 0, "dtable", 1 },
};

/* What the fake table function saw. */
struct calls {
	int				 n;
	char				 name[MAXCALLS][POLICY_NAMESZ];
	enum policy_table_kind		 kind[MAXCALLS];
	const void			*key[MAXCALLS];
};

static int
fake_has(void *arg, const char *name, enum policy_table_kind kind,
    const void *key)
{
	struct calls			*c = arg;
	const struct sockaddr_in	*sin;
	char				 buf[INET6_ADDRSTRLEN];
	size_t				 i;

	if (c->n < MAXCALLS) {
		strlcpy(c->name[c->n], name, sizeof(c->name[c->n]));
		c->kind[c->n] = kind;
		c->key[c->n] = key;
	}
	c->n++;
	if (key == NULL)
		atf_tc_fail("table %s asked with no key", name);
	if (kind == POLICY_TABLE_ADDR) {
		if (strcmp(name, ADDR_TABLE) != 0)
			atf_tc_fail("address asked of table %s", name);
		sin = key;
		if (sin->sin_family != AF_INET)
			return 0;
		if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)) ==
		    NULL)
			atf_tc_fail("inet_ntop");
		return strcmp(buf, ADDR_MEMBER) == 0;
	}
	if (kind != POLICY_TABLE_DOMAIN)
		atf_tc_fail("table %s asked with kind %d", name, kind);
	if (strcmp(name, DOMAIN_TABLE) != 0)
		atf_tc_fail("domain asked of table %s", name);
	for (i = 0; i < sizeof(domain_members) / sizeof(domain_members[0]);
	    i++)
		if (strcmp(key, domain_members[i]) == 0)
			return 1;
	return 0;
}

static void
rules_build(struct policy_rules *rules, const struct rule_spec *spec)
{
	struct policy_rule	*r;
	int			 i;

	TAILQ_INIT(rules);
	for (i = 0; i < MAXRULES && spec[i].action != NULL; i++) {
		ATF_REQUIRE((r = calloc(1, sizeof(*r))) != NULL);
		r->line = i + 1;
		r->from = spec[i].from;
		if (spec[i].from_table != NULL)
			strlcpy(r->from_table, spec[i].from_table,
			    sizeof(r->from_table));
		r->dest = spec[i].dest;
		if (spec[i].domain != NULL)
			strlcpy(r->domain, spec[i].domain, sizeof(r->domain));
		strlcpy(r->action, spec[i].action, sizeof(r->action));
		TAILQ_INSERT_TAIL(rules, r, entry);
	}
}

static void
rules_free(struct policy_rules *rules)
{
	struct policy_rule	*r;

	while ((r = TAILQ_FIRST(rules)) != NULL) {
		TAILQ_REMOVE(rules, r, entry);
		free(r);
	}
}

static struct sockaddr_in
client_make(const char *s)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ATF_REQUIRE(inet_pton(AF_INET, s, &sin.sin_addr) == 1);
	return sin;
}

ATF_TC_WITHOUT_HEAD(match_cases);
ATF_TC_BODY(match_cases, tc)
{
	const struct pcase		*pc;
	const struct policy_rule	*r;
	struct policy_rules		 rules;
	struct policy_facts		 f;
	struct sockaddr_in		 sin;
	struct calls			 calls;
	size_t				 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pc = &cases[i];
		rules_build(&rules, pc->rules);
		memset(&f, 0, sizeof(f));
		if (pc->client != NULL) {
			sin = client_make(pc->client);
			f.client = (struct sockaddr *)&sin;
		}
		f.client_local = pc->client_local;
		f.sender = "sender@example.org";
		f.rcpt_domain = pc->rcpt_domain;
		f.rcpt_domain_local = pc->rcpt_domain_local;
		memset(&calls, 0, sizeof(calls));

		r = policy_match(&rules, &f, fake_has, &calls);
		if (pc->expect == NULL)
			ATF_CHECK_MSG(r == NULL, "%s: matched %s", pc->what,
			    r != NULL ? r->action : "");
		else if (r == NULL)
			ATF_CHECK_MSG(0, "%s: no match, want %s", pc->what,
			    pc->expect);
		else
			ATF_CHECK_MSG(strcmp(r->action, pc->expect) == 0,
			    "%s: matched %s, want %s", pc->what, r->action,
			    pc->expect);
		ATF_CHECK_EQ_MSG(calls.n, pc->calls,
		    "%s: %d table look-ups, want %d", pc->what, calls.n,
		    pc->calls);
		rules_free(&rules);
	}
}

/* The match returned is the rule itself, not a copy of it. */
ATF_TC_WITHOUT_HEAD(match_returns_the_rule);
ATF_TC_BODY(match_returns_the_rule, tc)
{
	static const struct rule_spec spec[] = {
		R_LOCAL_ANY("a"), R_ANY_ANY("b"), R_ANY_ANY("c"), R_END
	};
	struct policy_rules		 rules;
	struct policy_facts		 f;
	struct calls			 calls;
	const struct policy_rule	*r, *want;

	rules_build(&rules, spec);
	memset(&f, 0, sizeof(f));
	memset(&calls, 0, sizeof(calls));
	f.rcpt_domain = "example.org";
	want = TAILQ_NEXT(TAILQ_FIRST(&rules), entry);
	r = policy_match(&rules, &f, fake_has, &calls);
	ATF_CHECK(r == want);
	ATF_REQUIRE(r != NULL);
	ATF_CHECK_EQ(r->line, 2);
	rules_free(&rules);
}

ATF_TC_WITHOUT_HEAD(src_callback_gets_name_kind_key);
ATF_TC_BODY(src_callback_gets_name_kind_key, tc)
{
	static const struct rule_spec spec[] = {
		R_SRC_ANY("relay"), R_END
	};
	struct policy_rules		 rules;
	struct policy_facts		 f;
	struct sockaddr_in		 sin = client_make(ADDR_MEMBER);
	struct calls			 calls;
	const struct policy_rule	*r;

	rules_build(&rules, spec);
	memset(&f, 0, sizeof(f));
	memset(&calls, 0, sizeof(calls));
	f.client = (struct sockaddr *)&sin;
	f.rcpt_domain = "example.org";
	r = policy_match(&rules, &f, fake_has, &calls);
	ATF_REQUIRE(r != NULL);
	ATF_CHECK_STREQ(r->action, "relay");
	ATF_REQUIRE_EQ(calls.n, 1);
	ATF_CHECK_STREQ(calls.name[0], ADDR_TABLE);
	ATF_CHECK_EQ(calls.kind[0], POLICY_TABLE_ADDR);
	ATF_CHECK(calls.key[0] == f.client);
	rules_free(&rules);
}

ATF_TC_WITHOUT_HEAD(domain_callback_gets_name_kind_key);
ATF_TC_BODY(domain_callback_gets_name_kind_key, tc)
{
	static const struct rule_spec spec[] = {
		R_ANY_DTABLE("dtable"), R_END
	};
	struct policy_rules		 rules;
	struct policy_facts		 f;
	struct calls			 calls;
	const struct policy_rule	*r;
	const char			*domain = "example.net";

	rules_build(&rules, spec);
	memset(&f, 0, sizeof(f));
	memset(&calls, 0, sizeof(calls));
	f.rcpt_domain = domain;
	r = policy_match(&rules, &f, fake_has, &calls);
	ATF_REQUIRE(r != NULL);
	ATF_CHECK_STREQ(r->action, "dtable");
	ATF_REQUIRE_EQ(calls.n, 1);
	ATF_CHECK_STREQ(calls.name[0], DOMAIN_TABLE);
	ATF_CHECK_EQ(calls.kind[0], POLICY_TABLE_DOMAIN);
	ATF_CHECK(calls.key[0] == domain);
	rules_free(&rules);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, match_cases);
	ATF_TP_ADD_TC(tp, match_returns_the_rule);
	ATF_TP_ADD_TC(tp, src_callback_gets_name_kind_key);
	ATF_TP_ADD_TC(tp, domain_callback_gets_name_kind_key);
	return atf_no_error();
}
