/*
 * Local delivery.  The parent forks agents; an agent becomes the
 * recipient (when smtpd runs as root), writes its messages into the
 * mailbox one after the other and reports a sysexits(3) code for each
 * on a socket, which the parent maps to delivered, try again later, or
 * failed for good.  Mailbox deliveries of one user wait for one of a
 * few agents and go in batches, and an agent that is done waits for
 * the user's next batch; a command or a file gets an agent of its own.
 *
 * A maildir delivery writes an unnamed file in new/ (or one in tmp/
 * where O_TMPFILE is not supported), makes it durable (a batch's files
 * all at once), links it into new/ under a name made from the envelope
 * (its creation time and id) and fsyncs new/, so a message is either
 * wholly there or not at all.  The name is the same on every attempt:
 * if a crash lost the queue's record of a finished delivery, the next
 * attempt finds the message already in new/ and does not deliver it
 * twice.
 *
 * The other methods live in files of their own: mda_mbox.c appends to
 * an mbox file, mda_command.c runs the admin's command, mda_lmtp.c
 * hands the message to an LMTP server.  This file forks the agent,
 * picks the method, and holds what they share.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd.h"
#include "mda.h"
#include "../queue/queue_msg.h"

#define MBOX_DEFAULT	"/var/mail/%{user.username}"

/*
 * A message on its way into a maildir: an unnamed file made in new/
 * (O_TMPFILE) and still open, or, where the file system cannot make
 * one, a file in tmp/.
 */
struct maildir_file {
	int	 fd;
	char	 tmp[PATH_MAX];
	char	 new[PATH_MAX];
};

/*
 * Agents are not forked per envelope when they need not be.  The
 * mailbox deliveries (maildir, mbox, LMTP) of one user by one action
 * wait in a box while MDA_AGENTS_PER_BOX agents run for it; the next
 * agent takes up to MDA_BATCH_MAX of them and delivers them one after
 * the other.  A file or command of an alias or ~/.forward, and an mda
 * command, still gets an agent of its own.
 */
#define MDA_BATCH_MAX		32
#define MDA_AGENTS_PER_BOX	2

/*
 * A mailbox agent that has delivered its batch is not done: it says so
 * and waits, still the user and still sandboxed, and the parent hands
 * it the box's next batch over its socket instead of forking another.
 * The parent ends it after MDA_AGENT_IDLE seconds without work, after
 * MDA_AGENT_SERVES messages, or when more than MDA_AGENTS_IDLE_MAX
 * agents would wait.
 */
#define MDA_AGENT_IDLE		2	/* seconds */
#define MDA_AGENT_SERVES	1024
#define MDA_AGENTS_IDLE_MAX	16

/* One envelope handed to a waiting agent, with its message. */
struct mda_feed {
	uint32_t		 last;	/* the batch's last */
	struct mda_envelope	 e;
	char			 target[ENVELOPE_TARGETMAX];
};

struct mda_item {
	TAILQ_ENTRY(mda_item)	 entry;
	int			 msgfd;
	int			 reported;
	struct mda_envelope	 e;
	char			 target[ENVELOPE_TARGETMAX];
};
TAILQ_HEAD(mda_items, mda_item);

struct mda_box {
	TAILQ_ENTRY(mda_box)	 entry;
	struct smtpd_config	*conf;		/* a is one of its actions */
	const struct action	*a;
	struct mda_user		 u;
	struct mda_items	 waiting;
	size_t			 nwaiting;
	int			 running;
};
static TAILQ_HEAD(, mda_box)	 mda_boxes = TAILQ_HEAD_INITIALIZER(mda_boxes);

struct mda_job {
	TAILQ_ENTRY(mda_job)	 entry;
	pid_t			 pid;
	struct mda_box		*box;		/* NULL: an agent of its own */
	struct mda_items	 items;		/* given and not yet reported */
	int			 sock;		/* -1 once let go */
	struct event		 ev;
	struct event		 idle_ev;
	int			 idle;
	size_t			 served;
};
static TAILQ_HEAD(, mda_job)	 mda_jobs = TAILQ_HEAD_INITIALIZER(mda_jobs);
static size_t			 mda_idle;

static void	mda_box_run(struct mda_box *);

static void
mda_report(uint64_t evpid, int status, const char *err)
{
	struct msg_delivered	 d;

	d.evpid = evpid;
	d.status = status;
	/* Cut to what the envelope keeps: never a message it cannot read. */
	strlcpy(d.err, err, sizeof(d.err));
	msg_delivered_write(&d);
}

/*
 * Expand ~ and %{user.username} in a mailbox path for one user; an
 * empty path stands for the method's default.
 */
static int
mda_expand_path(char *out, size_t outlen, const char *tmpl,
    const char *dflt, const struct passwd *pw)
{
	const char	*p;
	size_t		 n = 0;
	int		 r;

	out[0] = '\0';
	if (tmpl[0] == '\0')
		tmpl = dflt;
	p = tmpl;
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		n = strlcpy(out, pw->pw_dir, outlen);
		p++;
	}
	while (*p != '\0' && n < outlen) {
		if (strncmp(p, "%{user.username}", 16) == 0) {
			r = snprintf(out + n, outlen - n, "%s", pw->pw_name);
			if (r < 0)
				return -1;
			n += r;
			p += 16;
			continue;
		}
		out[n++] = *p++;
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char	 buf[PATH_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static int
fsync_dir(const char *path)
{
	int	 fd, r;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* tmp/, new/ and cur/ of a maildir, made if missing. */
static int
maildir_prepare(const char *dir, char *err, size_t errlen)
{
	char		 sub[PATH_MAX];
	const char	*subs[] = { "tmp", "new", "cur" };
	struct stat	 sb;
	size_t		 i;

	/* A maildir that is there costs one stat, not a mkdir a level. */
	for (i = 0; i < 3; i++) {
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
		    subs[i]) >= sizeof(sub)) {
			snprintf(err, errlen, "maildir path too long");
			return EX_CANTCREAT;
		}
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
			continue;
		if (mkdir_p(sub, 0700) == -1) {
			snprintf(err, errlen, "%s: %s", sub, strerror(errno));
			return EX_TEMPFAIL;
		}
	}
	return EX_OK;
}

/*
 * Open the file a message is written into.  An unnamed file in new/
 * needs no name in tmp/ to be made and removed, and is seen by no
 * reader until it is linked whole; tmp/ is the way where O_TMPFILE is
 * not supported, and only then is a name made for it there.
 */
static int
maildir_create(const char *dir, const struct mda_envelope *e,
    const char *host, struct maildir_file *f)
{
	static int	 tmpfile_ok = -1;
	struct stat	 sb;
	struct timeval	 tv;
	char		 sub[PATH_MAX];
	int		 fd;

	/* Linking an unnamed file may take /proc/self/fd: maildir_link(). */
	if (tmpfile_ok == -1)
		tmpfile_ok = stat("/proc/self/fd", &sb) == 0;
	if (tmpfile_ok) {
		snprintf(sub, sizeof(sub), "%s/new", dir);
		fd = open(sub, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd != -1) {
			f->fd = fd;
			return fd;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -1;
	}
	/* Unique in a batch too: the envelope is in the name. */
	gettimeofday(&tv, NULL);
	snprintf(f->tmp, sizeof(f->tmp), "%s/tmp/%lld.M%ldP%dE%016llx.%s",
	    dir, (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(),
	    (unsigned long long)e->evpid, host);
	if ((fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		f->tmp[0] = '\0';
	return fd;
}

/* Undo a staged message: close it, and remove its name in tmp/. */
static void
maildir_discard(struct maildir_file *f)
{
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0] != '\0')
		unlink(f->tmp);
}

/*
 * Write the message, and fsync it when sync says; f gets the file
 * (open if unnamed, or its name in tmp/) and the name it is to have in
 * new/.  The header lines go out in the same write as the first part
 * of the message: a small message costs one write(2).
 */
static int
maildir_stage(const char *dir, int msgfd, const struct mda_envelope *e,
    const char *host, struct maildir_file *f, char *err, size_t errlen,
    int sync)
{
	char		 buf[65536];
	off_t		 off = 0;
	ssize_t		 n;
	int		 fd, hlen;

	f->fd = -1;
	f->tmp[0] = '\0';
	snprintf(f->new, sizeof(f->new), "%s/new/%lld.E%016llx.%s", dir,
	    (long long)e->created, (unsigned long long)e->evpid, host);
	if ((fd = maildir_create(dir, e, host, f)) == -1) {
		snprintf(err, errlen, "%s: %s", f->new, strerror(errno));
		return EX_TEMPFAIL;
	}
	/* Both are NUL-terminated within 256 bytes: this fits. */
	hlen = snprintf(buf, sizeof(buf), "Return-Path: <%s>\nDelivered-To: "
	    "%s\n", e->sender, e->rcpt);
	for (;;) {
		if ((n = pread(msgfd, buf + hlen, sizeof(buf) - hlen,
		    off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (hlen + n > 0 &&
		    write_all(fd, buf, hlen + n) == -1) {
			n = -1;
			break;
		}
		if (n == 0)
			break;
		off += n;
		hlen = 0;
	}
	if (n == -1 || (sync && fsync(fd) == -1)) {
		snprintf(err, errlen, "%s: %s", f->new, strerror(errno));
		if (f->fd == -1)
			close(fd);
		maildir_discard(f);
		return EX_TEMPFAIL;
	}
	if (f->fd == -1 && close(fd) == -1) {
		snprintf(err, errlen, "%s: %s", f->new, strerror(errno));
		maildir_discard(f);
		return EX_TEMPFAIL;
	}
	return EX_OK;
}

/*
 * Give a durable file its name in new/ (not yet durable itself).  An
 * unnamed file is linked through its descriptor: with AT_EMPTY_PATH
 * where the kernel lets its opener do so (Linux 6.10 and later), else
 * through /proc/self/fd, which costs a walk of a path in /proc.
 */
static int
maildir_link(struct maildir_file *f, char *err, size_t errlen)
{
	static int	 empty_path_ok = 1;
	char		 proc[64];
	int		 r, by_proc = 1;

	if (f->fd != -1) {
		if (empty_path_ok) {
			r = linkat(f->fd, "", AT_FDCWD, f->new,
			    AT_EMPTY_PATH);
			by_proc = r == -1 && (errno == ENOENT ||
			    errno == EPERM);
		}
		if (by_proc) {
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d",
			    f->fd);
			r = linkat(AT_FDCWD, proc, AT_FDCWD, f->new,
			    AT_SYMLINK_FOLLOW);
			/*
			 * What /proc links the kernel refused by descriptor
			 * (an older kernel): use /proc from now on.
			 */
			if (r == 0)
				empty_path_ok = 0;
		}
	} else
		r = link(f->tmp, f->new);
	/* Already there: an earlier attempt got this far. */
	if (r == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", f->new, strerror(errno));
		maildir_discard(f);
		return EX_TEMPFAIL;
	}
	maildir_discard(f);
	return EX_OK;
}

static int
maildir_sync_new(const char *dir, char *err, size_t errlen)
{
	char	 sub[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/new", dir);
	if (fsync_dir(sub) == -1) {
		snprintf(err, errlen, "%s: %s", sub, strerror(errno));
		return EX_TEMPFAIL;
	}
	return EX_OK;
}

int
mda_maildir_write(const char *dir, int msgfd, const struct mda_envelope *e,
    const char *host, char *err, size_t errlen)
{
	struct maildir_file	 f;
	int			 rc;

	if ((rc = maildir_prepare(dir, err, errlen)) != EX_OK ||
	    (rc = maildir_stage(dir, msgfd, e, host, &f, err, errlen,
	    1)) != EX_OK || (rc = maildir_link(&f, err, errlen)) != EX_OK)
		return rc;
	return maildir_sync_new(dir, err, errlen);
}

/*
 * Make every file of a batch durable at once, before any is linked:
 * one syncfs(2) of the maildir's file system writes all their data
 * and inodes back in one pass, where an fsync(2) each would send each
 * file's blocks, its inode and new/ down on their own, and wait for a
 * flush of the disk's cache for each.
 */
static int
maildir_sync_files(const char *dir, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    syncfs(fd) == -1) {
		/* Cut to the buffer, as the other errors of a delivery. */
		strlcpy(err, dir, errlen);
		strlcat(err, ": ", errlen);
		strlcat(err, strerror(errno), errlen);
		if (fd != -1)
			close(fd);
		return EX_TEMPFAIL;
	}
	close(fd);
	return EX_OK;
}

/*
 * A batch of one maildir: every message written (into an unnamed file
 * or tmp/), all of them made durable by one sync, each linked into
 * new/, and one fsync of new/ makes all the names durable.  A name is
 * never there before its file is whole, so an attempt that finds it
 * there is right to take the message as delivered.  Each message's
 * outcome is in rcs; none is EX_OK before the last sync.
 */
static int
mda_maildir_batch(const char *dir, int *msgfds, const struct mda_envelope *es,
    size_t n, const char *host, int *rcs, char (*errs)[512])
{
	struct maildir_file	*f;
	char			 err[512];
	size_t			 i;
	int			 rc, staged = 0, linked = 0;

	if ((f = calloc(n, sizeof(*f))) == NULL) {
		for (i = 0; i < n; i++) {
			rcs[i] = EX_TEMPFAIL;
			strlcpy(errs[i], "out of memory", sizeof(errs[i]));
		}
		return -1;
	}
	rc = maildir_prepare(dir, err, sizeof(err));
	for (i = 0; i < n; i++) {
		rcs[i] = rc != EX_OK ? rc : maildir_stage(dir, msgfds[i],
		    &es[i], host, &f[i], errs[i], sizeof(errs[i]), 0);
		if (rc != EX_OK)
			strlcpy(errs[i], err, sizeof(errs[i]));
		else if (rcs[i] == EX_OK)
			staged = 1;
	}
	if (staged && maildir_sync_files(dir, err, sizeof(err)) != EX_OK)
		for (i = 0; i < n; i++)
			if (rcs[i] == EX_OK) {
				maildir_discard(&f[i]);
				rcs[i] = EX_TEMPFAIL;
				strlcpy(errs[i], err, sizeof(errs[i]));
			}
	for (i = 0; i < n; i++)
		if (rcs[i] == EX_OK && (rcs[i] = maildir_link(&f[i], errs[i],
		    sizeof(errs[i]))) == EX_OK)
			linked = 1;
	if (linked && maildir_sync_new(dir, err, sizeof(err)) != EX_OK)
		for (i = 0; i < n; i++)
			if (rcs[i] == EX_OK) {
				/* The name may be lost: deliver it again. */
				rcs[i] = EX_TEMPFAIL;
				strlcpy(errs[i], err, sizeof(errs[i]));
			}
	free(f);
	return 0;
}

void
mda_reader_init(struct mda_reader *r, int fd)
{
	r->fd = fd;
	r->off = 0;
	r->pos = r->len = 0;
	r->line = NULL;
	r->linecap = 0;
}

/*
 * The next line of the message: its length is returned and the line
 * pointed to, valid until the next call; 0 at the end, -1 on a read
 * error or when memory runs out.
 */
ssize_t
mda_reader_line(struct mda_reader *r, char **linep)
{
	char	*nl, *p;
	size_t	 n = 0, take, cap;
	ssize_t	 got;

	for (;;) {
		if (r->pos == r->len) {
			got = pread(r->fd, r->buf, sizeof(r->buf), r->off);
			if (got == -1)
				return -1;
			if (got == 0)
				break;
			r->off += got;
			r->pos = 0;
			r->len = got;
		}
		nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		take = nl != NULL ? (size_t)(nl - (r->buf + r->pos)) + 1 :
		    r->len - r->pos;
		if (n + take > r->linecap) {
			cap = (n + take) * 2;
			if ((p = realloc(r->line, cap)) == NULL)
				return -1;
			r->line = p;
			r->linecap = cap;
		}
		memcpy(r->line + n, r->buf + r->pos, take);
		n += take;
		r->pos += take;
		if (nl != NULL)
			break;
	}
	*linep = r->line;
	return n;
}

void
mda_reader_free(struct mda_reader *r)
{
	free(r->line);
	r->line = NULL;
	r->linecap = 0;
}

/*
 * Deliver as the action says, or to the file or command of an alias or
 * a ~/.forward, whatever the action.
 */
static int
mda_run(const struct action *a, const struct passwd *pw, const char *target,
    int msgfd, const struct mda_envelope *e, char *err, size_t errlen)
{
	char	 path[PATH_MAX];

	switch (envelope_target_kind(target)) {
	case TARGET_FILE:
		return mda_mbox_write(target, msgfd, e, err, errlen);
	case TARGET_COMMAND:
		return mda_command_run(target + 1, pw, msgfd, e, err, errlen);
	default:
		break;
	}
	switch (a->type) {
	case ACTION_MAILDIR:
		if (mda_expand_path(path, sizeof(path), a->path, "~/Maildir",
		    pw) == -1)
			break;
		return mda_maildir_write(path, msgfd, e, env->hostname, err,
		    errlen);
	case ACTION_MBOX:
		if (mda_expand_path(path, sizeof(path), a->path,
		    MBOX_DEFAULT, pw) == -1)
			break;
		return mda_mbox_write(path, msgfd, e, err, errlen);
	case ACTION_MDA:
		return mda_command_run(a->command, pw, msgfd, e, err, errlen);
	case ACTION_LMTP:
		return mda_lmtp_deliver(a->dest, a->lmtp_rcpt ? e->rcpt :
		    pw->pw_name, msgfd, e, env->hostname, err, errlen);
	case ACTION_RELAY:
		/* The queue holds these; it never hands one over. */
		snprintf(err, errlen, "not a local delivery");
		return EX_SOFTWARE;
	}
	snprintf(err, errlen, "mailbox path too long");
	return EX_CANTCREAT;
}

/*
 * What an agent may do once it is the user: a mailbox agent opens and
 * writes files and nothing else (no exec, no network), an LMTP agent
 * connects, a command agent runs its command under sandbox_command().
 * The parent's privileges are gone by then; no-new-privs keeps a
 * set-user-ID program from bringing any back.
 */
#define AGENT_MAILBOX	"stdio rpath wpath cpath fattr"
#define AGENT_LMTP	"stdio rpath inet unix dns"

/* Built by the parent before the first agent, used by every one. */
static struct sandbox_filter	*filter_mailbox, *filter_lmtp, *filter_command;

static int
mda_agent_sandbox(const struct action *a, enum target_kind kind)
{
	int	 command, lmtp;

	command = kind == TARGET_COMMAND || (kind != TARGET_FILE &&
	    a->type == ACTION_MDA);
	lmtp = !command && kind != TARGET_FILE && a->type == ACTION_LMTP;
	/* The debug trap needs its handler set up in this process. */
	if (sandbox_debug)
		return command ? sandbox_command() :
		    sandbox_seccomp(lmtp ? AGENT_LMTP : AGENT_MAILBOX);
	return sandbox_filter_apply(command ? filter_command :
	    lmtp ? filter_lmtp : filter_mailbox);
}

static void
mda_filters(void)
{
	if (filter_mailbox != NULL)
		return;
	if ((filter_mailbox = sandbox_filter_compile(AGENT_MAILBOX)) == NULL ||
	    (filter_lmtp = sandbox_filter_compile(AGENT_LMTP)) == NULL ||
	    (filter_command = sandbox_filter_compile(NULL)) == NULL)
		fatalx("mda: cannot build the delivery agents' filters");
}

/*
 * An agent keeps only its messages, its pipe and the standard
 * descriptors: it is forked, not exec'd, so it would otherwise hold the
 * parent's sockets to every process, which trust the parent, the
 * listening sockets, and the messages of other users waiting here.
 */
static int
mda_agent_keeps(const struct mda_items *items, int errfd, int fd)
{
	const struct mda_item	*it;

	if (fd == errfd)
		return 1;
	TAILQ_FOREACH(it, items, entry)
		if (it->msgfd == fd)
			return 1;
	return 0;
}

static void
mda_agent_close_fds(const struct mda_items *items, int errfd)
{
	const struct mda_item	*it;
	int			 fd, hi = errfd;

	TAILQ_FOREACH(it, items, entry)
		if (it->msgfd > hi)
			hi = it->msgfd;
	for (fd = STDERR_FILENO + 1; fd < hi; fd++)
		if (!mda_agent_keeps(items, errfd, fd))
			(void)close(fd);
	closefrom(hi + 1);
}

/* Every item of a batch failed the same way. */
static void
mda_agent_fail(int sock, struct mda_items *items, const char *err)
{
	struct mda_item	*it;

	TAILQ_FOREACH(it, items, entry)
		(void)mda_record_send(sock, it->e.evpid, EX_TEMPFAIL, err);
}

/* A maildir batch: two syncs for all, then each one's record. */
static void
mda_agent_maildir(const char *dir, struct mda_items *items, int sock)
{
	struct mda_item		*it;
	struct mda_envelope	*es;
	char			(*errs)[512];
	int			*fds, *rcs;
	size_t			 n = 0, i;

	TAILQ_FOREACH(it, items, entry)
		n++;
	es = calloc(n, sizeof(*es));
	errs = calloc(n, sizeof(*errs));
	fds = calloc(n, sizeof(*fds));
	rcs = calloc(n, sizeof(*rcs));
	if (es == NULL || errs == NULL || fds == NULL || rcs == NULL)
		mda_agent_fail(sock, items, "out of memory");
	else {
		i = 0;
		TAILQ_FOREACH(it, items, entry) {
			es[i] = it->e;
			fds[i++] = it->msgfd;
		}
		mda_maildir_batch(dir, fds, es, n, env->hostname, rcs, errs);
		for (i = 0; i < n; i++)
			(void)mda_record_send(sock, es[i].evpid, rcs[i],
			    errs[i]);
	}
	free(es);
	free(errs);
	free(fds);
	free(rcs);
}

/* Deliver a batch, report each, and let go of its messages. */
static void
mda_agent_batch(const struct action *a, const struct passwd *pw,
    struct mda_items *items, int sock)
{
	struct mda_item		*it = TAILQ_FIRST(items);
	enum target_kind	 kind = envelope_target_kind(it->target);
	char			 path[PATH_MAX], err[MDA_ERR_MAX];
	int			 rc;

	if (a->type == ACTION_MAILDIR && kind != TARGET_FILE &&
	    kind != TARGET_COMMAND && TAILQ_NEXT(it, entry) != NULL &&
	    mda_expand_path(path, sizeof(path), a->path, "~/Maildir",
	    pw) == 0)
		mda_agent_maildir(path, items, sock);
	else {
		/* One envelope's failure is its own: the others go on. */
		TAILQ_FOREACH(it, items, entry) {
			err[0] = '\0';
			rc = mda_run(a, pw, it->target, it->msgfd, &it->e, err,
			    sizeof(err));
			(void)mda_record_send(sock, it->e.evpid, rc, err);
		}
	}
	while ((it = TAILQ_FIRST(items)) != NULL) {
		TAILQ_REMOVE(items, it, entry);
		close(it->msgfd);
		free(it);
	}
}

/*
 * One envelope of a batch for a waiting agent, with its message: the
 * parent's writer and the agent's reader of struct mda_feed.  -1 when
 * it did not go, or did not come whole with its descriptor.
 */
static int
mda_feed_send(int sock, const struct mda_feed *f, int fd)
{
	union imsg_fdbuf	 fdbuf;
	struct msghdr		 msg;
	struct iovec		 iov;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)f;
	iov.iov_len = sizeof(*f);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	imsg_fd_attach(&msg, &fdbuf, fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(*f) ?
	    0 : -1;
}

static int
mda_feed_recv(int sock, struct mda_feed *f, int *fdp)
{
	union imsg_fdbuf	 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	ssize_t			 n;
	int			 fd = -1;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = f;
	iov.iov_len = sizeof(*f);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	if ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) <= 0)
		return -1;
	if ((cmsg = CMSG_FIRSTHDR(&msg)) != NULL &&
	    cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	if (n != (ssize_t)sizeof(*f) || fd == -1 ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	f->e.sender[sizeof(f->e.sender) - 1] = '\0';
	f->e.rcpt[sizeof(f->e.rcpt) - 1] = '\0';
	f->target[sizeof(f->target) - 1] = '\0';
	*fdp = fd;
	return 0;
}

/*
 * The next batch from the parent, or 0 when there is none: the parent
 * let the agent go, or sent what this cannot read (then nothing of it
 * is delivered and the parent tries it again).
 */
static int
mda_agent_receive(int sock, struct mda_items *items)
{
	struct mda_feed		 f;
	struct mda_item		*it;
	int			 fd;

	do {
		if (mda_feed_recv(sock, &f, &fd) == -1)
			return 0;
		if ((it = calloc(1, sizeof(*it))) == NULL) {
			close(fd);
			return 0;
		}
		it->e = f.e;
		strlcpy(it->target, f.target, sizeof(it->target));
		it->msgfd = fd;
		TAILQ_INSERT_TAIL(items, it, entry);
	} while (!f.last);
	return 1;
}

static __attribute__((__noreturn__)) void
mda_agent(const struct action *a, const struct mda_user *u,
    const struct passwd *pw, struct mda_items *items, int sock, int box)
{
	struct mda_item		*it = TAILQ_FIRST(items);
	enum target_kind	 kind = envelope_target_kind(it->target);
	char			 path[PATH_MAX], err[MDA_ERR_MAX];

	mda_agent_close_fds(items, sock);
	if (smtpd_privileged) {
		/*
		 * The user may not be allowed to create it.  The file of an
		 * alias or a ~/.forward is made by the user or not at all.
		 */
		if (a->type == ACTION_MBOX && kind != TARGET_FILE &&
		    kind != TARGET_COMMAND && mda_expand_path(path,
		    sizeof(path), a->path, MBOX_DEFAULT, pw) == 0)
			mda_mbox_create(path, pw->pw_uid);
		if (setgroups(u->ngroups, u->groups) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
			snprintf(err, sizeof(err), "cannot become %s",
			    pw->pw_name);
			mda_agent_fail(sock, items, err);
			_exit(EX_TEMPFAIL);
		}
	}
	umask(077);
	if (chdir(pw->pw_dir) == -1)
		(void)chdir("/");
	if (mda_agent_sandbox(a, kind) == -1) {
		mda_agent_fail(sock, items, "cannot sandbox the delivery agent");
		_exit(EX_TEMPFAIL);
	}
	/* Its batch's last report tells the parent it waits for more. */
	do {
		mda_agent_batch(a, pw, items, sock);
	} while (box && mda_agent_receive(sock, items));
	_exit(EX_OK);
}

/*
 * A file or command runs as the user of the envelope, which the smtp
 * process passed on: were it taken over, it could name any.  Only the
 * alias user, who has no privileges, runs what the admin's aliases
 * name; any other user only what that user's ~/.forward names now.
 * Without root everything runs as ourselves anyway.
 */
static int
mda_target_refused(const struct passwd *pw, const char *target)
{
	enum target_kind	 kind = envelope_target_kind(target);

	if (kind != TARGET_FILE && kind != TARGET_COMMAND)
		return 0;
	if (!smtpd_privileged || strcmp(pw->pw_name, SMTPD_ALIAS_USER) == 0)
		return 0;
	return !forward_allows(pw, target);
}

/*
 * Whom an envelope is delivered as.  The mailbox of an action with a
 * userbase belongs to a user of that table; the file or command of an
 * alias, whatever the action, runs as the alias user, an account.
 * NULL when there is no such user; err then says why, if not simply
 * that.
 */
static const struct mda_user *
mda_recipient(const struct action *a, const char *user, const char *target,
    char *err, size_t errlen)
{
	enum target_kind	 kind = envelope_target_kind(target);

	err[0] = '\0';
	if (a->userbase_table[0] != '\0' && kind != TARGET_FILE &&
	    kind != TARGET_COMMAND)
		return mda_user_userbase(a->userbase_table, user, err, errlen);
	return mda_user_get(user);
}

/* Free a list of items, closing the messages still held. */
static void
mda_items_free(struct mda_items *items)
{
	struct mda_item	*it;

	while ((it = TAILQ_FIRST(items)) != NULL) {
		TAILQ_REMOVE(items, it, entry);
		if (it->msgfd != -1)
			close(it->msgfd);
		free(it);
	}
}

static void	mda_job_event(int, short, void *);
static void	mda_job_idle(int, short, void *);

/*
 * Fork one agent for items, all of one user and one action.  The
 * parent lets go of the messages at once: the agent has them.
 */
static void
mda_start(const struct action *a, const struct mda_user *u,
    struct mda_box *box, struct mda_items *items)
{
	struct passwd	 pw;
	struct mda_job	*job;
	struct mda_item	*it;
	int		 sp[2];

	if ((job = calloc(1, sizeof(*job))) == NULL)
		fatal("calloc");
	TAILQ_INIT(&job->items);
	TAILQ_CONCAT(&job->items, items, entry);
	job->box = box;
	mda_user_passwd(u, &pw);
	sp[0] = sp[1] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1 ||
	    (job->pid = fork()) == -1) {
		TAILQ_FOREACH(it, &job->items, entry)
			mda_report(it->e.evpid, DELIVERY_TEMPFAIL,
			    strerror(errno));
		if (sp[0] != -1) {
			close(sp[0]);
			close(sp[1]);
		}
		/* The box, if any, is the caller's to free. */
		mda_items_free(&job->items);
		free(job);
		return;
	}
	if (job->pid == 0) {
		/* The parent's handlers are libevent's, not the agent's. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		close(sp[0]);
		mda_agent(a, u, &pw, &job->items, sp[1], box != NULL);
	}
	close(sp[1]);
	TAILQ_FOREACH(it, &job->items, entry) {
		close(it->msgfd);
		it->msgfd = -1;
		job->served++;
	}
	job->sock = sp[0];
	set_nonblocking(job->sock);
	event_set(&job->ev, job->sock, EV_READ | EV_PERSIST, mda_job_event,
	    job);
	event_add(&job->ev, NULL);
	evtimer_set(&job->idle_ev, mda_job_idle, job);
	if (box != NULL)
		box->running++;
	TAILQ_INSERT_TAIL(&mda_jobs, job, entry);
}

/* Let an agent go: it reads the end of its socket and exits. */
static void
mda_job_release(struct mda_job *job)
{
	if (job->sock == -1)
		return;
	if (job->idle) {
		job->idle = 0;
		mda_idle--;
	}
	evtimer_del(&job->idle_ev);
	event_del(&job->ev);
	close(job->sock);
	job->sock = -1;
}

static void
mda_job_idle(int fd, short event, void *arg)
{
	mda_job_release(arg);
}

/*
 * Hand a waiting agent of the box its next batch.  Whatever the socket
 * does not take goes back to wait, and the agent is let go: what it
 * was given and does not report is tried again when it is reaped.
 */
static void
mda_feed(struct mda_job *job, struct mda_items *batch)
{
	struct mda_feed		 f;
	struct mda_item		*it;

	job->idle = 0;
	mda_idle--;
	evtimer_del(&job->idle_ev);
	while ((it = TAILQ_FIRST(batch)) != NULL) {
		memset(&f, 0, sizeof(f));
		f.last = TAILQ_NEXT(it, entry) == NULL;
		f.e = it->e;
		strlcpy(f.target, it->target, sizeof(f.target));
		if (mda_feed_send(job->sock, &f, it->msgfd) == -1)
			break;
		TAILQ_REMOVE(batch, it, entry);
		close(it->msgfd);
		it->msgfd = -1;
		TAILQ_INSERT_TAIL(&job->items, it, entry);
		job->served++;
	}
	if (TAILQ_EMPTY(batch))
		return;
	log_warn("mda: cannot hand a batch to agent pid=%d", (int)job->pid);
	mda_job_release(job);
	while ((it = TAILQ_LAST(batch, mda_items)) != NULL) {
		TAILQ_REMOVE(batch, it, entry);
		TAILQ_INSERT_HEAD(&job->box->waiting, it, entry);
		job->box->nwaiting++;
	}
}

/* An agent of the box that waits for work, if any. */
static struct mda_job *
mda_box_idle(struct mda_box *box)
{
	struct mda_job	*job;

	if (mda_idle == 0)
		return NULL;
	TAILQ_FOREACH(job, &mda_jobs, entry)
		if (job->box == box && job->idle)
			return job;
	return NULL;
}

/* The box of a user and an action, made when first needed. */
static struct mda_box *
mda_box_get(const struct action *a, const struct mda_user *u)
{
	struct mda_box	*box;

	TAILQ_FOREACH(box, &mda_boxes, entry)
		if (box->a == a && box->u.uid == u->uid &&
		    box->u.gid == u->gid && strcmp(box->u.name, u->name) == 0 &&
		    strcmp(box->u.dir, u->dir) == 0)
			return box;
	if ((box = calloc(1, sizeof(*box))) == NULL)
		fatal("calloc");
	box->conf = env;
	config_ref(box->conf);
	box->a = a;
	box->u = *u;
	TAILQ_INIT(&box->waiting);
	TAILQ_INSERT_TAIL(&mda_boxes, box, entry);
	return box;
}

/*
 * Give what waits in box to its waiting agents, then to new ones, as
 * many as it may have.
 */
static void
mda_box_run(struct mda_box *box)
{
	struct mda_items	 batch;
	struct mda_item		*it;
	struct mda_job		*job;
	size_t			 n;

	while (box->nwaiting > 0) {
		job = mda_box_idle(box);
		if (job == NULL && box->running >= MDA_AGENTS_PER_BOX)
			break;
		TAILQ_INIT(&batch);
		for (n = 0; n < MDA_BATCH_MAX &&
		    (it = TAILQ_FIRST(&box->waiting)) != NULL; n++) {
			TAILQ_REMOVE(&box->waiting, it, entry);
			TAILQ_INSERT_TAIL(&batch, it, entry);
			box->nwaiting--;
		}
		if (job != NULL)
			mda_feed(job, &batch);
		else
			mda_start(box->a, &box->u, box, &batch);
	}
	if (box->nwaiting == 0 && box->running == 0) {
		TAILQ_REMOVE(&mda_boxes, box, entry);
		config_unref(box->conf);
		free(box);
	}
}

/*
 * The queue asks for one envelope to be delivered: the message comes
 * as a descriptor, the rest as fields already checked by the queue.
 * The descriptor is kept (imsg->fd taken) until an agent has it.
 */
void
mda_deliver(struct imsg *imsg)
{
	char			 action[ENVELOPE_NAMEMAX], user[ENVELOPE_NAMEMAX];
	char			 err[512];
	struct msg_deliver	 d;
	struct mda_item		*it;
	struct mda_items	 one;
	struct action		*a;
	const struct mda_user	*u;
	struct passwd		 pw;
	struct mda_box		*box;
	enum target_kind	 kind;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		fatal("calloc");
	it->msgfd = -1;
	if (msg_deliver_read(imsg, &d) == -1)
		fatalx("%s: malformed delivery from the queue", __func__);
	it->e.evpid = d.evpid;
	it->e.created = d.created;
	strlcpy(action, d.action, sizeof(action));
	strlcpy(user, d.user, sizeof(user));
	strlcpy(it->target, d.target, sizeof(it->target));
	strlcpy(it->e.sender, d.sender, sizeof(it->e.sender));
	strlcpy(it->e.rcpt, d.rcpt, sizeof(it->e.rcpt));
	if (imsg_fd_lost(imsg)) {
		/* Out of descriptors here: the queue tries again later. */
		mda_report(it->e.evpid, DELIVERY_TEMPFAIL,
		    "message descriptor lost");
		free(it);
		return;
	}
	if (imsg->fd == -1)
		fatalx("%s: no message descriptor", __func__);

	if ((a = config_action(env, action)) == NULL) {
		mda_report(it->e.evpid, DELIVERY_TEMPFAIL, "no such action");
		free(it);
		return;
	}
	if ((u = mda_recipient(a, user, it->target, err, sizeof(err))) ==
	    NULL) {
		/* A refused entry may be mended before the mail expires. */
		mda_report(it->e.evpid, err[0] != '\0' ? DELIVERY_TEMPFAIL :
		    DELIVERY_PERMFAIL, err[0] != '\0' ? err : "no such user");
		free(it);
		return;
	}
	mda_user_passwd(u, &pw);
	if (!smtpd_privileged && pw.pw_uid != geteuid()) {
		mda_report(it->e.evpid, DELIVERY_PERMFAIL,
		    "smtpd not running as root can deliver only to its "
		    "own user");
		free(it);
		return;
	}
	if (mda_target_refused(&pw, it->target)) {
		mda_report(it->e.evpid, DELIVERY_PERMFAIL, "file or command "
		    "not in the user's ~/.forward");
		free(it);
		return;
	}
	mda_filters();
	it->msgfd = imsg->fd;
	imsg->fd = -1;
	kind = envelope_target_kind(it->target);
	if (kind == TARGET_FILE || kind == TARGET_COMMAND ||
	    a->type == ACTION_MDA) {
		TAILQ_INIT(&one);
		TAILQ_INSERT_TAIL(&one, it, entry);
		mda_start(a, u, NULL, &one);
		return;
	}
	box = mda_box_get(a, u);
	TAILQ_INSERT_TAIL(&box->waiting, it, entry);
	box->nwaiting++;
	mda_box_run(box);
}

static int
mda_result(int rc)
{
	if (rc == EX_OK)
		return DELIVERY_OK;
	if (rc == EX_TEMPFAIL || rc == EX_OSERR || rc == EX_IOERR)
		return DELIVERY_TEMPFAIL;
	return DELIVERY_PERMFAIL;
}

/*
 * An agent of a box has reported its whole batch and waits for the
 * next: give it one, or let it go if it has served enough.
 */
static void
mda_job_ready(struct mda_job *job)
{
	struct timeval	 tv = { MDA_AGENT_IDLE, 0 };

	if (job->served >= MDA_AGENT_SERVES ||
	    mda_idle >= MDA_AGENTS_IDLE_MAX) {
		mda_job_release(job);
		return;
	}
	job->idle = 1;
	mda_idle++;
	evtimer_add(&job->idle_ev, &tv);
	mda_box_run(job->box);
}

/*
 * One record of an agent: the outcome of an envelope.  The agent is
 * the user's and may lie about the user's own mail, nothing more: a
 * record must name an envelope it was given and has not reported.  0
 * when the record was taken, -1 when it breaks the rules (the agent is
 * then let go).
 */
static int
mda_job_record(struct mda_job *job, const char *buf, size_t len)
{
	struct mda_record	 r;
	struct mda_item		*it;
	char			 err[MDA_ERR_MAX];

	if (mda_record_parse(buf, len, &r, err) == -1)
		return -1;
	TAILQ_FOREACH(it, &job->items, entry)
		if (it->e.evpid == r.evpid)
			break;
	if (it == NULL)
		return -1;
	TAILQ_REMOVE(&job->items, it, entry);
	if (r.rc != EX_OK && err[0] == '\0')
		snprintf(err, sizeof(err), "delivery agent exited "
		    "with status %d", r.rc);
	mda_report(it->e.evpid, mda_result(r.rc), err);
	free(it);
	if (job->box != NULL && TAILQ_EMPTY(&job->items))
		mda_job_ready(job);
	return 0;
}

/* Read what an agent's socket holds. */
static void
mda_job_read(struct mda_job *job)
{
	char		 buf[sizeof(struct mda_record) + MDA_ERR_MAX];
	ssize_t		 n;

	while (job->sock != -1) {
		n = recv(job->sock, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* Gone: what it did not report, waitpid tells. */
			mda_job_release(job);
			return;
		}
		if ((size_t)n > sizeof(buf) ||
		    mda_job_record(job, buf, n) == -1) {
			log_warnx("mda: agent pid=%d result=refused "
			    "reason=\"bad record\"", (int)job->pid);
			mda_job_release(job);
			return;
		}
	}
}

static void
mda_job_event(int fd, short event, void *arg)
{
	mda_job_read(arg);
}

/* A delivery agent has exited: tell the queue how each delivery went. */
void
mda_reaped(pid_t pid, int status)
{
	struct mda_job	*job;
	struct mda_item	*it;
	struct mda_box	*box;
	char		 err[128];

	TAILQ_FOREACH(job, &mda_jobs, entry)
		if (job->pid == pid)
			break;
	if (job == NULL)
		return;
	TAILQ_REMOVE(&mda_jobs, job, entry);
	/* All it wrote is there now. */
	mda_job_read(job);
	mda_job_release(job);
	/* What it could not report, it may not have done: try again. */
	if (WIFSIGNALED(status))
		snprintf(err, sizeof(err), "delivery agent killed by "
		    "signal %d", WTERMSIG(status));
	else
		snprintf(err, sizeof(err), "delivery agent exited with "
		    "status %d", WEXITSTATUS(status));
	TAILQ_FOREACH(it, &job->items, entry)
		mda_report(it->e.evpid, DELIVERY_TEMPFAIL, err);
	mda_items_free(&job->items);
	if ((box = job->box) != NULL) {
		box->running--;
		mda_box_run(box);
	}
	free(job);
}

void
mda_shutdown(void)
{
	struct mda_job	*job;

	TAILQ_FOREACH(job, &mda_jobs, entry)
		kill(job->pid, SIGTERM);
}
