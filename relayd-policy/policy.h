/*
 * The policy engine: the ordered match rules of smtpd.conf.  It is
 * handed the facts of one transaction and a function that answers
 * "is this key in table T", and returns the first rule that matches.
 * It knows nothing of processes, files or sockets.
 */
#ifndef POLICY_H
#define POLICY_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define POLICY_NAMESZ	64
#define POLICY_DOMAINSZ	256

enum policy_from {
	FROM_ANY,
	FROM_LOCAL,
	FROM_SRC,
};

enum policy_for {
	FOR_ANY,
	FOR_LOCAL,
	FOR_DOMAIN,
	FOR_DOMAIN_TABLE,
};

struct policy_rule {
	TAILQ_ENTRY(policy_rule) entry;
	int			 line;
	enum policy_from	 from;
	char			 from_table[POLICY_NAMESZ];
	enum policy_for		 dest;
	char			 domain[POLICY_DOMAINSZ];
	char			 action[POLICY_NAMESZ];
};
TAILQ_HEAD(policy_rules, policy_rule);

/* What is known about one recipient when its rule is chosen. */
struct policy_facts {
	const struct sockaddr	*client;	/* NULL: local submission */
	int			 client_local;
	const char		*sender;
	const char		*rcpt_domain;
	int			 rcpt_domain_local;
};

enum policy_table_kind {
	POLICY_TABLE_ADDR,
	POLICY_TABLE_DOMAIN,
};

/* Answers 1 when the key (a sockaddr or a string) is in the named table. */
typedef int (*policy_table_fn)(void *, const char *, enum policy_table_kind,
    const void *);

const struct policy_rule *policy_match(const struct policy_rules *,
    const struct policy_facts *, policy_table_fn, void *);

#endif
