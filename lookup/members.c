/*
 * The members of an alias, of an included file and of a ~/.forward, as
 * the admin or the user wrote them.  The lookup process expands them;
 * the parent reads a ~/.forward again at delivery, and both must see the
 * very same members, so the splitting lives here, apart from both.
 */
#include <sys/types.h>

#include <ctype.h>
#include <string.h>

#include "lookup.h"

/* Where the member that starts at s ends: a comma, a newline or a #. */
static char *
member_end(char *s)
{
	int	 quoted = 0;

	for (; *s != '\0'; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (!quoted && (*s == ',' || *s == '\n' || *s == '#'))
			break;
	}
	return s;
}

/*
 * The next member of a list, cut out of it in place; NULL when there
 * are no more.  Members are separated by commas or newlines, and # opens
 * a comment to the end of its line, except inside double quotes.
 * Blanks around a member are dropped.  A member in double quotes is
 * taken whole, without them; any other member but a command ends at
 * its first blank, and a command ("|...") is the whole text.
 */
char *
member_next(char **listp)
{
	char	*s = *listp, *end, *last;
	int	 comment;

	for (;;) {
		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (*s != '#')
			break;
		s += strcspn(s, "\n");
	}
	if (*s == '\0') {
		*listp = s;
		return NULL;
	}
	end = member_end(s);
	comment = *end == '#';
	*listp = end;
	if (*end != '\0') {
		*end = '\0';
		*listp = end + 1;
		/* The rest of a commented line is no member. */
		if (comment)
			*listp += strcspn(*listp, "\n");
	}
	for (last = end; last > s && isspace((unsigned char)last[-1]); last--)
		;
	*last = '\0';
	if (last - s >= 2 && s[0] == '"' && last[-1] == '"') {
		last[-1] = '\0';
		return s + 1;
	}
	if (s[0] != '|')
		s[strcspn(s, " \t")] = '\0';
	return s;
}
