/*
 * Match rules, first match wins.  The engine trusts the facts it is
 * given and decides nothing else; tables are reached only through the
 * caller's function, so the engine can be tested with none.
 */
#include <sys/types.h>

#include <stddef.h>
#include <strings.h>

#include "policy.h"

static int
policy_match_from(const struct policy_rule *r, const struct policy_facts *f,
    policy_table_fn has, void *arg)
{
	switch (r->from) {
	case FROM_ANY:
		return 1;
	case FROM_LOCAL:
		return f->client_local;
	case FROM_SRC:
		if (f->client == NULL)
			return 0;
		return has(arg, r->from_table, POLICY_TABLE_ADDR, f->client);
	}
	return 0;
}

static int
policy_match_for(const struct policy_rule *r, const struct policy_facts *f,
    policy_table_fn has, void *arg)
{
	switch (r->dest) {
	case FOR_ANY:
		return 1;
	case FOR_LOCAL:
		return f->rcpt_domain_local;
	case FOR_DOMAIN:
		return f->rcpt_domain != NULL &&
		    strcasecmp(r->domain, f->rcpt_domain) == 0;
	case FOR_DOMAIN_TABLE:
		return f->rcpt_domain != NULL &&
		    has(arg, r->domain, POLICY_TABLE_DOMAIN, f->rcpt_domain);
	}
	return 0;
}

const struct policy_rule *
policy_match(const struct policy_rules *rules, const struct policy_facts *f,
    policy_table_fn has, void *arg)
{
	const struct policy_rule	*r;

	TAILQ_FOREACH(r, rules, entry)
		if (policy_match_from(r, f, has, arg) &&
		    policy_match_for(r, f, has, arg))
			return r;
	return NULL;
}
