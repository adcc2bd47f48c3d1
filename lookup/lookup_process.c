/*
 * The lookup process: every policy decision about a sender or a
 * recipient is made here, from the match rules and the tables, and
 * local users are resolved here (it is the only role that reads the
 * password database).  It answers the listener; it never sees message
 * content.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <event.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"

static int
lookup_table_has(void *arg, const char *name, enum policy_table_kind kind,
    const void *key)
{
	struct table	*t;

	if ((t = table_find(&env->tables, name)) == NULL)
		return 0;
	if (kind == POLICY_TABLE_ADDR)
		return table_has_addr(t, key);
	return table_has(t, key);
}

static int
lookup_domain_is_local(const char *domain)
{
	return domain[0] == '\0' || strcasecmp(domain, "localhost") == 0 ||
	    strcasecmp(domain, env->hostname) == 0;
}

/*
 * The user a local recipient is delivered to.  When smtpd does not run
 * as root, only the user running it can receive mail.
 */
static int
lookup_local_user(const char *localpart, char *user, size_t len)
{
	struct passwd	*pw;
	char		 name[ENVELOPE_NAMEMAX];
	size_t		 i;

	if (strlcpy(name, localpart, sizeof(name)) >= sizeof(name))
		return -1;
	for (i = 0; name[i] != '\0'; i++)
		name[i] = tolower((unsigned char)name[i]);
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	if (!smtpd_privileged && pw->pw_uid != geteuid())
		return -1;
	strlcpy(user, pw->pw_name, len);
	return 0;
}

static void
lookup_reply(uint32_t type, uint32_t id, uint32_t status, const char *text,
    const char *action, const char *user)
{
	struct ibuf	*b;

	b = proc_create(type, id, -1);
	imsg_add_u32(b, status);
	imsg_add_string(b, text);
	if (type == IMSG_LOOKUP_SMTP_RCPT) {
		imsg_add_string(b, action);
		imsg_add_string(b, user);
	}
	proc_close(PROC_SMTP, b);
}

static void
lookup_client(struct imsg *imsg, struct sockaddr_storage *ss)
{
	uint32_t	 len;

	len = imsg_get_u32(imsg);
	if (len != sizeof(*ss))
		fatalx("lookup: bad client address from smtp");
	imsg_get_data(imsg, ss, sizeof(*ss));
}

static void
lookup_mail(struct imsg *imsg)
{
	struct sockaddr_storage	 ss;
	char			 sender[ENVELOPE_ADDRMAX];

	imsg_get_string(imsg, sender, sizeof(sender));
	lookup_client(imsg, &ss);
	proc_check(PROC_SMTP, imsg);
	lookup_reply(IMSG_LOOKUP_SMTP_MAIL, imsg->hdr.peerid, LOOKUP_OK,
	    "", NULL, NULL);
}

static void
lookup_rcpt(struct imsg *imsg)
{
	struct sockaddr_storage		 ss;
	struct policy_facts		 facts;
	const struct policy_rule	*rule;
	char				 sender[ENVELOPE_ADDRMAX];
	char				 rcpt[ENVELOPE_ADDRMAX];
	char				 user[ENVELOPE_NAMEMAX] = "";
	char				 domain[ENVELOPE_ADDRMAX], *at;
	size_t				 i;

	imsg_get_string(imsg, sender, sizeof(sender));
	imsg_get_string(imsg, rcpt, sizeof(rcpt));
	lookup_client(imsg, &ss);
	proc_check(PROC_SMTP, imsg);

	domain[0] = '\0';
	if ((at = strrchr(rcpt, '@')) != NULL) {
		strlcpy(domain, at + 1, sizeof(domain));
		*at = '\0';
	}
	for (i = 0; domain[i] != '\0'; i++)
		domain[i] = tolower((unsigned char)domain[i]);

	memset(&facts, 0, sizeof(facts));
	facts.client = (struct sockaddr *)&ss;
	facts.client_local = addr_is_loopback(facts.client);
	facts.sender = sender;
	facts.rcpt_domain = domain;
	facts.rcpt_domain_local = lookup_domain_is_local(domain);

	rule = policy_match(&env->rules, &facts, lookup_table_has, NULL);
	if (at != NULL)
		*at = '@';
	if (rule == NULL) {
		lookup_reply(IMSG_LOOKUP_SMTP_RCPT, imsg->hdr.peerid,
		    LOOKUP_PERMFAIL, "550 5.7.1 Relaying denied", "", "");
		return;
	}
	if (at != NULL)
		*at = '\0';
	if (lookup_local_user(rcpt, user, sizeof(user)) == -1) {
		lookup_reply(IMSG_LOOKUP_SMTP_RCPT, imsg->hdr.peerid,
		    LOOKUP_PERMFAIL, "550 5.1.1 Recipient address rejected: "
		    "User unknown", "", "");
		return;
	}
	lookup_reply(IMSG_LOOKUP_SMTP_RCPT, imsg->hdr.peerid, LOOKUP_OK, "",
	    rule->action, user);
}

static void
lookup_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_SMTP:
		switch (imsg->hdr.type) {
		case IMSG_SMTP_LOOKUP_MAIL:
			lookup_mail(imsg);
			return;
		case IMSG_SMTP_LOOKUP_RCPT:
			lookup_rcpt(imsg);
			return;
		}
		break;
	default:
		break;
	}
	proc_bad_imsg(PROC_LOOKUP, from, imsg);
}

void
lookup_main(void)
{
	struct sandbox_path	 paths[64];
	struct table		*t;
	size_t			 n = 0;

	event_init();
	proc_peers_from_exec(PROC_LOOKUP, lookup_dispatch);
	proc_signals();

	/* Warm up NSS while everything is still reachable. */
	(void)getpwnam("root");
	endpwent();

	paths[n++] = (struct sandbox_path){ "/etc", SANDBOX_READ };
	paths[n++] = (struct sandbox_path){ "/usr/lib", SANDBOX_READ };
	paths[n++] = (struct sandbox_path){ "/lib", SANDBOX_READ };
	TAILQ_FOREACH(t, &env->tables, entry)
		if (t->backend == TABLE_FILE && n < 63)
			paths[n++] = (struct sandbox_path){ t->path,
			    SANDBOX_READ };
	paths[n] = (struct sandbox_path){ NULL, 0 };
	proc_drop_privileges(SMTPD_USER, NULL);
	sandbox(PROMISES_LOOKUP, paths);
	event_dispatch();
	fatalx("lookup: event loop ended");
}
