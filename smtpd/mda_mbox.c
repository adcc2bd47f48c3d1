/*
 * mbox delivery: append the message to a mailbox file, after a
 * "From SENDER DATE" line, with every body line that matches
 * ^>*From  given one more '>' (mboxrd), so that a reader can undo the
 * quoting exactly, and an empty line after it.
 *
 * Two locks keep other writers out, taken in the order mail readers
 * take them: a dot-lock, PATH.lock created with O_EXCL, which is what
 * many MUAs honour, then an fcntl(2) lock on the mailbox itself.  When
 * the user may not create files next to the mailbox (/var/mail is
 * often root:mail 2775), no dot-lock can be made and the fcntl lock
 * serves alone.  A busy mailbox is tried once a second for a minute,
 * then the delivery fails for now and the queue tries again later.
 *
 * The message is appended whole or not at all: after any failed write
 * the file is cut back to the size it had, and it is flushed to disk
 * before the locks go.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mda.h"

#define MBOX_LOCK_WAIT		60	/* seconds to wait for a lock */
#define MBOX_LOCK_STALE		300	/* seconds: a dead dot-lock */

/* Buffered writes that remember the first error and stop there. */
struct mbox_out {
	int		 fd;
	int		 error;
	size_t		 len;
	char		 buf[65536];
};

struct mbox_lock {
	char		 lockpath[PATH_MAX];
	int		 dotlocked;
	int		 nodotlock;	/* the directory is not ours */
	int		 fd;
};

static void
out_flush(struct mbox_out *o)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < o->len && o->error == 0) {
		if ((n = write(o->fd, o->buf + off, o->len - off)) == -1) {
			if (errno != EINTR)
				o->error = errno;
			continue;
		}
		off += n;
	}
	o->len = 0;
}

static void
out_write(struct mbox_out *o, const char *p, size_t n)
{
	size_t	 take;

	while (n > 0 && o->error == 0) {
		if (o->len == sizeof(o->buf))
			out_flush(o);
		take = sizeof(o->buf) - o->len;
		if (take > n)
			take = n;
		memcpy(o->buf + o->len, p, take);
		o->len += take;
		p += take;
		n -= take;
	}
}

/* 1 if the dot-lock is taken (or cannot be had at all), 0 if busy. */
static int
mbox_dotlock_try(struct mbox_lock *l)
{
	struct stat	 sb;
	int		 fd, again;

	for (again = 0; again < 2; again++) {
		fd = open(l->lockpath, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd != -1) {
			close(fd);
			l->dotlocked = 1;
			return 1;
		}
		if (errno == EACCES) {
			l->nodotlock = 1;
			return 1;
		}
		if (errno != EEXIST)
			return -1;
		/* Left behind by a writer that died: take it over. */
		if (lstat(l->lockpath, &sb) == -1 ||
		    time(NULL) - sb.st_mtime <= MBOX_LOCK_STALE ||
		    unlink(l->lockpath) == -1)
			return 0;
		log_info("delivery mbox=\"%s\" removed stale dot-lock",
		    l->lockpath);
	}
	return 0;
}

/*
 * Open the mailbox, creating it if need be.  It must be a plain file
 * of the user's own: a link planted by someone else must not redirect
 * the write.
 */
static int
mbox_open(const char *path, char *err, size_t errlen)
{
	struct stat	 sb;
	int		 fd;

	/* A FIFO in its place must not hold the agent forever. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1 ||
	    sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: not a plain file of the recipient's",
		    path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
mbox_fcntl_try(int fd)
{
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 1;
	return errno == EAGAIN || errno == EACCES ? 0 : -1;
}

static void
mbox_unlock(struct mbox_lock *l)
{
	/* Closing the descriptor drops the fcntl lock. */
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->dotlocked)
		unlink(l->lockpath);
	l->dotlocked = 0;
}

static int
mbox_lock(const char *path, struct mbox_lock *l, uint64_t evpid, char *err,
    size_t errlen)
{
	int	 tries, r;

	for (tries = 0;; tries++) {
		r = 1;
		if (!l->dotlocked && !l->nodotlock &&
		    (r = mbox_dotlock_try(l)) == -1) {
			snprintf(err, errlen, "%s: %s", l->lockpath,
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		if (r == 1 && l->fd == -1 &&
		    (l->fd = mbox_open(path, err, errlen)) == -1)
			return EX_TEMPFAIL;
		if (r == 1 && (r = mbox_fcntl_try(l->fd)) == -1) {
			snprintf(err, errlen, "%s: lock: %s", path,
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		if (r == 1)
			return EX_OK;
		if (tries == MBOX_LOCK_WAIT) {
			snprintf(err, errlen, "%s: mailbox stayed locked for "
			    "%d seconds", path, MBOX_LOCK_WAIT);
			return EX_TEMPFAIL;
		}
		if (tries == 0)
			log_info("delivery evpid=%016" PRIx64 " mbox=\"%s\" "
			    "result=waiting reason=locked", evpid, path);
		sleep(1);
	}
}

/* Whether a line must be quoted: it matches ^>*From . */
static int
mbox_needs_quote(const char *line, size_t n)
{
	size_t	 i = 0;

	while (i < n && line[i] == '>')
		i++;
	return n - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

/*
 * The "From " line: the envelope sender and the date, as asctime(3)
 * writes it.  A quoted local part may hold blanks, which would split
 * the line's fields, so they become underscores.
 */
static void
mbox_from_line(struct mbox_out *o, const char *sender)
{
	char	 from[256], date[64], line[512];
	time_t	 now;
	size_t	 i;

	strlcpy(from, sender[0] != '\0' ? sender : "MAILER-DAEMON",
	    sizeof(from));
	for (i = 0; from[i] != '\0'; i++)
		if (from[i] == ' ' || from[i] == '\t')
			from[i] = '_';
	now = time(NULL);
	if (strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y",
	    localtime(&now)) == 0)
		date[0] = '\0';
	snprintf(line, sizeof(line), "From %s %s\n", from, date);
	out_write(o, line, strlen(line));
}

static int
mbox_append(int fd, int msgfd, const struct mda_envelope *e)
{
	struct mbox_out		 o;
	struct mda_reader	 r;
	char			 hdr[1024], *line;
	ssize_t			 n = 0;
	char			 last = '\n';

	o.fd = fd;
	o.error = 0;
	o.len = 0;
	mbox_from_line(&o, e->sender);
	snprintf(hdr, sizeof(hdr), "Return-Path: <%s>\nDelivered-To: %s\n",
	    e->sender, e->rcpt);
	out_write(&o, hdr, strlen(hdr));
	mda_reader_init(&r, msgfd);
	while (o.error == 0 && (n = mda_reader_line(&r, &line)) > 0) {
		if (mbox_needs_quote(line, n))
			out_write(&o, ">", 1);
		out_write(&o, line, n);
		last = line[n - 1];
	}
	if (n == -1 && o.error == 0)
		o.error = errno != 0 ? errno : EIO;
	mda_reader_free(&r);
	if (last != '\n')
		out_write(&o, "\n", 1);
	out_write(&o, "\n", 1);
	out_flush(&o);
	if (o.error == 0 && fsync(fd) == -1)
		o.error = errno;
	errno = o.error;
	return o.error == 0 ? 0 : -1;
}

/*
 * Run as root, before the agent becomes the user: create a missing
 * mailbox in a directory the user may not write to, such as /var/mail,
 * and give it to the user.  Every directory on the way must be root's
 * and no symbolic link, and the file must be new, so that nobody can
 * steer the creation elsewhere.  Anything unexpected leaves the work
 * to the agent, which then fails with the reason.
 */
void
mda_mbox_create(const char *path, uid_t uid)
{
	char		 buf[PATH_MAX], *p, *slash;
	struct stat	 sb;
	int		 dfd, nfd, fd;

	if (path[0] != '/' || strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return;
	if ((dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	for (p = buf + 1; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		*slash = '\0';
		if (*p == '\0')
			continue;
		nfd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(dfd);
		if (nfd == -1)
			return;
		if (fstat(nfd, &sb) == -1 || sb.st_uid != 0) {
			close(nfd);
			return;
		}
		dfd = nfd;
	}
	if (*p != '\0' && (fd = openat(dfd, p, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) != -1) {
		if (fchown(fd, uid, -1) == -1)
			unlinkat(dfd, p, 0);
		close(fd);
	}
	close(dfd);
}

int
mda_mbox_write(const char *path, int msgfd, const struct mda_envelope *e,
    char *err, size_t errlen)
{
	struct mbox_lock	 l;
	struct stat		 sb;
	int			 rc;

	memset(&l, 0, sizeof(l));
	l.fd = -1;
	if ((size_t)snprintf(l.lockpath, sizeof(l.lockpath), "%s.lock",
	    path) >= sizeof(l.lockpath)) {
		snprintf(err, errlen, "mbox path too long");
		return EX_CANTCREAT;
	}
	if ((rc = mbox_lock(path, &l, e->evpid, err, errlen)) != EX_OK) {
		mbox_unlock(&l);
		return rc;
	}
	/* Under the lock, the size is where this message will begin. */
	if (fstat(l.fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		mbox_unlock(&l);
		return EX_TEMPFAIL;
	}
	if (mbox_append(l.fd, msgfd, e) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (ftruncate(l.fd, sb.st_size) == -1 || fsync(l.fd) == -1)
			log_warn("delivery mbox=\"%s\" cannot undo a partial "
			    "write", path);
		mbox_unlock(&l);
		return EX_TEMPFAIL;
	}
	mbox_unlock(&l);
	return EX_OK;
}
