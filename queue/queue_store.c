/*
 * The on-disk queue.  Paths are relative to the spool, which is the
 * queue process's root directory (or its working directory when smtpd
 * does not run as root).  Two flat directories and a third for the
 * admin:
 *
 *	incoming/EVPID.tmp	an envelope being rewritten
 *	queue/MSGID		a committed message: headers and body, LF line
 *				endings
 *	queue/EVPID		one envelope per recipient, in the text format
 *				of queue_envelope.c
 *	corrupt/		envelopes that did not parse, with a link to
 *				their message, kept for an admin
 *	pool/			files waiting to be used again: messages'
 *				under 8 hex digits, envelopes' under e and 8
 *
 * MSGID is 8 hex digits, EVPID 16 (the MSGID followed by 8 more).  No
 * directory per message: a message costs its file and its envelopes'
 * files and nothing else.  Even those are not made new each time: a
 * file done with is moved into pool/, and the next one needed is
 * written where it is there and renamed out of it when it is
 * committed, because under load a file system's inode and block
 * allocators are the queue's most expensive steps, and a rename the
 * next.  A file keeps its blocks in the pool: it is written over from
 * its start and cut to its new length when it is finished
 * (store_file_finish), so emptying it frees no blocks (nor discards
 * them, on a file system mounted so) only to allocate them again.  Its
 * old bytes never outlive the cut.  A message being received is in the
 * pool under its pool name: if smtpd stops, it is a free pool file
 * like any other.
 *
 * Messages are committed in batches (group commit): the envelopes of
 * every message in the batch are written into pool files where they
 * are, the envelopes are renamed from pool/ into queue/ and then the
 * message itself, and one syncfs(2) makes the files and the renames
 * durable: only then are the clients told 250.  The message's rename
 * is the commit point: an envelope in queue/ whose message is not
 * there was never acknowledged and is removed at start, as is all of
 * incoming/.  One flush serves the whole batch, where flushing the
 * files before they are named and the names after took two; the price
 * is that a crash during the flush may leave a name over a file that
 * holds some of its blocks and some of what the pool file held before,
 * or is cut short.  So every envelope carries its message's length and
 * sum and is sealed with a sum of its own text (queue_envelope.c), and
 * at start each message is read once and an envelope that does not
 * match, or whose message does not, is moved aside like one that does
 * not parse.  What is moved aside was never acknowledged, or the disk
 * lost it since; either way it is not delivered as it is.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "../smtpd/log.h"
#include "../smtpd/util.h"

#define ENVELOPE_FILEMAX	8192

/*
 * Each message the store knows of: one being received, written into a
 * file of the messages' pool where it is (under its pool name until it
 * is committed), or one committed, with how many envelopes it still
 * has.
 */
struct msgref {
	RB_ENTRY(msgref)	 node;
	uint32_t		 msgid;
	size_t			 count;
	int			 receiving;
	uint32_t		 pool;
	/* At start, the message as read from queue/ (summed 1, or -1). */
	int			 summed;
	uint64_t		 size;
	uint64_t		 sum;
};
RB_HEAD(msgrefs, msgref);
static int
msgref_cmp(struct msgref *a, struct msgref *b)
{
	return a->msgid < b->msgid ? -1 : a->msgid > b->msgid;
}
RB_GENERATE_STATIC(msgrefs, msgref, node, msgref_cmp);
static struct msgrefs	 refs = RB_INITIALIZER(&refs);

static struct msgref *
msgref_get(uint32_t msgid, int create)
{
	struct msgref	 key, *r;

	key.msgid = msgid;
	if ((r = RB_FIND(msgrefs, &refs, &key)) != NULL || !create)
		return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->msgid = msgid;
	RB_INSERT(msgrefs, &refs, r);
	return r;
}

static void
msgref_drop(struct msgref *r)
{
	RB_REMOVE(msgrefs, &refs, r);
	free(r);
}

/*
 * Empty files kept for reuse, by their names in pool/: a message's
 * file under pool/NAME, an envelope's under pool/eNAME.  Each kind is
 * reused for its own, so that a message's file is not cut to an
 * envelope's size and grown back, which frees and allocates blocks
 * (and discards the freed ones) every time.
 */
#define POOL_MAX	512
enum pool_kind {
	POOL_MESSAGE,
	POOL_ENVELOPE
};
struct pool {
	const char	*prefix;
	uint32_t	 names[POOL_MAX];
	size_t		 n;
};
static struct pool	 pools[] = {
	[POOL_MESSAGE] = { "" },
	[POOL_ENVELOPE] = { "e" }
};
static uint32_t		 pool_next;

/* The path of a kind's pool file of that name. */
static void
pool_path(char *buf, size_t len, enum pool_kind kind, uint32_t name)
{
	snprintf(buf, len, "pool/%s%08x", pools[kind].prefix, name);
}

/*
 * A pool file to write where it is, under its name in pool/ (in
 * *namep), from its start; one made new when the pool is empty.  The
 * caller renames it where it belongs, or gives it back with pool_put().
 * Its bytes before it is renamed are nobody's: a crash leaves it in
 * the pool, as free as any.
 */
static int
pool_open(enum pool_kind kind, uint32_t *namep)
{
	struct pool	*p = &pools[kind];
	char		 path[32];
	int		 fd;

	while (p->n > 0) {
		*namep = p->names[--p->n];
		pool_path(path, sizeof(path), kind, *namep);
		if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) != -1)
			return fd;
		unlink(path);	/* gone, or not a file of ours: forget it */
	}
	*namep = pool_next++;
	pool_path(path, sizeof(path), kind, *namep);
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* A pool file taken by pool_open() and not renamed: free again. */
static void
pool_put(enum pool_kind kind, uint32_t name)
{
	struct pool	*p = &pools[kind];
	char		 path[32];

	if (p->n < POOL_MAX) {
		p->names[p->n++] = name;
		return;
	}
	pool_path(path, sizeof(path), kind, name);
	unlink(path);
}

/*
 * Cut a taken file to what was written into it.  A file already of
 * that length is left alone: a truncate changes the inode, and so waits
 * for the file system's journal, even when it cuts nothing.
 */
static int
file_cut(int fd, off_t size)
{
	struct stat	 sb;

	if (fstat(fd, &sb) == 0 && sb.st_size == size)
		return 0;
	return ftruncate(fd, size);
}

/* Cut a taken file to what was written into it, and close it. */
int
store_file_finish(int fd, off_t size)
{
	int	 saved;

	if (file_cut(fd, size) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/*
 * Done with the file at path: move it into its kind's pool, or remove
 * it.  A file with another link (one kept in corrupt/) is only
 * unlinked: its bytes are not ours to write over.
 */
static int
file_release(const char *path, enum pool_kind kind)
{
	struct pool	*p = &pools[kind];
	char		 dst[32];
	struct stat	 sb;

	if (p->n == POOL_MAX || lstat(path, &sb) == -1 ||
	    !S_ISREG(sb.st_mode) || sb.st_nlink != 1)
		return unlink(path);
	pool_path(dst, sizeof(dst), kind, pool_next);
	if (renameat2(AT_FDCWD, path, AT_FDCWD, dst, RENAME_NOREPLACE) == -1)
		return unlink(path);
	p->names[p->n++] = pool_next++;
	return 0;
}

static int
name_is_hex(const char *name, size_t len)
{
	size_t	 i;

	if (strlen(name) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * At start: what pool/ holds is ours to use again, each file in its
 * kind's pool by its name; the rest goes.
 */
static void
pool_load(void)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	struct pool	*p;
	const char	*name;
	uint32_t	 n;

	if ((d = opendir("pool")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "pool/%s", de->d_name);
		/* Told apart by length: a message's name may start with e. */
		p = &pools[POOL_MESSAGE];
		name = de->d_name;
		if (strlen(name) == 9 && name[0] == 'e') {
			p = &pools[POOL_ENVELOPE];
			name++;
		}
		if (p->n == POOL_MAX || !name_is_hex(name, 8) ||
		    lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    sb.st_nlink != 1) {
			unlink(path);
			continue;
		}
		n = strtoul(name, NULL, 16);
		p->names[p->n++] = n;
		if (n >= pool_next)
			pool_next = n + 1;
	}
	closedir(d);
}

/*
 * The spool, open for the process's life: every commit flushes through
 * it, and opening it for each cost a lookup and a close a batch.
 */
static int	 spool_fd = -1;

int
store_init(void)
{
	const char	*dirs[] = { "incoming", "queue", "corrupt", "pool" };
	size_t		 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) == -1 && errno != EEXIST)
			return -1;
	if (spool_fd != -1)
		close(spool_fd);
	if ((spool_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	pool_load();
	return 0;
}

/*
 * Empty incoming/ at start: envelopes being rewritten, and messages
 * being received when an older smtpd, which received them there,
 * stopped (counted).  Nobody got a 250 for them.
 */
int
store_recover(void)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("incoming")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "incoming/%s", de->d_name);
		if (unlink(path) == -1)
			log_warn("queue: cannot remove %s", path);
		else if (name_is_hex(de->d_name, 8))
			n++;
	}
	closedir(d);
	return n;
}

int
store_message_create(uint32_t *msgidp, int *fdp)
{
	struct msgref	*r;
	uint32_t	 msgid;
	int		 tries;

	for (tries = 0; tries < 100; tries++) {
		if ((msgid = arc4random()) == 0)
			continue;
		if (msgref_get(msgid, 0) != NULL)
			continue;
		r = msgref_get(msgid, 1);
		if ((*fdp = pool_open(POOL_MESSAGE, &r->pool)) == -1) {
			msgref_drop(r);
			return -1;
		}
		r->receiving = 1;
		*msgidp = msgid;
		return 0;
	}
	errno = EEXIST;
	return -1;
}

/* A new file at path with data, fsynced: -1 leaves nothing there. */
static int
write_file(const char *path, const char *data, size_t len)
{
	int	 fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* The pool file of a message being received; -1 if it is not one. */
static int
receiving_path(uint32_t msgid, char *buf, size_t len)
{
	struct msgref	*r;

	if ((r = msgref_get(msgid, 0)) == NULL || !r->receiving) {
		errno = ENOENT;
		return -1;
	}
	pool_path(buf, len, POOL_MESSAGE, r->pool);
	return 0;
}

/* The length and sum of the file at path, read from its start. */
static int
file_sum_path(const char *path, uint64_t *sizep, uint64_t *sump)
{
	struct file_sum	 s;
	char		 buf[65536];
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	file_sum_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		file_sum_add(&s, buf, n);
	}
	close(fd);
	*sizep = s.len;
	*sump = file_sum_end(&s);
	return 0;
}

/*
 * Write a message's envelopes, each into a file of the envelopes' pool
 * where it is, with the message's length and sum; names gets their
 * pool names and *ntaken how many were taken, whether or not all went
 * well.
 */
static int
write_envelopes(uint32_t msgid, struct envelope *envs, size_t n,
    uint32_t *names, size_t *ntaken)
{
	char		 buf[ENVELOPE_FILEMAX], path[32];
	uint64_t	 size, sum;
	size_t		 i;
	int		 fd, len, saved;

	*ntaken = 0;
	if (receiving_path(msgid, path, sizeof(path)) == -1 ||
	    file_sum_path(path, &size, &sum) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		envelope_set_message_sum(&envs[i], size, sum);
		if (envelope_msgid(envs[i].id) != msgid ||
		    (len = envelope_dump_sealed(&envs[i], buf,
		    sizeof(buf))) == -1) {
			errno = EINVAL;
			return -1;
		}
		if ((fd = pool_open(POOL_ENVELOPE, &names[i])) == -1)
			return -1;
		(*ntaken)++;
		/* Cut what an older envelope left past len. */
		if (write_all(fd, buf, len) == -1 || file_cut(fd, len) == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (close(fd) == -1)
			return -1;
	}
	return 0;
}

/* Flush the whole spool file system: every file and directory in it. */
int
store_sync(void)
{
	return syncfs(spool_fd);
}

/*
 * Move one message's envelopes from the pool, then the message, into
 * queue/; *nmoved says how many envelopes went.  Every committed
 * message is in refs, so its id is never drawn again; should a file of
 * that name be there all the same, the rename fails rather than write
 * over it.
 */
static int
publish(const struct store_commit *c, const uint32_t *names,
    size_t *nmoved)
{
	char		 src[32], dst[32];
	size_t		 i;

	for (i = 0; i < c->nenvs; i++) {
		pool_path(src, sizeof(src), POOL_ENVELOPE, names[i]);
		snprintf(dst, sizeof(dst), "queue/%016" PRIx64, c->envs[i].id);
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst,
		    RENAME_NOREPLACE) == -1)
			return -1;
		(*nmoved)++;
	}
	if (receiving_path(c->msgid, src, sizeof(src)) == -1)
		return -1;
	snprintf(dst, sizeof(dst), "queue/%08x", c->msgid);
	return renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE);
}

/* Take a message back out of queue/, envelopes and all. */
static void
unpublish(const struct store_commit *c)
{
	char	 path[32];
	size_t	 i;

	snprintf(path, sizeof(path), "queue/%08x", c->msgid);
	unlink(path);
	for (i = 0; i < c->nenvs; i++) {
		snprintf(path, sizeof(path), "queue/%016" PRIx64,
		    c->envs[i].id);
		unlink(path);
	}
}

/*
 * Commit a batch.  Each entry's status says how it went: 0 committed,
 * else an errno (the message is then removed).
 */
void
store_commit_batch(struct store_commit *batch, size_t n)
{
	struct msgref	*r;
	uint32_t	*names;
	size_t		*taken, *moved, i, j, total = 0, off;
	int		 err;

	for (i = 0; i < n; i++)
		total += batch[i].nenvs;
	names = reallocarray(NULL, total + 1, sizeof(*names));
	taken = calloc(n, sizeof(*taken));
	moved = calloc(n, sizeof(*moved));
	if (names == NULL || taken == NULL || moved == NULL)
		fatal("store_commit_batch");
	for (i = 0, off = 0; i < n; off += batch[i].nenvs, i++) {
		batch[i].status = 0;
		if (write_envelopes(batch[i].msgid, batch[i].envs,
		    batch[i].nenvs, names + off, &taken[i]) == -1)
			batch[i].status = errno ? errno : EIO;
	}
	for (i = 0, off = 0; i < n; off += batch[i].nenvs, i++)
		if (batch[i].status == 0 &&
		    publish(&batch[i], names + off, &moved[i]) == -1)
			batch[i].status = errno;
	if (store_sync() == -1) {
		/*
		 * What was written and renamed may or may not last: take it
		 * back, so that nothing a client was told failed is
		 * delivered anyway.
		 */
		err = errno;
		for (i = 0; i < n; i++) {
			if (batch[i].status != 0)
				continue;
			unpublish(&batch[i]);
			batch[i].status = err;
		}
	}
	for (i = 0, off = 0; i < n; off += batch[i].nenvs, i++) {
		/* What was written and not moved is the pool's again. */
		for (j = moved[i]; j < taken[i]; j++)
			pool_put(POOL_ENVELOPE, names[off + j]);
		if (batch[i].status != 0) {
			unpublish(&batch[i]);
			store_message_abort(batch[i].msgid);
		} else {
			r = msgref_get(batch[i].msgid, 1);
			r->receiving = 0;
			r->count += batch[i].nenvs;
		}
	}
	free(names);
	free(taken);
	free(moved);
}

/*
 * Remove a message that was being received.  Its pool file goes rather
 * than back into the pool: it may be large (a message refused for its
 * size, or cut short by a full disk), and its blocks are given back at
 * once.
 */
void
store_message_abort(uint32_t msgid)
{
	struct msgref	*r;
	char		 path[32];

	if ((r = msgref_get(msgid, 0)) == NULL || !r->receiving)
		return;
	pool_path(path, sizeof(path), POOL_MESSAGE, r->pool);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("queue: cannot remove %s", path);
	msgref_drop(r);
}

int
store_message_open(uint32_t msgid)
{
	char	 path[32];

	snprintf(path, sizeof(path), "queue/%08x", msgid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Rewrite an envelope in place: a new file renamed over the old. */
int
store_envelope_update(const struct envelope *e)
{
	char	 path[32], tmp[48], buf[ENVELOPE_FILEMAX];
	int	 len;

	if ((len = envelope_dump_sealed(e, buf, sizeof(buf))) == -1) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "queue/%016" PRIx64, e->id);
	snprintf(tmp, sizeof(tmp), "incoming/%016" PRIx64 ".tmp", e->id);
	if (write_file(tmp, buf, len) == -1)
		return -1;
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * An envelope is done.  The last one takes its message with it.  The
 * caller makes the removal durable with store_sync(), soon and for many
 * removals at once, so that a delivered envelope does not come back
 * after a crash and deliver twice.
 */
int
store_envelope_remove(uint64_t evpid)
{
	struct msgref	*r;
	char		 path[32];

	snprintf(path, sizeof(path), "queue/%016" PRIx64, evpid);
	if (file_release(path, POOL_ENVELOPE) == -1)
		return -1;
	if ((r = msgref_get(envelope_msgid(evpid), 0)) == NULL)
		return 0;
	if (--r->count > 0)
		return 0;
	msgref_drop(r);
	snprintf(path, sizeof(path), "queue/%08x", envelope_msgid(evpid));
	return file_release(path, POOL_MESSAGE);
}

static void
store_quarantine(const char *name, uint32_t msgid, const char *why)
{
	char	 src[PATH_MAX], dst[PATH_MAX];

	snprintf(src, sizeof(src), "queue/%s", name);
	snprintf(dst, sizeof(dst), "corrupt/%s", name);
	if (rename(src, dst) == -1) {
		log_warn("queue: cannot move %s aside", src);
		return;
	}
	snprintf(src, sizeof(src), "queue/%08x", msgid);
	snprintf(dst, sizeof(dst), "corrupt/%08x", msgid);
	if (link(src, dst) == -1 && errno != EEXIST && errno != ENOENT)
		log_warn("queue: cannot link %s", dst);
	log_warnx("queue: corrupt envelope %s moved to corrupt/: %s", name,
	    why);
}

/*
 * Whether the message in queue/ is the one the envelope was committed
 * with: each message is read once at start, and an envelope written
 * before the queue kept a message's sum is taken as it is.  A crash
 * during the commit's flush can leave the name with some blocks of an
 * earlier file, or cut short; so can a disk.  -1 when it does not
 * match, or cannot be read.
 */
static int
message_matches(const struct envelope *e)
{
	struct msgref	*r;
	char		 path[32];
	uint64_t	 size, sum;

	if (envelope_message_sum(e, &size, &sum) != 0)
		return 0;
	r = msgref_get(envelope_msgid(e->id), 1);
	if (r->summed == 0) {
		snprintf(path, sizeof(path), "queue/%08x", r->msgid);
		r->summed = file_sum_path(path, &r->size, &r->sum) == 0 ?
		    1 : -1;
	}
	return r->summed == 1 && r->size == size && r->sum == sum ? 0 : -1;
}

/* Read and check one envelope file; -1 when it was moved aside. */
static int
store_read_envelope(const char *name, struct envelope *e)
{
	char		 path[PATH_MAX], buf[ENVELOPE_FILEMAX + 1];
	char		 err[128];
	const char	*text;
	ssize_t		 n = -1;
	int		 fd;

	snprintf(path, sizeof(path), "queue/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n < 0) {
		log_warn("queue: %s", path);
		return -1;
	}
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n) {
		store_quarantine(name, (uint32_t)(strtoull(name, NULL, 16) >>
		    32), "NUL byte");
		return -1;
	}
	if ((text = envelope_unseal(buf, n, err, sizeof(err))) == NULL ||
	    envelope_load(e, text, err, sizeof(err)) == -1) {
		store_quarantine(name, (uint32_t)(strtoull(name, NULL, 16) >>
		    32), err);
		return -1;
	}
	snprintf(path, sizeof(path), "%016" PRIx64, e->id);
	if (strcmp(path, name) != 0) {
		store_quarantine(name, envelope_msgid(e->id),
		    "id does not match its file name");
		return -1;
	}
	if (message_matches(e) == -1) {
		store_quarantine(name, envelope_msgid(e->id),
		    "its message is not as it was committed");
		return -1;
	}
	return 0;
}

/*
 * Load the queue at start: call cb for every committed envelope that
 * parses.  Envelopes whose message never made it into queue/ were
 * never acknowledged and go; messages left with no envelope go too.
 */
int
store_walk(int (*cb)(const struct envelope *, void *), void *arg)
{
	char		 path[PATH_MAX];
	struct envelope	 e;
	struct msgref	*r, *next;
	struct stat	 sb;
	DIR		*d;
	struct dirent	*de;
	uint32_t	 msgid;
	int		 total = 0;

	if ((d = opendir("queue")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (name_is_hex(de->d_name, 8)) {
			msgref_get(strtoul(de->d_name, NULL, 16), 1);
			continue;
		}
		if (!name_is_hex(de->d_name, 16)) {
			log_warnx("queue: stray entry queue/%s left alone",
			    de->d_name);
			continue;
		}
		msgid = (uint32_t)(strtoull(de->d_name, NULL, 16) >> 32);
		snprintf(path, sizeof(path), "queue/%08x", msgid);
		if (stat(path, &sb) == -1) {
			snprintf(path, sizeof(path), "queue/%s", de->d_name);
			log_info("queue: removing %s, whose message was "
			    "never committed", path);
			unlink(path);
			continue;
		}
		if (store_read_envelope(de->d_name, &e) == -1)
			continue;
		msgref_get(msgid, 1)->count++;
		total++;
		if (cb(&e, arg) == -1)
			break;
	}
	closedir(d);
	for (r = RB_MIN(msgrefs, &refs); r != NULL; r = next) {
		next = RB_NEXT(msgrefs, &refs, r);
		if (r->count > 0 || r->receiving)
			continue;
		snprintf(path, sizeof(path), "queue/%08x", r->msgid);
		log_info("queue: removing %s, which has no envelope left",
		    path);
		unlink(path);
		msgref_drop(r);
	}
	return total;
}
