/*
 * The sandbox of each role, tried for real.  Every case forks a child
 * that sets up what it needs, enters the sandbox with its role's
 * promises and paths, and then does one thing; the parent tells from
 * how the child ended whether that thing was allowed, refused by
 * Landlock (EACCES) or fatal (SIGSYS from seccomp).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <linux/landlock.h>

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/sandbox.h"
#include "smtpd/smtpd.h"

/* Readable by anyone, and outside every sandbox path below. */
#define OUTSIDE_FILE	"/etc/hostname"

/* How a child ends; 1 is what fatal() exits with. */
enum outcome {
	DONE = 0,
	FATAL = 1,
	SURVIVED,	/* lived past a call that should have killed it */
	SETUP_FAILED,	/* failed before entering the sandbox */
	CALL_FAILED,	/* a call that should work failed */
	CALL_ALLOWED,	/* a call that should be refused worked */
	WRONG_ERRNO,	/* refused, but not the way Landlock refuses */
	WRONG_DATA,	/* read something other than expected */
	REFUSED,	/* a call failed with EACCES */
	OUTCOME_MAX
};

static const char *const outcome_names[OUTCOME_MAX] = {
	"done", "fatal", "survived a forbidden call",
	"setup failed before the sandbox", "an allowed call failed",
	"a forbidden call worked", "refused with an errno other than EACCES",
	"read unexpected data", "refused with EACCES"
};

struct child {
	pid_t	pid;
	int	errfd;		/* the child's stderr, or -1 */
};

/* What a child body gets: the paths and what to work on. */
struct job {
	const char		*promises;
	struct sandbox_path	 paths[4];
	const char		*dir;
	const char		*file;
	int			 fd;
	in_port_t		 port;
};

static char tmpdirs[2][64];

/*
 * Fork a child that runs body and exits with what it returns.  No core
 * files: a SIGSYS would otherwise leave one in the working directory.
 */
static struct child
spawn(int (*body)(struct job *), struct job *job, int capture)
{
	struct child	 c = { -1, -1 };
	struct rlimit	 rl = { 0, 0 };
	int		 p[2] = { -1, -1 };

	if (capture)
		ATF_REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	c.pid = fork();
	ATF_REQUIRE(c.pid != -1);
	if (c.pid == 0) {
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			_exit(SETUP_FAILED);
		if (capture && dup2(p[1], STDERR_FILENO) == -1)
			_exit(SETUP_FAILED);
		_exit(body(job));
	}
	if (capture) {
		close(p[1]);
		c.errfd = p[0];
	}
	return c;
}

/* Wait for the child, first reading its stderr to the end if captured. */
static int
reap(struct child *c, char *out, size_t outlen)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 status;

	if (c->errfd != -1) {
		while (off < outlen - 1 &&
		    (n = read(c->errfd, out + off, outlen - 1 - off)) > 0)
			off += n;
		out[off] = '\0';
		close(c->errfd);
	}
	ATF_REQUIRE(waitpid(c->pid, &status, 0) == c->pid);
	return status;
}

static int
run(int (*body)(struct job *), struct job *job)
{
	struct child	 c;

	c = spawn(body, job, 0);
	return reap(&c, NULL, 0);
}

static void
expect_killed(int status)
{
	if (WIFEXITED(status))
		atf_tc_fail("child exited %d (%s) instead of dying of SIGSYS",
		    WEXITSTATUS(status), WEXITSTATUS(status) < OUTCOME_MAX ?
		    outcome_names[WEXITSTATUS(status)] : "?");
	ATF_REQUIRE(WIFSIGNALED(status));
	ATF_REQUIRE_EQ_MSG(WTERMSIG(status), SIGSYS,
	    "child died of signal %d, not SIGSYS", WTERMSIG(status));
}

static void
expect_exit(int status, enum outcome want)
{
	if (WIFSIGNALED(status))
		atf_tc_fail("child died of signal %d instead of exiting "
		    "%d (%s)", WTERMSIG(status), want, outcome_names[want]);
	ATF_REQUIRE(WIFEXITED(status));
	ATF_REQUIRE_EQ_MSG(WEXITSTATUS(status), want,
	    "child exited %d (%s), wanted %d (%s)", WEXITSTATUS(status),
	    WEXITSTATUS(status) < OUTCOME_MAX ?
	    outcome_names[WEXITSTATUS(status)] : "?", want,
	    outcome_names[want]);
}

/*
 * With no open allowed, a sanitizer build refuses opens rather than
 * killing, so that ASan and UBSan can still report: see sandbox.c.
 */
static void
expect_open_killed(int status)
{
#ifdef SANITIZE
	expect_exit(status, REFUSED);
#else
	expect_killed(status);
#endif
}

/* A fresh directory under /tmp, removed by rmtree(). */
static const char *
make_tmpdir(int slot)
{
	strlcpy(tmpdirs[slot], "/tmp/t_sandbox.XXXXXX", sizeof(tmpdirs[slot]));
	ATF_REQUIRE(mkdtemp(tmpdirs[slot]) != NULL);
	return tmpdirs[slot];
}

static int
rmtree_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

static void
rmtree(const char *dir)
{
	ATF_CHECK(nftw(dir, rmtree_one, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

static void
write_file(const char *path, const char *data)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ATF_REQUIRE(fd != -1);
	ATF_REQUIRE(write(fd, data, strlen(data)) == (ssize_t)strlen(data));
	ATF_REQUIRE(close(fd) == 0);
}

/* A TCP socket listening on 127.0.0.1 at a port the kernel picks. */
static int
listen_local(in_port_t *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ATF_REQUIRE((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	ATF_REQUIRE(bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ATF_REQUIRE(listen(s, 5) == 0);
	ATF_REQUIRE(getsockname(s, (struct sockaddr *)&sin, &len) == 0);
	*port = sin.sin_port;
	return s;
}

static void
require_outside_file(void)
{
	if (access(OUTSIDE_FILE, R_OK) == -1)
		atf_tc_skip("%s is needed readable: %s", OUTSIDE_FILE,
		    strerror(errno));
}

/* Child bodies.  Each returns an enum outcome. */

static int
open_outside(struct job *job)
{
	sandbox(job->promises, job->paths);
	if (open(OUTSIDE_FILE, O_RDONLY | O_CLOEXEC) == -1)
		return errno == EACCES ? REFUSED : CALL_FAILED;
	return SURVIVED;
}

static int
tcp_socket(struct job *job)
{
	sandbox(job->promises, job->paths);
	if (socket(AF_INET, SOCK_STREAM, 0) == -1)
		return CALL_FAILED;
	return SURVIVED;
}

static int
unix_socket(struct job *job)
{
	sandbox(job->promises, job->paths);
	if (socket(AF_UNIX, SOCK_STREAM, 0) == -1)
		return CALL_FAILED;
	return SURVIVED;
}

/* A reply to one line, on a connection accepted inside the sandbox. */
static int
accept_and_talk(struct job *job)
{
	static const char	 reply[] = "250 hello\r\n";
	char			 line[64];
	size_t			 off = 0;
	ssize_t			 n;
	int			 c;

	sandbox(job->promises, job->paths);
	if ((c = accept4(job->fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return CALL_FAILED;
	while (off < sizeof(line) - 1 && memchr(line, '\n', off) == NULL) {
		if ((n = read(c, line + off, sizeof(line) - 1 - off)) <= 0)
			return CALL_FAILED;
		off += n;
	}
	line[off] = '\0';
	if (strcmp(line, "HELO test\r\n") != 0)
		return WRONG_DATA;
	if (write(c, reply, sizeof(reply) - 1) != sizeof(reply) - 1)
		return CALL_FAILED;
	return DONE;
}

static int
connect_local(struct job *job)
{
	struct sockaddr_in	 sin;
	int			 s;

	sandbox(job->promises, job->paths);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = job->port;
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return CALL_FAILED;
	return DONE;
}

/* With a TCP socket made before, Landlock must still refuse connect. */
static int
connect_held_socket(struct job *job)
{
	struct sockaddr_in	 sin;
	int			 s;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return SETUP_FAILED;
	sandbox(job->promises, job->paths);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = job->port;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return CALL_ALLOWED;
	return errno == EACCES ? DONE : WRONG_ERRNO;
}

/*
 * A TCP connect to 127.0.0.1 at job->port: DONE when Landlock lets it
 * through, whether something listens there or not (ECONNREFUSED),
 * REFUSED when Landlock stops it.
 */
static int
connect_port(struct job *job)
{
	struct sockaddr_in	 sin;
	int			 s;

	sandbox(job->promises, job->paths);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = job->port;
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return CALL_FAILED;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == ECONNREFUSED)
		return DONE;
	return errno == EACCES ? REFUSED : CALL_FAILED;
}

static int
udp_socket(struct job *job)
{
	sandbox(job->promises, job->paths);
	if (socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) == -1)
		return CALL_FAILED;
	return DONE;
}

/* Reads job->file, then expects Landlock to refuse OUTSIDE_FILE. */
static int
read_only_file(struct job *job)
{
	char	 buf[64];
	ssize_t	 n;
	int	 fd;

	sandbox(job->promises, job->paths);
	if ((fd = open(job->file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (n = read(fd, buf, sizeof(buf) - 1)) == -1)
		return CALL_FAILED;
	buf[n] = '\0';
	if (strcmp(buf, "secret\n") != 0)
		return WRONG_DATA;
	if (open(OUTSIDE_FILE, O_RDONLY | O_CLOEXEC) != -1)
		return CALL_ALLOWED;
	return errno == EACCES ? DONE : WRONG_ERRNO;
}

/* What the queue does with a message: write it, commit it, drop it. */
static int
spool_cycle(struct job *job)
{
	static const char	 msg[] = "Subject: test\r\n\r\nhello\r\n";
	char			 incoming[PATH_MAX], queued[PATH_MAX];
	char			 tmp[PATH_MAX], final[PATH_MAX];
	int			 fd, dfd;

	snprintf(incoming, sizeof(incoming), "%s/incoming", job->dir);
	snprintf(queued, sizeof(queued), "%s/queue", job->dir);
	snprintf(tmp, sizeof(tmp), "%s/incoming/msg", job->dir);
	snprintf(final, sizeof(final), "%s/queue/msg", job->dir);

	sandbox(job->promises, job->paths);
	if (mkdir(incoming, 0700) == -1 || mkdir(queued, 0700) == -1)
		return CALL_FAILED;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 ||
	    write(fd, msg, sizeof(msg) - 1) != sizeof(msg) - 1 ||
	    fchmod(fd, 0640) == -1 || fsync(fd) == -1 || close(fd) == -1)
		return CALL_FAILED;
	/* Across directories: Landlock's REFER right. */
	if (rename(tmp, final) == -1)
		return CALL_FAILED;
	if ((dfd = open(queued, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1 || close(dfd) == -1)
		return CALL_FAILED;
	if (unlink(final) == -1 || rmdir(queued) == -1 || rmdir(incoming) == -1)
		return CALL_FAILED;
	return DONE;
}

static int
create_file(struct job *job)
{
	sandbox(job->promises, job->paths);
	if (open(job->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600) != -1)
		return CALL_ALLOWED;
	return errno == EACCES ? DONE : WRONG_ERRNO;
}

static int
look_up_root(struct job *job)
{
	struct passwd	*pw;

	/* What lookup does at start: NSS modules load on first use. */
	if (getpwnam("root") == NULL)
		return SETUP_FAILED;
	sandbox(job->promises, job->paths);
	if ((pw = getpwnam("root")) == NULL)
		return CALL_FAILED;
	return pw->pw_uid == 0 ? DONE : WRONG_DATA;
}

static int
enter_only(struct job *job)
{
	sandbox(job->promises, job->paths);
	return SURVIVED;
}

static int
check_status(struct job *job)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 fd;

	/* After the sandbox, no role here may open it. */
	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) == -1)
		return SETUP_FAILED;
	sandbox(job->promises, job->paths);
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return CALL_FAILED;
	buf[n] = '\0';
	if (strstr(buf, "\nNoNewPrivs:\t1\n") == NULL ||
	    strstr(buf, "\nSeccomp:\t2\n") == NULL)
		return WRONG_DATA;
	return DONE;
}

static void
job_init(struct job *job, const char *promises)
{
	memset(job, 0, sizeof(*job));
	job->promises = promises;
	job->fd = -1;
}

ATF_TC_WITHOUT_HEAD(smtp_is_killed_opening_a_file);
ATF_TC_BODY(smtp_is_killed_opening_a_file, tc)
{
	struct job	 job;

	require_outside_file();
	job_init(&job, PROMISES_SMTP);
	expect_open_killed(run(open_outside, &job));
}

ATF_TC_WITHOUT_HEAD(smtp_can_accept_and_talk_on_its_sockets);
ATF_TC_BODY(smtp_can_accept_and_talk_on_its_sockets, tc)
{
	struct sockaddr_in	 sin;
	struct child		 c;
	struct job		 job;
	char			 reply[64];
	size_t			 off = 0;
	ssize_t			 n;
	int			 s, connected, sent = 0;

	job_init(&job, PROMISES_SMTP);
	job.fd = listen_local(&job.port);
	c = spawn(accept_and_talk, &job, 0);
	/* Only the child holds it now: its death resets our connection. */
	close(job.fd);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = job.port;
	ATF_REQUIRE((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	connected = connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	if (connected)
		sent = send(s, "HELO test\r\n", 11, MSG_NOSIGNAL) == 11;
	while (sent && off < sizeof(reply) - 1 &&
	    memchr(reply, '\n', off) == NULL &&
	    (n = recv(s, reply + off, sizeof(reply) - 1 - off, 0)) > 0)
		off += n;
	reply[off] = '\0';
	close(s);

	expect_exit(reap(&c, NULL, 0), DONE);
	ATF_CHECK(connected);
	ATF_CHECK(sent);
	ATF_CHECK_STREQ(reply, "250 hello\r\n");
}

ATF_TC_WITHOUT_HEAD(smtp_is_killed_connecting_out);
ATF_TC_BODY(smtp_is_killed_connecting_out, tc)
{
	struct job	 job;

	job_init(&job, PROMISES_SMTP);
	expect_killed(run(tcp_socket, &job));
}

ATF_TC_WITHOUT_HEAD(auth_is_killed_creating_a_socket);
ATF_TC_BODY(auth_is_killed_creating_a_socket, tc)
{
	struct job	 job;

	job_init(&job, PROMISES_AUTH);
	expect_killed(run(unix_socket, &job));
}

ATF_TC_WITHOUT_HEAD(auth_reads_only_its_credentials_file);
ATF_TC_BODY(auth_reads_only_its_credentials_file, tc)
{
	struct job	 job;
	char		 cred[PATH_MAX];
	int		 status;

	require_outside_file();
	job_init(&job, PROMISES_AUTH);
	snprintf(cred, sizeof(cred), "%s/credentials", make_tmpdir(0));
	write_file(cred, "secret\n");
	job.file = cred;
	job.paths[0] = (struct sandbox_path){ cred, SANDBOX_READ };

	status = run(read_only_file, &job);
	rmtree(tmpdirs[0]);
	expect_exit(status, DONE);
}

ATF_TC_WITHOUT_HEAD(queue_is_killed_connecting_out);
ATF_TC_BODY(queue_is_killed_connecting_out, tc)
{
	struct job	 job;

	job_init(&job, PROMISES_QUEUE);
	expect_killed(run(tcp_socket, &job));
}

ATF_TC_WITHOUT_HEAD(queue_can_create_sync_and_rename_in_its_spool);
ATF_TC_BODY(queue_can_create_sync_and_rename_in_its_spool, tc)
{
	struct job	 job;
	int		 status;

	job_init(&job, PROMISES_QUEUE);
	job.dir = make_tmpdir(0);
	job.paths[0] = (struct sandbox_path){ job.dir,
	    SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE };

	status = run(spool_cycle, &job);
	/* The child removed all it made: only the empty spool is left. */
	ATF_CHECK_MSG(rmdir(job.dir) == 0, "rmdir %s: %s", job.dir,
	    strerror(errno));
	if (access(job.dir, F_OK) == 0)
		rmtree(job.dir);
	expect_exit(status, DONE);
}

ATF_TC_WITHOUT_HEAD(queue_cannot_touch_files_outside_its_spool);
ATF_TC_BODY(queue_cannot_touch_files_outside_its_spool, tc)
{
	struct job	 job;
	char		 outside[PATH_MAX];
	int		 status;

	job_init(&job, PROMISES_QUEUE);
	job.dir = make_tmpdir(0);
	job.paths[0] = (struct sandbox_path){ job.dir,
	    SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE };
	snprintf(outside, sizeof(outside), "%s/msg", make_tmpdir(1));
	job.file = outside;

	status = run(create_file, &job);
	ATF_CHECK_MSG(access(outside, F_OK) == -1, "%s was created", outside);
	rmtree(tmpdirs[0]);
	rmtree(tmpdirs[1]);
	expect_exit(status, DONE);
}

ATF_TC_WITHOUT_HEAD(lookup_can_look_up_users);
ATF_TC_BODY(lookup_can_look_up_users, tc)
{
	struct job	 job;

	job_init(&job, PROMISES_LOOKUP);
	/*
	 * nsswitch.conf and passwd.  The warm-up loaded the NSS modules;
	 * the nscd probe is socket and connect, which Landlock ignores.
	 */
	job.paths[0] = (struct sandbox_path){ "/etc", SANDBOX_READ };
	expect_exit(run(look_up_root, &job), DONE);
}

ATF_TC_WITHOUT_HEAD(lookup_can_open_a_dns_socket);
ATF_TC_BODY(lookup_can_open_a_dns_socket, tc)
{
	struct job	 job;

	job_init(&job, PROMISES_LOOKUP);
	job.paths[0] = (struct sandbox_path){ "/etc", SANDBOX_READ };
	expect_exit(run(udp_socket, &job), DONE);
}

/* The kernel's Landlock ABI, or -1 without Landlock. */
static long
landlock_abi(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
}

ATF_TC_WITHOUT_HEAD(lookup_connects_over_tcp_only_to_port_53);
ATF_TC_BODY(lookup_connects_over_tcp_only_to_port_53, tc)
{
	struct job	 job;
	long		 abi = landlock_abi();
	int		 s, status;

	job_init(&job, PROMISES_LOOKUP);
	job.paths[0] = (struct sandbox_path){ "/etc", SANDBOX_READ };
	job.port = htons(53);
	expect_exit(run(connect_port, &job), DONE);

	s = listen_local(&job.port);
	ATF_REQUIRE(job.port != htons(53));
	status = run(connect_port, &job);
	close(s);
	if (abi >= 4)
		expect_exit(status, REFUSED);
	else {
		/*
		 * The documented fallback: without Landlock's TCP rules
		 * the seccomp filter alone cannot tell ports apart.
		 */
		fprintf(stderr, "Landlock ABI %ld has no TCP rules: the "
		    "lookup process may connect to any port\n", abi);
		expect_exit(status, DONE);
	}
}

ATF_TC_WITHOUT_HEAD(lookup_is_killed_writing_a_file);
ATF_TC_BODY(lookup_is_killed_writing_a_file, tc)
{
	struct job	 job;
	char		 file[PATH_MAX];
	int		 status;

	job_init(&job, PROMISES_LOOKUP);
	job.paths[0] = (struct sandbox_path){ "/etc", SANDBOX_READ };
	snprintf(file, sizeof(file), "%s/file", make_tmpdir(0));
	job.file = file;

	status = run(create_file, &job);
	rmtree(tmpdirs[0]);
	expect_killed(status);
}

ATF_TC_WITHOUT_HEAD(mta_can_open_a_tcp_socket);
ATF_TC_BODY(mta_can_open_a_tcp_socket, tc)
{
	struct job	 job;
	int		 s, status;

	job_init(&job, PROMISES_MTA);
	/* Landlock's TCP rules must not apply: connect for real. */
	s = listen_local(&job.port);
	status = run(connect_local, &job);
	close(s);
	expect_exit(status, DONE);
}

ATF_TC_WITHOUT_HEAD(mta_is_killed_opening_a_file);
ATF_TC_BODY(mta_is_killed_opening_a_file, tc)
{
	struct job	 job;

	require_outside_file();
	job_init(&job, PROMISES_MTA);
	expect_open_killed(run(open_outside, &job));
}

ATF_TC_WITHOUT_HEAD(control_is_killed_connecting_out);
ATF_TC_BODY(control_is_killed_connecting_out, tc)
{
	struct job	 job;

	job_init(&job, PROMISES_CONTROL);
	expect_killed(run(unix_socket, &job));
}

ATF_TC_WITHOUT_HEAD(tcp_connect_needs_inet_or_dns);
ATF_TC_BODY(tcp_connect_needs_inet_or_dns, tc)
{
	struct job	 job;
	int		 s, status;

	/* "unix" allows connect; only Landlock stands in the way. */
	job_init(&job, "stdio unix");
	s = listen_local(&job.port);
	status = run(connect_held_socket, &job);
	close(s);
	expect_exit(status, DONE);
}

ATF_TC_WITHOUT_HEAD(unknown_promise_is_fatal);
ATF_TC_BODY(unknown_promise_is_fatal, tc)
{
	struct child	 c;
	struct job	 job;
	char		 err[512];

	job_init(&job, "stdio bogus");
	c = spawn(enter_only, &job, 1);
	expect_exit(reap(&c, err, sizeof(err)), FATAL);
	ATF_CHECK_MSG(strstr(err, "unknown promise bogus") != NULL,
	    "stderr: %s", err);
}

ATF_TC_WITHOUT_HEAD(missing_sandbox_path_is_fatal);
ATF_TC_BODY(missing_sandbox_path_is_fatal, tc)
{
	struct child	 c;
	struct job	 job;
	char		 missing[PATH_MAX], err[512];
	int		 status;

	job_init(&job, PROMISES_AUTH);
	snprintf(missing, sizeof(missing), "%s/missing", make_tmpdir(0));
	job.paths[0] = (struct sandbox_path){ missing, SANDBOX_READ };
	c = spawn(enter_only, &job, 1);
	status = reap(&c, err, sizeof(err));
	rmtree(tmpdirs[0]);
	expect_exit(status, FATAL);
	ATF_CHECK_MSG(strstr(err, missing) != NULL, "stderr: %s", err);
}

ATF_TC_WITHOUT_HEAD(debug_mode_names_the_forbidden_call);
ATF_TC_BODY(debug_mode_names_the_forbidden_call, tc)
{
	struct child	 c;
	struct job	 job;
	char		 err[512];

	job_init(&job, PROMISES_SMTP);
	sandbox_debug = 1;	/* the child's copy */
	c = spawn(tcp_socket, &job, 1);
	sandbox_debug = 0;
	expect_exit(reap(&c, err, sizeof(err)), FATAL);
	ATF_CHECK_MSG(strstr(err, "sandbox: forbidden system call socket (")
	    != NULL, "stderr: %s", err);
}

ATF_TC_WITHOUT_HEAD(sandbox_sets_no_new_privs_and_a_filter);
ATF_TC_BODY(sandbox_sets_no_new_privs_and_a_filter, tc)
{
	struct job	 job;
	char		 buf[4096];
	ssize_t		 n;
	int		 fd;

	/* If we already had them, the child would prove nothing. */
	ATF_REQUIRE((fd = open("/proc/self/status", O_RDONLY)) != -1);
	ATF_REQUIRE((n = read(fd, buf, sizeof(buf) - 1)) > 0);
	close(fd);
	buf[n] = '\0';
	if (strstr(buf, "\nNoNewPrivs:\t0\n") == NULL ||
	    strstr(buf, "\nSeccomp:\t0\n") == NULL)
		atf_tc_skip("already under no_new_privs or seccomp");

	job_init(&job, PROMISES_SMTP);
	expect_exit(run(check_status, &job), DONE);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, smtp_is_killed_opening_a_file);
	ATF_TP_ADD_TC(tp, smtp_can_accept_and_talk_on_its_sockets);
	ATF_TP_ADD_TC(tp, smtp_is_killed_connecting_out);
	ATF_TP_ADD_TC(tp, auth_is_killed_creating_a_socket);
	ATF_TP_ADD_TC(tp, auth_reads_only_its_credentials_file);
	ATF_TP_ADD_TC(tp, queue_is_killed_connecting_out);
	ATF_TP_ADD_TC(tp, queue_can_create_sync_and_rename_in_its_spool);
	ATF_TP_ADD_TC(tp, queue_cannot_touch_files_outside_its_spool);
	ATF_TP_ADD_TC(tp, lookup_can_look_up_users);
	ATF_TP_ADD_TC(tp, lookup_can_open_a_dns_socket);
	ATF_TP_ADD_TC(tp, lookup_connects_over_tcp_only_to_port_53);
	ATF_TP_ADD_TC(tp, lookup_is_killed_writing_a_file);
	ATF_TP_ADD_TC(tp, mta_can_open_a_tcp_socket);
	ATF_TP_ADD_TC(tp, mta_is_killed_opening_a_file);
	ATF_TP_ADD_TC(tp, control_is_killed_connecting_out);
	ATF_TP_ADD_TC(tp, tcp_connect_needs_inet_or_dns);
	ATF_TP_ADD_TC(tp, unknown_promise_is_fatal);
	ATF_TP_ADD_TC(tp, missing_sandbox_path_is_fatal);
	ATF_TP_ADD_TC(tp, debug_mode_names_the_forbidden_call);
	ATF_TP_ADD_TC(tp, sandbox_sets_no_new_privs_and_a_filter);

	return atf_no_error();
}
