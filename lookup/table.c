/*
 * Tables: named sets of keys, optionally with values, either written
 * inline in smtpd.conf or loaded from a file of one entry per line
 * ("key" or "key value", # comments).  Keys that parse as an address or
 * CIDR network also go to a list of networks for address lookups.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtpd/conffile.h"
#include "lookup.h"

static int
table_entry_cmp(struct table_entry *a, struct table_entry *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE_STATIC(table_tree, table_entry, node, table_entry_cmp);

struct table *
table_create(const char *name, enum table_backend backend, const char *path)
{
	struct table	*t;

	if (name[0] == '\0' || strlen(name) >= TABLE_NAMESZ)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	strlcpy(t->name, name, sizeof(t->name));
	t->backend = backend;
	if (path != NULL && strlcpy(t->path, path, sizeof(t->path)) >=
	    sizeof(t->path)) {
		free(t);
		return NULL;
	}
	RB_INIT(&t->entries);
	TAILQ_INIT(&t->nets);
	TAILQ_INIT(&t->includes);
	return t;
}

static void
table_clear(struct table *t)
{
	struct table_entry	*e;
	struct table_net	*n;

	while ((e = RB_ROOT(&t->entries)) != NULL) {
		RB_REMOVE(table_tree, &t->entries, e);
		free(e->key);
		free(e->value);
		free(e);
	}
	while ((n = TAILQ_FIRST(&t->nets)) != NULL) {
		TAILQ_REMOVE(&t->nets, n, entry);
		free(n);
	}
	t->count = 0;
}

void
table_includes_clear(struct table *t)
{
	struct table_include	*inc;

	while ((inc = TAILQ_FIRST(&t->includes)) != NULL) {
		TAILQ_REMOVE(&t->includes, inc, entry);
		free(inc->path);
		free(inc->text);
		free(inc);
	}
	t->nincludes = 0;
}

/* A file the table's members include, read or not; NULL if refused. */
const struct table_include *
table_include_find(const struct table *t, const char *path)
{
	const struct table_include	*inc;

	TAILQ_FOREACH(inc, &t->includes, entry)
		if (strcmp(inc->path, path) == 0)
			return inc;
	return NULL;
}

void
table_free(struct table *t)
{
	table_clear(t);
	table_includes_clear(t);
	free(t);
}

/*
 * Parse "192.0.2.1", "192.0.2.0/24", "2001:db8::/32".  Returns 0 and
 * fills family, address and prefix length, or -1.
 */
int
addr_parse_net(const char *s, int *family, unsigned char *addr, int *bits)
{
	char		 buf[64], *slash;
	const char	*errstr;
	int		 max;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		max = 128;
	} else
		return -1;
	*bits = max;
	if (slash != NULL) {
		*bits = strtonum(slash, 0, max, &errstr);
		if (errstr != NULL)
			return -1;
	}
	return 0;
}

/* Add an entry given on line of the table's file (0 for none). */
static int
table_insert(struct table *t, const char *key, const char *value, int line)
{
	struct table_entry	*e, *old;
	struct table_net	*n;
	unsigned char		 addr[16];
	int			 family, bits;

	if (key[0] == '\0')
		return -1;
	if (addr_parse_net(key, &family, addr, &bits) == 0) {
		if ((n = calloc(1, sizeof(*n))) == NULL)
			return -1;
		n->family = family;
		memcpy(n->addr, addr, sizeof(n->addr));
		n->bits = bits;
		TAILQ_INSERT_TAIL(&t->nets, n, entry);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(key)) == NULL ||
	    (value != NULL && (e->value = strdup(value)) == NULL)) {
		if (e != NULL)
			free(e->key);
		free(e);
		return -1;
	}
	e->line = line;
	if ((old = RB_INSERT(table_tree, &t->entries, e)) != NULL) {
		/* The last value given for a key wins. */
		free(old->value);
		old->value = e->value;
		old->line = line;
		free(e->key);
		free(e);
		return 0;
	}
	t->count++;
	return 0;
}

int
table_add(struct table *t, const char *key, const char *value)
{
	return table_insert(t, key, value, 0);
}

/* Remember which file was read, to tell later whether it changed. */
static void
table_stamp(struct table *t, const struct stat *sb)
{
	t->dev = sb->st_dev;
	t->ino = sb->st_ino;
	t->size = sb->st_size;
	t->mtime = sb->st_mtim;
}

/*
 * Whether a file table's file is no longer the one last loaded: other
 * contents, or another file put in its place.  One that cannot be
 * looked at now counts as unchanged; reading it would fail anyway.
 */
int
table_changed(struct table *t)
{
	struct stat	 sb;

	if (t->backend != TABLE_FILE || stat(t->path, &sb) == -1)
		return 0;
	return sb.st_dev != t->dev || sb.st_ino != t->ino ||
	    sb.st_size != t->size || sb.st_mtim.tv_sec != t->mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != t->mtime.tv_nsec;
}

/* Read a file table's file into it, or say why not. */
static int
table_read(struct table *t, char *err, size_t errlen)
{
	struct stat	 sb;
	FILE		*fp;
	char		*line = NULL, *key, *value, *p;
	size_t		 linesize = 0;
	ssize_t		 len;
	int		 lineno = 0, rc = 0;

	table_clear(t);
	if ((fp = conffile_open(t->path, CONFFILE_TABLE, &sb)) == NULL) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return -1;
	}
	table_stamp(t, &sb);
	while ((len = getline(&line, &linesize, fp)) != -1) {
		lineno++;
		/* A NUL would hide the rest of the line. */
		if (memchr(line, '\0', len) != NULL) {
			snprintf(err, errlen, "%s:%d: a NUL byte", t->path,
			    lineno);
			rc = -1;
			break;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (key = line; isspace((unsigned char)*key); key++)
			;
		if (*key == '\0')
			continue;
		for (p = key; *p != '\0' && !isspace((unsigned char)*p); p++)
			;
		value = NULL;
		if (*p != '\0') {
			*p++ = '\0';
			while (isspace((unsigned char)*p))
				p++;
			if (*p != '\0') {
				value = p;
				p += strlen(p);
				while (p > value && isspace((unsigned char)p[-1]))
					*--p = '\0';
			}
		}
		if (table_insert(t, key, value, lineno) == -1) {
			snprintf(err, errlen, "%s:%d: bad entry", t->path,
			    lineno);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fp);
	return rc;
}

/*
 * (Re)load a file table.  On failure the table is left empty, marked
 * failed, and err says why, with the line number.
 */
int
table_load(struct table *t, char *err, size_t errlen)
{
	if (table_read(t, err, errlen) == -1) {
		table_clear(t);
		strlcpy(t->error, err, sizeof(t->error));
		return -1;
	}
	t->error[0] = '\0';
	return 0;
}

/*
 * Load a file table again.  The new contents replace the old only when
 * the whole file was read; otherwise the old entries stay, but the
 * table is marked failed (table_failure) until a reload succeeds: it
 * no longer says what its file says, and the admin who changed the
 * file meant it to.
 */
int
table_reload(struct table *t, char *err, size_t errlen)
{
	struct table	*fresh;

	if (t->backend != TABLE_FILE) {
		snprintf(err, errlen, "table %s is not a file table", t->name);
		return -1;
	}
	if ((fresh = table_create(t->name, TABLE_FILE, t->path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		strlcpy(t->error, err, sizeof(t->error));
		return -1;
	}
	if (table_load(fresh, err, errlen) == -1) {
		strlcpy(t->error, fresh->error, sizeof(t->error));
		table_free(fresh);
		return -1;
	}
	table_clear(t);
	t->entries = fresh->entries;
	TAILQ_CONCAT(&t->nets, &fresh->nets, entry);
	t->count = fresh->count;
	t->dev = fresh->dev;
	t->ino = fresh->ino;
	t->size = fresh->size;
	t->mtime = fresh->mtime;
	t->error[0] = '\0';
	RB_INIT(&fresh->entries);
	fresh->count = 0;
	table_free(fresh);
	return 0;
}

/* Why look-ups in the table fail now, or NULL when it can answer. */
const char *
table_failure(const struct table *t)
{
	return t->error[0] != '\0' ? t->error : NULL;
}

const char *
table_get(struct table *t, const char *key)
{
	struct table_entry	 needle, *e;

	needle.key = (char *)key;
	if ((e = RB_FIND(table_tree, &t->entries, &needle)) == NULL)
		return NULL;
	return e->value != NULL ? e->value : "";
}

/* The line of the table's file that gave key, or 0. */
int
table_line(struct table *t, const char *key)
{
	struct table_entry	 needle, *e;

	needle.key = (char *)key;
	if ((e = RB_FIND(table_tree, &t->entries, &needle)) == NULL)
		return 0;
	return e->line;
}

int
table_has(struct table *t, const char *key)
{
	return table_get(t, key) != NULL;
}

static int
net_contains(const struct table_net *n, const unsigned char *addr)
{
	int	 full = n->bits / 8, rest = n->bits % 8;
	unsigned char mask;

	if (memcmp(n->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (0xff << (8 - rest)) & 0xff;
	return (n->addr[full] & mask) == (addr[full] & mask);
}

int
table_has_addr(struct table *t, const struct sockaddr *sa)
{
	struct table_net	*n;
	const unsigned char	*addr;
	int			 family = sa->sa_family;

	if (family == AF_INET)
		addr = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (family == AF_INET6)
		addr = (const unsigned char *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return 0;
	TAILQ_FOREACH(n, &t->nets, entry)
		if (n->family == family && net_contains(n, addr))
			return 1;
	return 0;
}

/* Call fn for each key in order; stops early when fn returns -1. */
int
table_walk(struct table *t, int (*fn)(const char *, const char *, void *),
    void *arg)
{
	struct table_entry	*e;

	RB_FOREACH(e, table_tree, &t->entries)
		if (fn(e->key, e->value, arg) == -1)
			return -1;
	return 0;
}

struct table *
table_find(struct table_list *list, const char *name)
{
	struct table	*t;

	TAILQ_FOREACH(t, list, entry)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

int
addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6	*sin6;

	if (sa == NULL || sa->sa_family == AF_UNIX)
		return 1;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return sin6->sin6_addr.s6_addr[12] == 127;
	}
	return 0;
}
