/*
 * The on-disk queue.  Paths are relative to the spool, which is the
 * queue process's root directory (or its working directory when smtpd
 * does not run as root):
 *
 *	incoming/MSGID/message		being received; never acknowledged
 *	queue/MSGID/message		committed message: headers and body,
 *					LF line endings
 *	queue/MSGID/EVPID		one envelope per recipient, in the
 *					text format of queue_envelope.c
 *	corrupt/			envelopes that did not parse, with a
 *					link to their message, for an admin
 *
 * MSGID is 8 hex digits, EVPID 16 (the MSGID followed by 8 more).
 * Messages are committed in batches (group commit): the envelopes of
 * every message in the batch are written, one syncfs(2) makes them and
 * the message files durable, each incoming/MSGID is renamed to
 * queue/MSGID, and an fsync of queue/ makes the renames durable: only
 * then are the clients told 250.  Two flushes serve the whole batch, however
 * many messages it holds, and a message is never visible in queue/
 * before its content is on disk.  What is left in incoming/ at start
 * was never acknowledged and is removed.
 */
#include <sys/types.h>
#include <sys/stat.h>

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

#define ENVELOPE_FILEMAX	4096

static int
rm_dir(const char *dir)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("queue: unlink %s", path);
	}
	closedir(d);
	return rmdir(dir);
}

int
store_init(void)
{
	const char	*dirs[] = { "incoming", "queue", "corrupt" };
	size_t		 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) == -1 && errno != EEXIST)
			return -1;
	return 0;
}

/* Drop what was being received when smtpd stopped: nobody got a 250. */
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
		if (rm_dir(path) == -1)
			log_warn("queue: cannot remove %s", path);
		else
			n++;
	}
	closedir(d);
	return n;
}

int
store_message_create(uint32_t *msgidp, int *fdp)
{
	char		 dir[32], path[64];
	struct stat	 sb;
	uint32_t	 msgid;
	int		 fd, tries;

	for (tries = 0; tries < 100; tries++) {
		if ((msgid = arc4random()) == 0)
			continue;
		snprintf(path, sizeof(path), "queue/%08x", msgid);
		if (stat(path, &sb) == 0)
			continue;
		snprintf(dir, sizeof(dir), "incoming/%08x", msgid);
		if (mkdir(dir, 0700) == -1) {
			if (errno == EEXIST)
				continue;
			return -1;
		}
		snprintf(path, sizeof(path), "%s/message", dir);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) == -1) {
			int saved = errno;

			rmdir(dir);
			errno = saved;
			return -1;
		}
		*msgidp = msgid;
		*fdp = fd;
		return 0;
	}
	errno = EEXIST;
	return -1;
}

static int
write_file(const char *path, const char *data, size_t len, int flags,
    int sync)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags,
	    0600)) == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += n;
	}
	if (sync && fsync(fd) == -1)
		goto fail;
	return close(fd);
fail:
	saved = errno;
	close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

static int
write_envelopes(uint32_t msgid, const struct envelope *envs, size_t n)
{
	char	 path[96], buf[ENVELOPE_FILEMAX];
	size_t	 i;
	int	 len;

	for (i = 0; i < n; i++) {
		if (envelope_msgid(envs[i].id) != msgid ||
		    (len = envelope_dump(&envs[i], buf, sizeof(buf))) == -1) {
			errno = EINVAL;
			return -1;
		}
		snprintf(path, sizeof(path), "incoming/%08x/%016" PRIx64,
		    msgid, envs[i].id);
		if (write_file(path, buf, len, O_EXCL, 0) == -1)
			return -1;
	}
	return 0;
}

/*
 * Make a directory's entries durable.  The renames of a batch are
 * metadata only: fsync on queue/ commits the file system's journal with
 * all of them, without writing back every dirty page as syncfs does.
 */
static int
dir_sync(const char *path)
{
	int	 fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Flush the whole spool file system: every file and directory in it. */
int
store_sync(void)
{
	int	 fd, r, saved;

	if ((fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = syncfs(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/*
 * Commit a batch.  Each entry's status says how it went: 0 committed,
 * else an errno (the message is then removed from incoming/).
 */
void
store_commit_batch(struct store_commit *batch, size_t n)
{
	char	 src[32], dst[32];
	size_t	 i;
	int	 err;

	for (i = 0; i < n; i++) {
		batch[i].status = 0;
		if (write_envelopes(batch[i].msgid, batch[i].envs,
		    batch[i].nenvs) == -1)
			batch[i].status = errno ? errno : EIO;
	}
	if (store_sync() == -1) {
		err = errno;
		for (i = 0; i < n; i++)
			if (batch[i].status == 0)
				batch[i].status = err;
	}
	for (i = 0; i < n; i++) {
		if (batch[i].status != 0)
			continue;
		snprintf(src, sizeof(src), "incoming/%08x", batch[i].msgid);
		snprintf(dst, sizeof(dst), "queue/%08x", batch[i].msgid);
		if (rename(src, dst) == -1)
			batch[i].status = errno;
	}
	if (dir_sync("queue") == -1) {
		/*
		 * The renames may or may not last: take them back, so that
		 * nothing a client was told failed is delivered anyway.
		 */
		err = errno;
		for (i = 0; i < n; i++) {
			if (batch[i].status != 0)
				continue;
			snprintf(src, sizeof(src), "incoming/%08x",
			    batch[i].msgid);
			snprintf(dst, sizeof(dst), "queue/%08x",
			    batch[i].msgid);
			if (rename(dst, src) == -1)
				log_warn("queue: cannot take back %s", dst);
			batch[i].status = err;
		}
	}
	for (i = 0; i < n; i++)
		if (batch[i].status != 0)
			store_message_abort(batch[i].msgid);
}

void
store_message_abort(uint32_t msgid)
{
	char	 dir[64];

	snprintf(dir, sizeof(dir), "incoming/%08x", msgid);
	if (rm_dir(dir) == -1 && errno != ENOENT)
		log_warn("queue: cannot remove %s", dir);
}

int
store_message_open(uint32_t msgid)
{
	char	 path[64];

	snprintf(path, sizeof(path), "queue/%08x/message", msgid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Rewrite an envelope in place: a new file renamed over the old. */
int
store_envelope_update(const struct envelope *e)
{
	char	 path[96], tmp[128], buf[ENVELOPE_FILEMAX];
	int	 len;

	if ((len = envelope_dump(e, buf, sizeof(buf))) == -1) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "queue/%08x/%016" PRIx64,
	    envelope_msgid(e->id), e->id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (write_file(tmp, buf, len, O_TRUNC, 1) == -1)
		return -1;
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
dir_has_envelopes(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 found = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 16) {
			found = 1;
			break;
		}
	closedir(d);
	return found;
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
	char	 dir[64], path[96];

	snprintf(dir, sizeof(dir), "queue/%08x", envelope_msgid(evpid));
	snprintf(path, sizeof(path), "%s/%016" PRIx64, dir, evpid);
	if (unlink(path) == -1)
		return -1;
	if (dir_has_envelopes(dir) == 0 && rm_dir(dir) == -1)
		return -1;
	return 0;
}

static void
store_quarantine(const char msgdir[32], const char *name, const char *why)
{
	char	 src[PATH_MAX], dst[PATH_MAX];

	snprintf(src, sizeof(src), "%s/%s", msgdir, name);
	snprintf(dst, sizeof(dst), "corrupt/%s-%s", msgdir + 6, name);
	if (rename(src, dst) == -1) {
		log_warn("queue: cannot move %s aside", src);
		return;
	}
	snprintf(src, sizeof(src), "%s/message", msgdir);
	snprintf(dst, sizeof(dst), "corrupt/%s-message", msgdir + 6);
	if (link(src, dst) == -1 && errno != EEXIST && errno != ENOENT)
		log_warn("queue: cannot link %s", dst);
	log_warnx("queue: corrupt envelope %s moved to corrupt/: %s", name,
	    why);
}

static int
store_walk_message(const char msgdir[32], uint32_t msgid,
    int (*cb)(const struct envelope *, void *), void *arg)
{
	char		 path[PATH_MAX], buf[ENVELOPE_FILEMAX + 1], err[128];
	struct envelope	 e;
	struct stat	 sb;
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;
	int		 fd, count = 0;

	if ((d = opendir(msgdir)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/message", msgdir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "message") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", msgdir, de->d_name);
		if (strlen(de->d_name) > 16 &&
		    strcmp(de->d_name + 16, ".tmp") == 0) {
			/* An update that never finished: the old file stands. */
			unlink(path);
			continue;
		}
		n = -1;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		if (n < 0) {
			log_warn("queue: %s", path);
			continue;
		}
		buf[n] = '\0';
		if (strlen(buf) != (size_t)n) {
			store_quarantine(msgdir, de->d_name, "NUL byte");
			continue;
		}
		if (envelope_load(&e, buf, err, sizeof(err)) == -1) {
			store_quarantine(msgdir, de->d_name, err);
			continue;
		}
		snprintf(path, sizeof(path), "%016" PRIx64, e.id);
		if (strcmp(path, de->d_name) != 0 ||
		    envelope_msgid(e.id) != msgid) {
			store_quarantine(msgdir, de->d_name,
			    "id does not match its file name");
			continue;
		}
		snprintf(path, sizeof(path), "%s/message", msgdir);
		if (stat(path, &sb) == -1) {
			store_quarantine(msgdir, de->d_name,
			    "message file missing");
			continue;
		}
		count++;
		if (cb(&e, arg) == -1)
			break;
	}
	closedir(d);
	return count;
}

/* Call cb for every committed envelope that parses. */
int
store_walk(int (*cb)(const struct envelope *, void *), void *arg)
{
	char		 msgdir[32], *ep;
	DIR		*d;
	struct dirent	*de;
	unsigned long	 msgid;
	int		 total = 0, n;

	if ((d = opendir("queue")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		msgid = strtoul(de->d_name, &ep, 16);
		if (strlen(de->d_name) != 8 || *ep != '\0') {
			log_warnx("queue: stray entry queue/%s left alone",
			    de->d_name);
			continue;
		}
		snprintf(msgdir, sizeof(msgdir), "queue/%s", de->d_name);
		if ((n = store_walk_message(msgdir, (uint32_t)msgid, cb,
		    arg)) > 0)
			total += n;
		else if (n == 0 && dir_has_envelopes(msgdir) == 0)
			rm_dir(msgdir);
	}
	closedir(d);
	return total;
}
