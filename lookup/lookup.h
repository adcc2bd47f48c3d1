/*
 * The lookup library: table backends (inline lists and files of keys or
 * key/value pairs) and the recipient resolution the lookup process does.
 * Linked into the smtpd binary and into the unit tests; nothing here
 * knows about processes or imsg.
 */
#ifndef LOOKUP_H
#define LOOKUP_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/socket.h>

#include <limits.h>
#include <time.h>

#define TABLE_NAMESZ	64
#define TABLE_ERRSZ	256

enum table_backend {
	TABLE_STATIC,
	TABLE_FILE,
};

struct table_entry {
	RB_ENTRY(table_entry)	 node;
	char			*key;
	char			*value;		/* NULL for a plain list */
	int			 line;		/* in its file; 0 inline */
};
RB_HEAD(table_tree, table_entry);

struct table_net {
	TAILQ_ENTRY(table_net)	 entry;
	int			 family;
	unsigned char		 addr[16];
	int			 bits;
};

/* A file the members of an alias table include, read with the table. */
struct table_include {
	TAILQ_ENTRY(table_include)	 entry;
	char				*path;
	char				*text;	/* NULL: could not be read */
};
TAILQ_HEAD(table_includes, table_include);

struct table {
	TAILQ_ENTRY(table)	 entry;
	char			 name[TABLE_NAMESZ];
	enum table_backend	 backend;
	char			 path[PATH_MAX];
	struct table_tree	 entries;
	TAILQ_HEAD(, table_net)	 nets;
	size_t			 count;
	int			 line;		/* where it was declared */
	/* The file as last loaded, to tell when it has changed. */
	dev_t			 dev;
	ino_t			 ino;
	off_t			 size;
	struct timespec		 mtime;
	/*
	 * Why the file could not be read the last time; "" when it was.
	 * The old entries stay, but a decision may not rest on them.
	 */
	char			 error[TABLE_ERRSZ];
	struct table_includes	 includes;
	size_t			 nincludes;
};
TAILQ_HEAD(table_list, table);

struct table	*table_create(const char *, enum table_backend, const char *);
void		 table_free(struct table *);
int		 table_add(struct table *, const char *, const char *);
int		 table_load(struct table *, char *, size_t);
int		 table_reload(struct table *, char *, size_t);
int		 table_changed(struct table *);
const char	*table_failure(const struct table *);
const char	*table_get(struct table *, const char *);
int		 table_line(struct table *, const char *);
int		 table_has(struct table *, const char *);
int		 table_has_addr(struct table *, const struct sockaddr *);
int		 table_walk(struct table *,
		    int (*)(const char *, const char *, void *), void *);
struct table	*table_find(struct table_list *, const char *);

/*
 * userbase.c: users with no system account, in a table whose keys are
 * user names and whose values are "UID:GID:HOME".  An entry that would
 * run a delivery as root, or leaves its home relative, is refused.
 */
#define USERBASE_NAME_MAX	64	/* an envelope's user, with its NUL */

struct userbase_user {
	uid_t		 uid;
	gid_t		 gid;
	char		 home[PATH_MAX];
};

int		 userbase_parse(const char *, const char *,
		    struct userbase_user *, char *, size_t);
int		 userbase_get(struct table *, const char *,
		    struct userbase_user *, char *, size_t);

/* members.c: the members of an alias list, an include or a ~/.forward. */
#define MEMBER_INCLUDE_PREFIX	":include:"

enum member_kind {
	MEMBER_NONE,		/* nothing to deliver to: a bare "|" */
	MEMBER_FILE,		/* "/path" */
	MEMBER_COMMAND,		/* "|command" */
	MEMBER_INCLUDE,		/* ":include:/path", in any case */
	MEMBER_NAME,		/* a local name or an address */
};

char		*member_next(char **);
enum member_kind member_kind(const char *);
void		 table_includes_load(struct table *, struct table_list *);
void		 table_includes_clear(struct table *);
const struct table_include *table_include_find(const struct table *,
		    const char *);

/*
 * killfile.c: refused clients and senders.  Entries are addresses
 * (user@domain), whole sender domains (@domain), host names, IPv4 and
 * IPv6 addresses and CIDR networks; a leading dot (.example.org or
 * @.example.org) also covers every subdomain.  Look-ups take constant
 * time in the number of entries.
 */
struct killfile;

struct killfile	*killfile_new(void);
void		 killfile_free(struct killfile *);
int		 killfile_add(struct killfile *, const char *);
int		 killfile_load(struct killfile *, const char *, char *, size_t);
size_t		 killfile_count(const struct killfile *);
int		 killfile_has_addr(const struct killfile *,
		    const struct sockaddr *);
int		 killfile_has_host(const struct killfile *, const char *);
int		 killfile_has_sender(const struct killfile *, const char *);
const char	*killfile_failure(const struct killfile *);
int		 killfile_has_hosts(const struct killfile *);

int	 senders_owns(struct table *, const char *, const char *);

int	 addr_parse_net(const char *, int *, unsigned char *, int *);
int	 addr_is_loopback(const struct sockaddr *);

#endif
