/*
 * The senders table of a listener: which MAIL FROM addresses each
 * authenticated user may use.  Its key is the login, its value a list
 * of addresses, "@domain" for any address of a domain, and "<>" for
 * the null sender, separated by commas or blanks.  A user without an
 * entry owns no address.  Called by lookup_session.c at MAIL.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lookup.h"

#define SENDERS_SEP	", \t"

/* Whether one item of the list gives the user this sender. */
static int
senders_item_matches(const char *item, size_t len, const char *sender)
{
	const char	*at;

	if (len == 2 && strncmp(item, "<>", 2) == 0)
		return sender[0] == '\0';
	if (sender[0] == '\0')
		return 0;
	if (item[0] == '@') {
		/* A domain: the sender's own, after its last @. */
		if ((at = strrchr(sender, '@')) == NULL || at == sender)
			return 0;
		return strlen(at) == len && strncasecmp(at, item, len) == 0;
	}
	return strlen(sender) == len && strncasecmp(sender, item, len) == 0;
}

/*
 * 1 if the table lets user send as sender (the null sender as ""),
 * 0 if not.
 */
int
senders_owns(struct table *t, const char *user, const char *sender)
{
	const char	*list, *p;
	size_t		 len;

	if ((list = table_get(t, user)) == NULL)
		return 0;
	for (p = list; *p != '\0'; p += len) {
		p += strspn(p, SENDERS_SEP);
		if ((len = strcspn(p, SENDERS_SEP)) == 0)
			break;
		if (senders_item_matches(p, len, sender))
			return 1;
	}
	return 0;
}
