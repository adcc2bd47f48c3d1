/*
 * Local delivery.  The parent forks one agent per envelope; the agent
 * becomes the recipient (when smtpd runs as root), writes the message
 * into the mailbox and exits with a sysexits(3) code that the parent
 * maps to delivered, try again later, or failed for good.
 *
 * A maildir delivery writes tmp/, fsyncs the file, links it into new/
 * under a name made from the envelope (its creation time and id) and
 * fsyncs new/, so a message is either wholly there or not at all.  The
 * name is the same on every attempt: if a crash lost the queue's
 * record of a finished delivery, the next attempt finds the message
 * already in new/ and does not deliver it twice.
 *
 * The other methods live in files of their own: mda_mbox.c appends to
 * an mbox file, mda_command.c runs the admin's command, mda_lmtp.c
 * hands the message to an LMTP server.  This file forks the agent,
 * picks the method, and holds what they share.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
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

#define MBOX_DEFAULT	"/var/mail/%{user.username}"

struct mda_job {
	TAILQ_ENTRY(mda_job)	 entry;
	pid_t			 pid;
	uint64_t		 evpid;
	int			 errpipe;
};
static TAILQ_HEAD(, mda_job)	 mda_jobs = TAILQ_HEAD_INITIALIZER(mda_jobs);

static void
mda_report(uint64_t evpid, int status, const char *err)
{
	struct ibuf	*b;

	b = proc_create(IMSG_PARENT_QUEUE_DELIVERED, 0, -1);
	imsg_add_u64(b, evpid);
	imsg_add_u32(b, status);
	imsg_add_string(b, err);
	proc_close(PROC_QUEUE, b);
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

/*
 * Write one message into a maildir.  Returns a sysexits code; err says
 * what went wrong.
 */
int
mda_maildir_write(const char *dir, int msgfd, const struct mda_envelope *e,
    const char *host, char *err, size_t errlen)
{
	char		 sub[PATH_MAX], tmp[PATH_MAX], new[PATH_MAX];
	char		 name[256], buf[65536];
	const char	*subs[] = { "tmp", "new", "cur" };
	struct stat	 sb;
	struct timeval	 tv;
	off_t		 off = 0;
	ssize_t		 n;
	size_t		 i;
	FILE		*fp;
	int		 fd;

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
	gettimeofday(&tv, NULL);
	snprintf(name, sizeof(name), "%lld.E%016llx.%s",
	    (long long)e->created, (unsigned long long)e->evpid, host);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%lld.M%ldP%d.%s", dir,
	    (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), host);
	snprintf(new, sizeof(new), "%s/new/%s", dir, name);

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		return EX_TEMPFAIL;
	}
	fprintf(fp, "Return-Path: <%s>\nDelivered-To: %s\n", e->sender,
	    e->rcpt);
	while ((n = pread(msgfd, buf, sizeof(buf), off)) > 0) {
		if (fwrite(buf, 1, n, fp) != (size_t)n)
			break;
		off += n;
	}
	if (n == -1 || fflush(fp) == EOF || ferror(fp) || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(fp);
		unlink(tmp);
		return EX_TEMPFAIL;
	}
	if (fclose(fp) == EOF) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return EX_TEMPFAIL;
	}
	/* Already there: an earlier attempt got this far. */
	if (link(tmp, new) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", new, strerror(errno));
		unlink(tmp);
		return EX_TEMPFAIL;
	}
	unlink(tmp);
	snprintf(sub, sizeof(sub), "%s/new", dir);
	if (fsync_dir(sub) == -1) {
		snprintf(err, errlen, "%s: %s", sub, strerror(errno));
		return EX_TEMPFAIL;
	}
	return EX_OK;
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
 * An agent keeps only its message, its error pipe and the standard
 * descriptors: it is forked, not exec'd, so it would otherwise hold the
 * parent's sockets to every process, which trust the parent, and the
 * listening sockets.
 */
static void
mda_agent_close_fds(int keep1, int keep2)
{
	int	 fd, hi = keep1 > keep2 ? keep1 : keep2;

	for (fd = STDERR_FILENO + 1; fd < hi; fd++)
		if (fd != keep1 && fd != keep2)
			(void)close(fd);
	closefrom(hi + 1);
}

static __attribute__((__noreturn__)) void
mda_agent(const struct action *a, const struct mda_user *u,
    const struct passwd *pw, const char *target,
    int msgfd, const struct mda_envelope *e, int errfd)
{
	enum target_kind	 kind = envelope_target_kind(target);
	char			 path[PATH_MAX], err[512] = "";
	int			 rc;

	mda_agent_close_fds(msgfd, errfd);

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
			dprintf(errfd, "cannot become %s", pw->pw_name);
			_exit(EX_TEMPFAIL);
		}
	}
	umask(077);
	if (chdir(pw->pw_dir) == -1)
		(void)chdir("/");
	if (mda_agent_sandbox(a, kind) == -1) {
		dprintf(errfd, "cannot sandbox the delivery agent");
		_exit(EX_TEMPFAIL);
	}
	rc = mda_run(a, pw, target, msgfd, e, err, sizeof(err));
	if (rc != EX_OK)
		dprintf(errfd, "%s", err);
	_exit(rc);
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

/*
 * The queue asks for one envelope to be delivered: the message comes
 * as a descriptor, the rest as fields already checked by the queue.
 */
void
mda_deliver(struct imsg *imsg)
{
	char			 action[ENVELOPE_NAMEMAX], user[ENVELOPE_NAMEMAX];
	char			 target[ENVELOPE_TARGETMAX], err[512];
	struct mda_envelope	 e;
	struct action		*a;
	const struct mda_user	*u;
	struct passwd		 pwbuf, *pw;
	struct mda_job		*job;
	uint64_t		 evpid;
	int			 errpipe[2];

	evpid = imsg_get_u64(imsg);
	e.evpid = evpid;
	e.created = imsg_get_u64(imsg);
	imsg_get_string(imsg, action, sizeof(action));
	imsg_get_string(imsg, user, sizeof(user));
	imsg_get_string(imsg, target, sizeof(target));
	imsg_get_string(imsg, e.sender, sizeof(e.sender));
	imsg_get_string(imsg, e.rcpt, sizeof(e.rcpt));
	proc_check(PROC_QUEUE, imsg);
	if (imsg_fd_lost(imsg)) {
		/* Out of descriptors here: the queue tries again later. */
		mda_report(evpid, DELIVERY_TEMPFAIL, "message descriptor lost");
		return;
	}
	if (imsg->fd == -1)
		fatalx("%s: no message descriptor", __func__);

	if ((a = config_action(env, action)) == NULL) {
		mda_report(evpid, DELIVERY_TEMPFAIL, "no such action");
		return;
	}
	if ((u = mda_recipient(a, user, target, err, sizeof(err))) == NULL) {
		/* A refused entry may be mended before the mail expires. */
		mda_report(evpid, err[0] != '\0' ? DELIVERY_TEMPFAIL :
		    DELIVERY_PERMFAIL, err[0] != '\0' ? err : "no such user");
		return;
	}
	mda_user_passwd(u, &pwbuf);
	pw = &pwbuf;
	if (!smtpd_privileged && pw->pw_uid != geteuid()) {
		mda_report(evpid, DELIVERY_PERMFAIL,
		    "smtpd not running as root can deliver only to its "
		    "own user");
		return;
	}
	if (mda_target_refused(pw, target)) {
		mda_report(evpid, DELIVERY_PERMFAIL, "file or command not in "
		    "the user's ~/.forward");
		return;
	}
	mda_filters();
	if (pipe2(errpipe, O_CLOEXEC) == -1) {
		mda_report(evpid, DELIVERY_TEMPFAIL, strerror(errno));
		return;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL)
		fatal("calloc");
	switch (job->pid = fork()) {
	case -1:
		mda_report(evpid, DELIVERY_TEMPFAIL, strerror(errno));
		close(errpipe[0]);
		close(errpipe[1]);
		free(job);
		return;
	case 0:
		/* The parent's handlers are libevent's, not the agent's. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		close(errpipe[0]);
		mda_agent(a, u, pw, target, imsg->fd, &e, errpipe[1]);
	}
	close(errpipe[1]);
	job->evpid = evpid;
	job->errpipe = errpipe[0];
	TAILQ_INSERT_TAIL(&mda_jobs, job, entry);
}

/* A delivery agent has exited: tell the queue how it went. */
void
mda_reaped(pid_t pid, int status)
{
	struct mda_job	*job;
	char		 err[512];
	ssize_t		 n, i;
	int		 result;

	TAILQ_FOREACH(job, &mda_jobs, entry)
		if (job->pid == pid)
			break;
	if (job == NULL)
		return;
	TAILQ_REMOVE(&mda_jobs, job, entry);

	/* The agent has exited, so whatever it wrote is already there. */
	n = read(job->errpipe, err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	close(job->errpipe);
	/*
	 * The text may come from a user's command or a remote server; it
	 * goes into the log and the envelope file, one line each.
	 */
	for (i = 0; err[i] != '\0'; i++)
		if (iscntrl((unsigned char)err[i]))
			err[i] = '?';

	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_OK)
		result = DELIVERY_OK;
	else if (WIFEXITED(status) && (WEXITSTATUS(status) == EX_TEMPFAIL ||
	    WEXITSTATUS(status) == EX_OSERR || WEXITSTATUS(status) == EX_IOERR))
		result = DELIVERY_TEMPFAIL;
	else if (WIFEXITED(status))
		result = DELIVERY_PERMFAIL;
	else {
		result = DELIVERY_TEMPFAIL;
		snprintf(err, sizeof(err), "delivery agent killed by "
		    "signal %d", WTERMSIG(status));
	}
	if (result != DELIVERY_OK && err[0] == '\0')
		snprintf(err, sizeof(err), "delivery agent exited with "
		    "status %d", WEXITSTATUS(status));
	mda_report(job->evpid, result, err);
	free(job);
}

void
mda_shutdown(void)
{
	struct mda_job	*job;

	TAILQ_FOREACH(job, &mda_jobs, entry)
		kill(job->pid, SIGTERM);
}
