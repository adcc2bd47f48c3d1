/*
 * The policy engine: the ordered match rules of smtpd.conf.  It is
 * handed the facts of one transaction and a function that answers
 * "is this key in table T", and returns the first rule whose criteria
 * all hold, or that no rule does, or that a look-up it needed failed
 * and nothing can be decided.  It knows nothing of processes, files or
 * sockets.
 */
#ifndef POLICY_H
#define POLICY_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define POLICY_NAMESZ	64
#define POLICY_VALUESZ	256
#define POLICY_TEXTSZ	256

/*
 * One criterion of a rule, as written in smtpd.conf after "match".
 * value is a table name for the *_TABLE kinds and for those that take
 * an optional table (AUTH, RDNS: "" when none), a domain for
 * FOR_DOMAIN.
 */
enum policy_kind {
	POLICY_FROM_ANY,	/* from any */
	POLICY_FROM_LOCAL,	/* from local: loopback or local submission */
	POLICY_FROM_SRC,	/* from src <t>: client address in t */
	POLICY_FROM_RDNS,	/* from rdns [<t>]: has a (listed) name */
	POLICY_FROM_MAILFROM,	/* from mail-from <t>: sender in t */
	POLICY_AUTH,		/* auth [<t>]: authenticated (as a user in t) */
	POLICY_TLS,		/* tls: the session is encrypted */
	POLICY_FOR_ANY,		/* for any */
	POLICY_FOR_LOCAL,	/* for local: a domain this host serves */
	POLICY_FOR_DOMAIN,	/* for domain "d" */
	POLICY_FOR_DOMAIN_TABLE,/* for domain <t> */
	POLICY_FOR_RCPTTO,	/* for rcpt-to <t>: recipient in t */
};

struct policy_criterion {
	TAILQ_ENTRY(policy_criterion)	 entry;
	enum policy_kind		 kind;
	int				 negate;	/* written with ! */
	char				 value[POLICY_VALUESZ];
};
TAILQ_HEAD(policy_criteria, policy_criterion);

struct policy_rule {
	TAILQ_ENTRY(policy_rule) entry;
	int			 line;
	struct policy_criteria	 criteria;	/* all must hold */
	int			 reject;	/* reject instead of action */
	char			 reject_text[POLICY_TEXTSZ];	/* "" default */
	char			 action[POLICY_NAMESZ];
};
TAILQ_HEAD(policy_rules, policy_rule);

/* What is known about one recipient when its rule is chosen. */
struct policy_facts {
	const struct sockaddr	*client;	/* NULL: local submission */
	int			 client_local;
	const char		*rdns;		/* NULL: no reverse name */
	int			 rdns_failed;	/* NULL because DNS failed */
	int			 authenticated;
	const char		*auth_user;
	int			 tls;
	const char		*sender;	/* "" for <> */
	const char		*rcpt;		/* user@domain */
	const char		*rcpt_domain;	/* lower case, "" for none */
	int			 rcpt_domain_local;
};

/* What a table is asked: the key's kind tells how to compare it. */
enum policy_table_kind {
	POLICY_TABLE_ADDR,	/* key: const struct sockaddr * */
	POLICY_TABLE_DOMAIN,	/* key: a lower-case domain */
	POLICY_TABLE_MAILADDR,	/* key: user@domain, also matched by @domain */
	POLICY_TABLE_USER,	/* key: an authenticated user name */
	POLICY_TABLE_HOST,	/* key: a host name */
};

/*
 * Answers 1 when the key is in the named table, 0 when it is not, and
 * -1 when the table could not be asked (it failed to load, its backend
 * failed): that is no answer, and never taken as a 0.
 */
typedef int (*policy_table_fn)(void *, const char *, enum policy_table_kind,
    const void *);

/* What the rules decide for one recipient. */
enum policy_result {
	POLICY_NOMATCH,		/* no rule matches */
	POLICY_MATCH,		/* the rule given matches */
	POLICY_TEMPFAIL,	/* the rule given could not be judged */
};

struct policy_rule	*policy_rule_new(int);
void			 policy_rule_free(struct policy_rule *);
struct policy_criterion	*policy_rule_add(struct policy_rule *,
			    enum policy_kind, int, const char *);

/*
 * The first rule whose criteria all hold: POLICY_MATCH and the rule.
 * A rule that holds unless a failed look-up or a failed reverse DNS
 * says otherwise ends the search: POLICY_TEMPFAIL and that rule, so
 * that a later, perhaps broader, rule is never chosen in its place.
 * POLICY_NOMATCH and NULL when no rule matches.
 */
enum policy_result	 policy_match(const struct policy_rules *,
			    const struct policy_facts *, policy_table_fn,
			    void *, const struct policy_rule **);

/*
 * For each rule that can never match because an earlier one always
 * matches first, call fn(shadowed, earlier, arg).  Conservative: it only
 * reports what it can prove.
 */
void	policy_unreachable(const struct policy_rules *,
	    void (*)(const struct policy_rule *, const struct policy_rule *,
	    void *), void *);

#endif
