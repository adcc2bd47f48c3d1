/*
 * The offline directory, run by the parent at start.  sendmail leaves
 * a message there when no daemon answers; each file is its owner's
 * word and nobody else's, and is untrusted: a runner process looks at
 * each (never following a link, refusing hard links, other file types,
 * files too large and owners without an account) and forks, for each
 * file it keeps, a process that becomes the owner and submits the file
 * on the submission socket like sendmail would, so the daemon attests
 * that user from the socket as for any local submission.  One user can
 * never submit as another.  A file that is refused is moved aside to
 * bad/ and logged; nothing here is fatal to the daemon.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd.h"
#include "enqueue.h"

#define OFFLINE_BAD	"bad"

static pid_t	 offline_pid;

static const char *
offline_socket(void)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &env->listeners, entry)
		if (l->flags & LISTEN_LOCAL)
			return ((struct sockaddr_un *)&l->ss)->sun_path;
	return NULL;
}

/* Move a refused file into bad/, keeping its name. */
static void
offline_aside(int dirfd, const char *name, uid_t uid, const char *why)
{
	char	 dest[NAME_MAX + sizeof(OFFLINE_BAD) + 2];

	log_warnx("offline file=%s uid=%d result=refused reason=\"%s\"",
	    name, (int)uid, why);
	snprintf(dest, sizeof(dest), "%s/%s", OFFLINE_BAD, name);
	if (renameat(dirfd, name, dirfd, dest) == -1)
		log_warn("offline file=%s: cannot move it aside", name);
}

/* In the submitting process: become the owner, then act as sendmail. */
static __attribute__((__noreturn__)) void
offline_submit(int fd, const struct passwd *pw, const char *sock)
{
	struct enqueue	 e;
	int		 rc, flags;

	if (smtpd_privileged &&
	    (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1))
		_exit(EX_OSERR);
	if (getuid() != pw->pw_uid || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ==
	    -1 || chdir("/") == -1)
		_exit(EX_OSERR);
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		_exit(EX_OSERR);
	memset(&e, 0, sizeof(e));
	strlcpy(e.helo, env->hostname, sizeof(e.helo));
	if ((rc = enqueue_offline_read(fd, &e)) != EX_OK)
		_exit(rc);
	if ((rc = enqueue_send(sock, &e)) == ENQUEUE_UNREACHABLE)
		rc = EX_TEMPFAIL;
	_exit(rc);
}

static const char *
offline_status(int status)
{
	if (!WIFEXITED(status))
		return "the submitting process died";
	switch (WEXITSTATUS(status)) {
	case EX_DATAERR:
		return "not an offline file";
	case EX_NOPERM:
		return "owner is not the user the file names";
	case EX_NOUSER:
		return "recipients refused";
	case EX_OSERR:
		return "cannot become the owner";
	default:
		return "submission refused";
	}
}

static void
offline_one(int dirfd, const char *name, const char *sock)
{
	struct stat	 sb;
	struct passwd	*pw;
	pid_t		 pid;
	int		 fd, status;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			offline_aside(dirfd, name, -1, "symbolic link");
		else
			log_warn("offline file=%s", name);
		return;
	}
	if (fstat(fd, &sb) == -1) {
		log_warn("offline file=%s", name);
		close(fd);
		return;
	}
	pw = getpwuid(sb.st_uid);
	if (!S_ISREG(sb.st_mode))
		offline_aside(dirfd, name, sb.st_uid, "not a regular file");
	else if (sb.st_nlink != 1)
		offline_aside(dirfd, name, sb.st_uid, "hard link");
	else if (sb.st_size > SMTPD_OFFLINE_MAX)
		offline_aside(dirfd, name, sb.st_uid, "too large");
	else if (pw == NULL)
		offline_aside(dirfd, name, sb.st_uid, "owner has no account");
	else if (!smtpd_privileged && sb.st_uid != geteuid())
		offline_aside(dirfd, name, sb.st_uid, "owner is not the user "
		    "smtpd runs as");
	else
		goto submit;
	close(fd);
	return;
submit:
	switch (pid = fork()) {
	case -1:
		log_warn("offline fork");
		close(fd);
		return;
	case 0:
		offline_submit(fd, pw, sock);
	}
	close(fd);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("offline waitpid");
			return;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_OK) {
		log_info("offline file=%s uid=%d user=%s result=submitted",
		    name, (int)sb.st_uid, pw->pw_name);
		if (unlinkat(dirfd, name, 0) == -1)
			log_warn("offline file=%s: cannot remove it", name);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EX_TEMPFAIL)
		log_warnx("offline file=%s uid=%d result=deferred", name,
		    (int)sb.st_uid);
	else
		offline_aside(dirfd, name, sb.st_uid, offline_status(status));
}

static __attribute__((__noreturn__)) void
offline_run(void)
{
	struct dirent	*de;
	DIR		*d;
	const char	*sock;
	int		 dirfd, fd;

	/*
	 * Forked, not exec'd: the parent's channels to every process and
	 * its listening sockets stay behind, out of reach of the users'
	 * files this runner reads.
	 */
	closefrom(STDERR_FILENO + 1);
	log_reopen();
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	setproctitle("offline");
	log_procinit("offline");
	if ((sock = offline_socket()) == NULL)
		_exit(0);
	if ((dirfd = open(env->offline_dir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("offline %s", env->offline_dir);
		_exit(0);
	}
	if (mkdirat(dirfd, OFFLINE_BAD, 0700) == -1 && errno != EEXIST) {
		log_warn("offline %s/%s", env->offline_dir, OFFLINE_BAD);
		_exit(1);
	}
	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("offline %s", env->offline_dir);
		_exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		/* Dot names are files sendmail is still writing. */
		if (de->d_name[0] == '.' || strcmp(de->d_name,
		    OFFLINE_BAD) == 0)
			continue;
		offline_one(dirfd, de->d_name, sock);
	}
	closedir(d);
	_exit(0);
}

/*
 * The directory users leave files in: sticky, writable (not readable)
 * by the submission group that a set-group-id sendmail holds.  Run
 * unprivileged, it is the invoking user's own.
 */
void
offline_prepare(void)
{
	struct group	*gr;

	if (!smtpd_privileged) {
		if (mkdir_owned(env->offline_dir, 0700, -1, -1) == -1)
			log_warn("offline directory %s", env->offline_dir);
		return;
	}
	if ((gr = getgrnam(SMTPD_SUBMIT_GROUP)) == NULL) {
		log_warnx("group %s does not exist: no offline submission "
		    "(make deps creates it)", SMTPD_SUBMIT_GROUP);
		return;
	}
	if (mkdir_owned(env->offline_dir, 01730, 0, gr->gr_gid) == -1)
		log_warn("offline directory %s", env->offline_dir);
}

/* Start the runner; the daemon does not wait for it. */
void
offline_start(void)
{
	switch (offline_pid = fork()) {
	case -1:
		log_warn("offline fork");
		offline_pid = 0;
		return;
	case 0:
		offline_run();
	}
}

int
offline_reaped(pid_t pid)
{
	if (pid == 0 || pid != offline_pid)
		return 0;
	offline_pid = 0;
	return 1;
}

void
offline_stop(void)
{
	if (offline_pid > 0)
		kill(offline_pid, SIGTERM);
}
