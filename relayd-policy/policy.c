/*
 * Match rules, first match wins: a rule applies when every one of its
 * criteria holds.  A criterion is true, false, or unknown when a table
 * or the reverse DNS failed; ! leaves unknown unknown, and a rule that
 * might match but for a failure stops the search with a temporary
 * failure.  The engine trusts the facts it is handed and the caller's
 * table function, and decides nothing else; it holds no tables itself,
 * so it can be tested with fakes.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

struct policy_rule *
policy_rule_new(int line)
{
	struct policy_rule	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->line = line;
	TAILQ_INIT(&r->criteria);
	return r;
}

void
policy_rule_free(struct policy_rule *r)
{
	struct policy_criterion	*c;

	if (r == NULL)
		return;
	while ((c = TAILQ_FIRST(&r->criteria)) != NULL) {
		TAILQ_REMOVE(&r->criteria, c, entry);
		free(c);
	}
	free(r);
}

struct policy_criterion *
policy_rule_add(struct policy_rule *r, enum policy_kind kind, int negate,
    const char *value)
{
	struct policy_criterion	*c;

	if (value == NULL)
		value = "";
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	/* A cut table name or domain would name something else. */
	if (strlcpy(c->value, value, sizeof(c->value)) >= sizeof(c->value)) {
		free(c);
		return NULL;
	}
	c->kind = kind;
	c->negate = negate != 0;
	TAILQ_INSERT_TAIL(&r->criteria, c, entry);
	return c;
}

/*
 * Ask a table: 1 yes, 0 no, -1 when it could not say.  Only a clear
 * answer decides; anything below 0 is a failure, which ! cannot turn
 * into a yes.
 */
static int
policy_ask(policy_table_fn has, void *arg, const char *table,
    enum policy_table_kind kind, const void *key)
{
	int	 r;

	if ((r = has(arg, table, kind, key)) < 0)
		return -1;
	return r > 0;
}

/*
 * Whether the criterion holds, before its ! is applied: 1, 0, or -1
 * when a look-up it needs failed.
 */
static int
policy_holds(const struct policy_criterion *c, const struct policy_facts *f,
    policy_table_fn has, void *arg)
{
	switch (c->kind) {
	case POLICY_FROM_ANY:
	case POLICY_FOR_ANY:
		return 1;
	case POLICY_FROM_LOCAL:
		return f->client_local != 0;
	case POLICY_FROM_SRC:
		/* Local submission has no address to look up. */
		if (f->client == NULL)
			return 0;
		return policy_ask(has, arg, c->value, POLICY_TABLE_ADDR,
		    f->client);
	case POLICY_FROM_RDNS:
		/* A name DNS could not give may or may not exist. */
		if (f->rdns == NULL)
			return f->rdns_failed ? -1 : 0;
		if (c->value[0] == '\0')
			return 1;
		return policy_ask(has, arg, c->value, POLICY_TABLE_HOST,
		    f->rdns);
	case POLICY_FROM_MAILFROM:
		/* The whole address: the table falls back to @domain. */
		return policy_ask(has, arg, c->value, POLICY_TABLE_MAILADDR,
		    f->sender);
	case POLICY_AUTH:
		if (!f->authenticated)
			return 0;
		if (c->value[0] == '\0')
			return 1;
		return policy_ask(has, arg, c->value, POLICY_TABLE_USER,
		    f->auth_user);
	case POLICY_TLS:
		return f->tls != 0;
	case POLICY_FOR_LOCAL:
		return f->rcpt_domain_local != 0;
	case POLICY_FOR_DOMAIN:
		return f->rcpt_domain != NULL &&
		    strcasecmp(c->value, f->rcpt_domain) == 0;
	case POLICY_FOR_DOMAIN_TABLE:
		/* No domain is in no table; don't ask. */
		if (f->rcpt_domain == NULL || f->rcpt_domain[0] == '\0')
			return 0;
		return policy_ask(has, arg, c->value, POLICY_TABLE_DOMAIN,
		    f->rcpt_domain);
	case POLICY_FOR_RCPTTO:
		return policy_ask(has, arg, c->value, POLICY_TABLE_MAILADDR,
		    f->rcpt);
	}
	/* A kind this engine does not know can not be shown to hold. */
	return 0;
}

/*
 * 1 when every criterion holds, 0 when one does not, -1 when none is
 * known not to hold but some could not be judged.  In order, stopping
 * at the first criterion that does not hold: a look-up costs a round
 * trip to a table, so none is made for a rule already lost.  One that
 * could not be judged does not stop the search for one that does not
 * hold, as such a rule would not match whatever the table said.
 */
static int
policy_rule_matches(const struct policy_rule *r,
    const struct policy_facts *f, policy_table_fn has, void *arg)
{
	const struct policy_criterion	*c;
	int				 h, unknown = 0;

	TAILQ_FOREACH(c, &r->criteria, entry) {
		if ((h = policy_holds(c, f, has, arg)) == -1)
			unknown = 1;
		else if (h == (c->negate != 0))
			return 0;
	}
	return unknown ? -1 : 1;
}

enum policy_result
policy_match(const struct policy_rules *rules, const struct policy_facts *f,
    policy_table_fn has, void *arg, const struct policy_rule **rp)
{
	const struct policy_rule	*r;

	TAILQ_FOREACH(r, rules, entry) {
		switch (policy_rule_matches(r, f, has, arg)) {
		case 1:
			*rp = r;
			return POLICY_MATCH;
		case -1:
			*rp = r;
			return POLICY_TEMPFAIL;
		}
	}
	*rp = NULL;
	return POLICY_NOMATCH;
}

static int
policy_always(const struct policy_criterion *c)
{
	return !c->negate &&
	    (c->kind == POLICY_FROM_ANY || c->kind == POLICY_FOR_ANY);
}

static int
policy_same(const struct policy_criterion *a,
    const struct policy_criterion *b)
{
	if (a->kind != b->kind || (a->negate != 0) != (b->negate != 0))
		return 0;
	/* Domains are compared as they are matched. */
	if (a->kind == POLICY_FOR_DOMAIN)
		return strcasecmp(a->value, b->value) == 0;
	return strcmp(a->value, b->value) == 0;
}

/*
 * Whether a matches whenever b does.  Provable only when each
 * criterion of a always holds or is also one of b's: b matching means
 * all of those hold.  Anything else might differ, so it is not claimed.
 */
static int
policy_covers(const struct policy_rule *a, const struct policy_rule *b)
{
	const struct policy_criterion	*ca, *cb;

	TAILQ_FOREACH(ca, &a->criteria, entry) {
		if (policy_always(ca))
			continue;
		TAILQ_FOREACH(cb, &b->criteria, entry)
			if (policy_same(ca, cb))
				break;
		if (cb == NULL)
			return 0;
	}
	return 1;
}

void
policy_unreachable(const struct policy_rules *rules,
    void (*fn)(const struct policy_rule *, const struct policy_rule *,
    void *), void *arg)
{
	const struct policy_rule	*a, *b;

	TAILQ_FOREACH(b, rules, entry) {
		/* The first earlier rule that covers b is the one that wins. */
		for (a = TAILQ_FIRST(rules); a != b; a = TAILQ_NEXT(a, entry))
			if (policy_covers(a, b)) {
				fn(b, a, arg);
				break;
			}
	}
}
