/*
 * The configuration's macros, by name.  The parser sets and reads them
 * (parse.y) and forgets a file's own once the file is read; smtpd.c
 * sets those of -D, which stay for every file parsed after, reloads
 * included, and cannot be set again by a file.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "macro.h"

struct macro {
	TAILQ_ENTRY(macro)	 entry;
	int			 persist;	/* set with -D */
	char			*name;
	char			*value;
};
static TAILQ_HEAD(, macro)	 macros = TAILQ_HEAD_INITIALIZER(macros);

static void
macro_free(struct macro *m)
{
	TAILQ_REMOVE(&macros, m, entry);
	free(m->name);
	free(m->value);
	free(m);
}

static struct macro *
macro_find(const char *name)
{
	struct macro	*m;

	TAILQ_FOREACH(m, &macros, entry)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/*
 * Set name to value; persist for one of -D.  One of -D is never
 * replaced: 0 all the same.  -1 when memory is short.
 */
int
macro_set(const char *name, const char *value, int persist)
{
	struct macro	*m;

	if ((m = macro_find(name)) != NULL) {
		if (m->persist)
			return 0;
		macro_free(m);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	if ((m->name = strdup(name)) == NULL ||
	    (m->value = strdup(value)) == NULL) {
		free(m->name);
		free(m);
		return -1;
	}
	m->persist = persist;
	TAILQ_INSERT_TAIL(&macros, m, entry);
	return 0;
}

/* NAME=value from -D; -1 for anything else. */
int
macro_define(char *s)
{
	char	*eq;
	int	 r;

	if ((eq = strchr(s, '=')) == NULL || eq == s)
		return -1;
	*eq = '\0';
	r = macro_set(s, eq + 1, 1);
	*eq = '=';
	return r;
}

char *
macro_get(const char *name)
{
	struct macro	*m;

	return (m = macro_find(name)) != NULL ? m->value : NULL;
}

/* Forget the file's macros; those of the command line stay. */
void
macro_clear(void)
{
	struct macro	*m, *next;

	for (m = TAILQ_FIRST(&macros); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (!m->persist)
			macro_free(m);
	}
}
