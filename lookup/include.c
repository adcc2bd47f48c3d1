/*
 * The files the members of an alias table include (":include:/path"),
 * read with the table: by the parent, which records them beside the
 * table as it records every configuration file, and by lookup from the
 * parent's copy, so that lookup opens no file for them and needs no
 * sandbox path.  An include is read again when its table is: at a
 * reload and at smtpctl update table.
 *
 * Only a regular file (no link: the parent reads as root) in the
 * directory of a file table of the configuration is read, at most
 * INCLUDE_FILES_MAX of them for a table, following includes in
 * included files to INCLUDE_DEPTH_MAX.  The parent logs what it
 * refuses or cannot read.  A refused file is no member at all; one that
 * could not be read makes its recipients fail for now (451), as a table
 * that cannot be read does, until a reload or update table reads it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "../smtpd/conffile.h"
#include "../smtpd/log.h"

#define INCLUDE_FILES_MAX	64
#define INCLUDE_SIZE_MAX	(64 * 1024)
#define INCLUDE_DEPTH_MAX	8

struct include_scan {
	struct table		*t;
	struct table_list	*tables;
	int			 depth;
};

static void	include_members(struct include_scan *, const char *);

/* Whether path is in the directory of a file table, with no "..". */
static int
include_allowed(const struct table_list *tables, const char *path)
{
	const struct table	*t;
	const char		*slash;
	size_t			 len;

	if (path[0] != '/' || strstr(path, "/../") != NULL ||
	    ((len = strlen(path)) >= 3 && strcmp(path + len - 3, "/..") == 0))
		return 0;
	TAILQ_FOREACH(t, tables, entry) {
		if (t->backend != TABLE_FILE ||
		    (slash = strrchr(t->path, '/')) == NULL || slash == t->path)
			continue;
		len = slash - t->path;
		if (strncmp(path, t->path, len) == 0 && path[len] == '/')
			return 1;
	}
	return 0;
}

/* Only the parent reads the disk; lookup's misses it has logged. */
static int
include_logs(void)
{
	return conffiles_serving() == NULL;
}

/* Keep what was read of path, or that it could not be (text NULL). */
static struct table_include *
include_add(struct table *t, const char *path, const unsigned char *data,
    size_t len)
{
	struct table_include	*inc;

	if ((inc = calloc(1, sizeof(*inc))) == NULL ||
	    (inc->path = strdup(path)) == NULL)
		fatal("%s", __func__);
	if (data != NULL) {
		if ((inc->text = malloc(len + 1)) == NULL)
			fatal("%s", __func__);
		memcpy(inc->text, data, len);
		inc->text[len] = '\0';
	}
	TAILQ_INSERT_TAIL(&t->includes, inc, entry);
	t->nincludes++;
	return inc;
}

/*
 * A file refused here is no member at all; one that cannot be read now
 * is kept as such, so that its alias fails for now rather than for
 * good.
 */
static void
include_read(struct include_scan *s, const char *path)
{
	struct table_include	*inc;
	const unsigned char	*data;
	size_t			 len;

	if (table_include_find(s->t, path) != NULL)
		return;
	if (!include_allowed(s->tables, path)) {
		if (include_logs())
			log_warnx("table %s: include %s refused: not in the "
			    "directory of a file table", s->t->name, path);
		return;
	}
	if (s->t->nincludes >= INCLUDE_FILES_MAX) {
		if (include_logs())
			log_warnx("table %s: include %s: more than %d files",
			    s->t->name, path, INCLUDE_FILES_MAX);
		include_add(s->t, path, NULL, 0);
		return;
	}
	if (conffile_read(path, CONFFILE_INCLUDE, &data, &len) == -1) {
		if (include_logs())
			log_warn("table %s: include %s", s->t->name, path);
		include_add(s->t, path, NULL, 0);
		return;
	}
	if (len > INCLUDE_SIZE_MAX) {
		if (include_logs())
			log_warnx("table %s: include %s is larger than %d "
			    "bytes", s->t->name, path, INCLUDE_SIZE_MAX);
		include_add(s->t, path, NULL, 0);
		return;
	}
	inc = include_add(s->t, path, data, len);
	if (s->depth < INCLUDE_DEPTH_MAX) {
		s->depth++;
		include_members(s, inc->text);
		s->depth--;
	}
}

/* Read what a list of members includes. */
static void
include_members(struct include_scan *s, const char *list)
{
	char	*copy, *p, *m;

	if (strstr(list, MEMBER_INCLUDE_PREFIX) == NULL)
		return;
	if ((copy = strdup(list)) == NULL)
		fatal("strdup");
	p = copy;
	while ((m = member_next(&p)) != NULL)
		if (member_kind(m) == MEMBER_INCLUDE)
			include_read(s, m + strlen(MEMBER_INCLUDE_PREFIX));
	free(copy);
}

static int
include_entry(const char *key, const char *value, void *arg)
{
	const char	*v = value;

	/*
	 * "name : a, b" may keep its mark in the value; the colon of a
	 * first member ":include:..." is no mark.
	 */
	if ((*v == ':' || *v == '=') &&
	    (v[1] == '\0' || isspace((unsigned char)v[1])))
		v++;
	include_members(arg, v);
	return 0;
}

/* Read again every file the members of t include; tables is its kin. */
void
table_includes_load(struct table *t, struct table_list *tables)
{
	struct include_scan	 s;

	table_includes_clear(t);
	s.t = t;
	s.tables = tables;
	s.depth = 1;
	table_walk(t, include_entry, &s);
}
