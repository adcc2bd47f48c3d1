/*
 * The files of one configuration: smtpd.conf, /etc/mailname, the file
 * tables and the kill file, the files alias tables include,
 * certificates, keys and CAs.
 *
 * The parent records each file as its parser opens it, so that what it
 * checked and what the children get are the same bytes.  It then hands
 * each child, in one sealed memory file, those of the kinds its role
 * needs (a key goes to the listener alone).  A child serves every open
 * of a configuration file from that copy and opens no file of its own:
 * an edit during start or a reload cannot give two processes two
 * configurations, and no sandbox needs a path for one.
 *
 * The encoding is a header (magic, generation, count) and one record
 * per file: kind, path length, dev, ino, mtime, data length, then the
 * path and the data.  The decoder trusts nothing it reads.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "conffile.h"

#define CONFFILE_MAGIC		"SMTPDCF1"
#define CONFFILE_MAGIC_LEN	8
#define CONFFILE_TOTAL_MAX	((size_t)512 * 1024 * 1024)

struct conffile_record {
	uint32_t	 kind;
	uint32_t	 pathlen;
	uint64_t	 dev;
	uint64_t	 ino;
	int64_t		 mtime_sec;
	int64_t		 mtime_nsec;
	uint64_t	 len;
};

static struct conffiles	*recording;
static struct conffiles	*serving;

struct conffiles *
conffiles_new(uint32_t generation)
{
	struct conffiles	*cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		fatal("calloc");
	TAILQ_INIT(&cf->files);
	cf->generation = generation;
	cf->missing = ENOENT;
	return cf;
}

/* Keys pass through here: every byte is wiped before it is freed. */
void
conffiles_free(struct conffiles *cf)
{
	struct conffile	*f;

	if (cf == NULL)
		return;
	if (recording == cf)
		recording = NULL;
	if (serving == cf)
		serving = NULL;
	while ((f = TAILQ_FIRST(&cf->files)) != NULL) {
		TAILQ_REMOVE(&cf->files, f, entry);
		freezero(f->data, f->len + 1);
		free(f->path);
		free(f);
	}
	free(cf);
}

/* From now on (until NULL), files opened are read into cf. */
void
conffiles_record(struct conffiles *cf)
{
	recording = cf;
}

/* From now on (until NULL), files are served from cf alone. */
void
conffiles_serve(struct conffiles *cf)
{
	serving = cf;
}

struct conffiles *
conffiles_serving(void)
{
	return serving;
}

static struct conffile *
conffiles_find(const struct conffiles *cf, const char *path)
{
	struct conffile	*f;

	TAILQ_FOREACH(f, &cf->files, entry)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* A recorded file reaches the processes of kind too. */
void
conffiles_mark(struct conffiles *cf, const char *path, int kind)
{
	struct conffile	*f;

	if ((f = conffiles_find(cf, path)) != NULL)
		f->kind |= kind;
}

static struct conffile *
conffiles_add(struct conffiles *cf, const char *path, int kind,
    unsigned char *data, size_t len)
{
	struct conffile	*f;

	if (cf->count >= CONFFILE_COUNT_MAX) {
		errno = EMFILE;
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->path = strdup(path)) == NULL)
		fatal("calloc");
	f->kind = kind;
	f->data = data;
	f->len = len;
	TAILQ_INSERT_TAIL(&cf->files, f, entry);
	cf->count++;
	return f;
}

/*
 * Read a regular file of at most CONFFILE_SIZE_MAX bytes whole, with a
 * NUL after it for the text parsers.  O_NONBLOCK: a FIFO put in place
 * of a table must not hang the parent.
 */
static unsigned char *
conffile_slurp(const char *path, int flags, struct stat *sb, size_t *lenp)
{
	unsigned char	*data;
	size_t		 len = 0, size;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | flags)) == -1)
		return NULL;
	if (fstat(fd, sb) == -1)
		goto fail;
	if (!S_ISREG(sb->st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (sb->st_size > CONFFILE_SIZE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	/* One byte more than it said, to see a file that grew. */
	size = (size_t)sb->st_size + 1;
	if ((data = malloc(size + 1)) == NULL)
		fatal("malloc");
	while (len < size && (n = read(fd, data + len, size - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			freezero(data, size + 1);
			errno = saved;
			goto fail;
		}
		len += n;
	}
	close(fd);
	if (len == size) {
		freezero(data, size + 1);
		errno = EAGAIN;		/* written to while read */
		return NULL;
	}
	data[len] = '\0';
	sb->st_size = len;
	*lenp = len;
	return data;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

/*
 * The copy of path in the recorded or served files, read now while
 * recording; NULL with errno set when there is none.
 */
static struct conffile *
conffile_get(const char *path, int kind)
{
	struct conffile	*f;
	struct stat	 sb;
	unsigned char	*data;
	size_t		 len;

	if (serving != NULL) {
		if ((f = conffiles_find(serving, path)) == NULL)
			errno = serving->missing;
		return f;
	}
	if (recording == NULL) {
		errno = EPERM;
		return NULL;
	}
	if ((f = conffiles_find(recording, path)) != NULL) {
		f->kind |= kind;
		return f;
	}
	/*
	 * A file an alias table names is no link: the parent reads it as
	 * root, and a link in a list's directory could lead anywhere.
	 */
	if ((data = conffile_slurp(path, kind == CONFFILE_INCLUDE ?
	    O_NOFOLLOW : 0, &sb, &len)) == NULL)
		return NULL;
	if ((f = conffiles_add(recording, path, kind, data, len)) == NULL) {
		freezero(data, len + 1);
		return NULL;
	}
	f->sb = sb;
	return f;
}

/*
 * Open a configuration file for reading: its recorded or served copy,
 * or the file itself when neither (smtpctl, the tests).  sb, if not
 * NULL, gets what stat said of it.
 */
FILE *
conffile_open(const char *path, int kind, struct stat *sb)
{
	struct conffile	*f;
	FILE		*fp;

	if (serving == NULL && recording == NULL) {
		if ((fp = fopen(path, "re")) == NULL)
			return NULL;
		if (sb != NULL && fstat(fileno(fp), sb) == -1) {
			fclose(fp);
			return NULL;
		}
		return fp;
	}
	if ((f = conffile_get(path, kind)) == NULL)
		return NULL;
	if (sb != NULL)
		*sb = f->sb;
	return fmemopen(f->data, f->len, "r");
}

/* The bytes of a configuration file, recorded or served; -1 if none. */
int
conffile_read(const char *path, int kind, const unsigned char **data,
    size_t *len)
{
	struct conffile	*f;

	if ((f = conffile_get(path, kind)) == NULL)
		return -1;
	*data = f->data;
	*len = f->len;
	return 0;
}

static void
conffile_write(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("conffile: write");
		}
		p += n;
		len -= n;
	}
}

/*
 * The files of the given kinds, encoded in a sealed memory file, read
 * from its start; a child gets it at exec or in a reload.
 */
int
conffiles_memfd(const struct conffiles *cf, int kinds)
{
	struct conffile_record	 r;
	struct conffile		*f;
	uint32_t		 count = 0;
	int			 fd;

	if ((fd = memfd_create("smtpd-conf", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		fatal("memfd_create");
	TAILQ_FOREACH(f, &cf->files, entry)
		if (f->kind & kinds)
			count++;
	conffile_write(fd, CONFFILE_MAGIC, CONFFILE_MAGIC_LEN);
	conffile_write(fd, &cf->generation, sizeof(cf->generation));
	conffile_write(fd, &count, sizeof(count));
	TAILQ_FOREACH(f, &cf->files, entry) {
		if (!(f->kind & kinds))
			continue;
		memset(&r, 0, sizeof(r));
		r.kind = f->kind & kinds;
		r.pathlen = strlen(f->path);
		r.dev = f->sb.st_dev;
		r.ino = f->sb.st_ino;
		r.mtime_sec = f->sb.st_mtim.tv_sec;
		r.mtime_nsec = f->sb.st_mtim.tv_nsec;
		r.len = f->len;
		conffile_write(fd, &r, sizeof(r));
		conffile_write(fd, f->path, r.pathlen);
		conffile_write(fd, f->data, f->len);
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		fatal("conffile: seal");
	if (lseek(fd, 0, SEEK_SET) == -1)
		fatal("conffile: lseek");
	return fd;
}

/* Files as conffiles_memfd() wrote them; NULL on anything else. */
struct conffiles *
conffiles_decode(const unsigned char *buf, size_t len)
{
	struct conffiles	*cf;
	struct conffile_record	 r;
	struct conffile		*f;
	unsigned char		*data;
	char			 path[PATH_MAX];
	uint32_t		 generation, count, i;

	if (len < CONFFILE_MAGIC_LEN + 2 * sizeof(uint32_t) ||
	    memcmp(buf, CONFFILE_MAGIC, CONFFILE_MAGIC_LEN) != 0)
		return NULL;
	buf += CONFFILE_MAGIC_LEN;
	len -= CONFFILE_MAGIC_LEN;
	memcpy(&generation, buf, sizeof(generation));
	memcpy(&count, buf + sizeof(generation), sizeof(count));
	buf += 2 * sizeof(uint32_t);
	len -= 2 * sizeof(uint32_t);
	if (count > CONFFILE_COUNT_MAX)
		return NULL;
	cf = conffiles_new(generation);
	for (i = 0; i < count; i++) {
		if (len < sizeof(r))
			goto bad;
		memcpy(&r, buf, sizeof(r));
		buf += sizeof(r);
		len -= sizeof(r);
		if (r.pathlen == 0 || r.pathlen >= sizeof(path) ||
		    r.pathlen > len || r.len > CONFFILE_SIZE_MAX ||
		    r.len > len - r.pathlen || r.kind == 0 ||
		    (r.kind & ~CONFFILE_KINDS) != 0)
			goto bad;
		memcpy(path, buf, r.pathlen);
		path[r.pathlen] = '\0';
		if (strlen(path) != r.pathlen || conffiles_find(cf, path))
			goto bad;
		buf += r.pathlen;
		len -= r.pathlen;
		if ((data = malloc(r.len + 1)) == NULL)
			fatal("malloc");
		memcpy(data, buf, r.len);
		data[r.len] = '\0';
		buf += r.len;
		len -= r.len;
		f = conffiles_add(cf, path, r.kind, data, r.len);
		f->sb.st_dev = r.dev;
		f->sb.st_ino = r.ino;
		f->sb.st_size = r.len;
		f->sb.st_mtim.tv_sec = r.mtime_sec;
		f->sb.st_mtim.tv_nsec = r.mtime_nsec;
		f->sb.st_mode = S_IFREG | 0400;
	}
	if (len != 0)
		goto bad;
	return cf;
 bad:
	conffiles_free(cf);
	return NULL;
}

/* Decode the files of a memory file the parent sent; NULL if bad. */
struct conffiles *
conffiles_from_fd(int fd)
{
	struct conffiles	*cf;
	struct stat		 sb;
	void			*p;

	if (fstat(fd, &sb) == -1 || sb.st_size <= 0 ||
	    (size_t)sb.st_size > CONFFILE_TOTAL_MAX)
		return NULL;
	if ((p = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED)
		return NULL;
	cf = conffiles_decode(p, sb.st_size);
	munmap(p, sb.st_size);
	return cf;
}
