/*
 * The members of an alias, of an included file and of a ~/.forward, as
 * the admin or the user wrote them.  The lookup process expands them;
 * the parent reads a ~/.forward again at delivery, and both must see the
 * very same members, so the splitting lives here, apart from both.
 */
#include <sys/types.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lookup.h"

/*
 * Where the member that starts at s ends: a comma, a # or the end of
 * the line.  A line ends at LF or CR, quoted or not: no member may hold
 * a line break, since it becomes a target, a log field and a line of
 * an envelope.
 */
static char *
member_end(char *s)
{
	int	 quoted = 0;

	for (; *s != '\0' && *s != '\n' && *s != '\r'; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (!quoted && (*s == ',' || *s == '#'))
			break;
	}
	return s;
}

/*
 * The next member of a list, cut out of it in place, or "" for an empty
 * one.  Members are separated by commas or line ends, and # opens a
 * comment to the end of its line, except inside double quotes (which
 * end with the line).  Blanks around a member are dropped.  A member in
 * double quotes is taken whole, without them; any other member but a
 * command ends at its first blank, and a command ("|...") is the whole
 * text.
 */
static char *
member_cut(char **listp)
{
	char	*s = *listp, *end, *last;
	int	 comment;

	for (;;) {
		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (*s != '#')
			break;
		s += strcspn(s, "\r\n");
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
			*listp += strcspn(*listp, "\r\n");
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

/*
 * The next member of a list, cut out of it in place; NULL when there
 * are no more.  Empty ones ("") are passed over: every member returned
 * is a non-empty string.
 */
char *
member_next(char **listp)
{
	char	*m;

	while ((m = member_cut(listp)) != NULL && m[0] == '\0')
		;
	return m;
}

/* What a member of member_next() names, by its first characters. */
enum member_kind
member_kind(const char *m)
{
	switch (m[0]) {
	case '\0':
		return MEMBER_NONE;
	case '/':
		return MEMBER_FILE;
	case '|':
		return m[1] == '\0' ? MEMBER_NONE : MEMBER_COMMAND;
	}
	if (strncasecmp(m, MEMBER_INCLUDE_PREFIX,
	    strlen(MEMBER_INCLUDE_PREFIX)) == 0)
		return MEMBER_INCLUDE;
	return MEMBER_NAME;
}
