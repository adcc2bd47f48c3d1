/*
 * mda delivery: run the admin's command as the recipient, with the
 * message on its standard input.
 *
 * The command line comes from smtpd.conf and is run by /bin/sh -c.
 * Nothing a client sent is ever put into it: the sender, the recipient
 * and the like reach the command only as environment variables, in an
 * environment built from nothing, so no address can become shell code
 * however it is quoted.  The command gets no descriptor of smtpd's but
 * its three standard ones.
 *
 * Its exit status becomes the agent's, which the parent reads as
 * sysexits(3) codes: 0 is delivered, EX_TEMPFAIL, EX_OSERR and EX_IOERR
 * ask for another try, anything else fails for good.  A command killed
 * by a signal, or still running after ten minutes, is tried again
 * later.  The first line it writes, on its standard output or error, is
 * kept as the error text.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mda.h"

#define COMMAND_TIMEOUT		600	/* seconds */
#define COMMAND_ENV_MAX		16

struct command {
	pid_t		 pid;
	int		 in;		/* stdin, -1 when all is sent */
	int		 out;		/* stdout and stderr */
	int		 msgfd;
	off_t		 msgoff;
	size_t		 bufoff;
	size_t		 buflen;
	char		 buf[65536];
	char		 text[256];	/* the first line it wrote */
	size_t		 textlen;
	int		 textdone;
};

static volatile sig_atomic_t	 command_chld, command_term;

static void
command_signal(int sig)
{
	if (sig == SIGCHLD)
		command_chld = 1;
	else
		command_term = 1;
}

static int
env_add(char **envp, size_t *n, const char *name, const char *value)
{
	if (*n + 1 >= COMMAND_ENV_MAX ||
	    asprintf(&envp[*n], "%s=%s", name, value) == -1)
		return -1;
	envp[++*n] = NULL;
	return 0;
}

/* The environment of the command: the envelope, and a fixed PATH. */
static int
command_env(char **envp, const struct passwd *pw,
    const struct mda_envelope *e)
{
	char	 local[sizeof(e->rcpt)], *at;
	size_t	 n = 0;

	envp[0] = NULL;
	strlcpy(local, e->rcpt, sizeof(local));
	if ((at = strrchr(local, '@')) != NULL)
		*at = '\0';
	if (env_add(envp, &n, "PATH", "/usr/bin:/bin") == -1 ||
	    env_add(envp, &n, "HOME", pw->pw_dir) == -1 ||
	    env_add(envp, &n, "USER", pw->pw_name) == -1 ||
	    env_add(envp, &n, "LOGNAME", pw->pw_name) == -1 ||
	    env_add(envp, &n, "SHELL", "/bin/sh") == -1 ||
	    env_add(envp, &n, "SENDER", e->sender) == -1 ||
	    env_add(envp, &n, "RECIPIENT", e->rcpt) == -1 ||
	    env_add(envp, &n, "ORIGINAL_RECIPIENT", e->rcpt) == -1 ||
	    env_add(envp, &n, "LOCAL", local) == -1 ||
	    env_add(envp, &n, "DOMAIN", at != NULL ? at + 1 : "") == -1 ||
	    env_add(envp, &n, "EXTENSION", "") == -1)
		return -1;
	return 0;
}

static __attribute__((__noreturn__)) void
command_exec(const char *cmd, const struct passwd *pw,
    const struct mda_envelope *e, int in, int out)
{
	char		*envp[COMMAND_ENV_MAX];
	char		*argv[] = { "sh", "-c", (char *)cmd, NULL };
	sigset_t	 none;

	/* A group of its own, so that a timeout ends all it started. */
	setpgid(0, 0);
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(out, STDERR_FILENO) == -1)
		_exit(EX_OSERR);
	closefrom(STDERR_FILENO + 1);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (command_env(envp, pw, e) == -1) {
		dprintf(STDERR_FILENO, "cannot build the environment\n");
		_exit(EX_OSERR);
	}
	execve("/bin/sh", argv, envp);
	dprintf(STDERR_FILENO, "/bin/sh: %s\n", strerror(errno));
	_exit(EX_OSERR);
}

/* Write what the pipe takes of the headers and the message. */
static int
command_feed(struct command *c)
{
	ssize_t	 n;

	for (;;) {
		if (c->bufoff == c->buflen) {
			n = pread(c->msgfd, c->buf, sizeof(c->buf), c->msgoff);
			if (n == -1)
				return -1;
			if (n == 0)
				break;
			c->msgoff += n;
			c->bufoff = 0;
			c->buflen = n;
		}
		n = write(c->in, c->buf + c->bufoff, c->buflen - c->bufoff);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		/* It stopped reading: its exit status says how it went. */
		if (n == -1)
			break;
		c->bufoff += n;
	}
	close(c->in);
	c->in = -1;
	return 0;
}

/* Read what it wrote, keeping the first line. */
static void
command_drain(struct command *c)
{
	char	 buf[4096], *nl;
	size_t	 take;
	ssize_t	 n;

	while ((n = read(c->out, buf, sizeof(buf))) > 0) {
		if (c->textdone)
			continue;
		nl = memchr(buf, '\n', n);
		take = nl != NULL ? (size_t)(nl - buf) : (size_t)n;
		if (take > sizeof(c->text) - 1 - c->textlen)
			take = sizeof(c->text) - 1 - c->textlen;
		memcpy(c->text + c->textlen, buf, take);
		c->textlen += take;
		c->text[c->textlen] = '\0';
		if (nl != NULL || c->textlen == sizeof(c->text) - 1)
			c->textdone = 1;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(c->out);
		c->out = -1;
	}
}

static int
command_wait(struct command *c, int *status, char *err, size_t errlen)
{
	struct pollfd	 pfd[2];
	struct timespec	 now, deadline, left;
	sigset_t	 none;

	sigemptyset(&none);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += COMMAND_TIMEOUT;
	for (;;) {
		if (command_chld && waitpid(c->pid, status, WNOHANG) == c->pid)
			return 0;
		command_chld = 0;
		if (command_term) {
			snprintf(err, errlen, "command interrupted: smtpd is "
			    "stopping");
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= deadline.tv_sec) {
			snprintf(err, errlen, "command timed out after %d "
			    "seconds", COMMAND_TIMEOUT);
			return -1;
		}
		left.tv_sec = deadline.tv_sec - now.tv_sec;
		left.tv_nsec = 0;
		pfd[0].fd = c->out;
		pfd[0].events = POLLIN;
		pfd[1].fd = c->in;
		pfd[1].events = POLLOUT;
		/* SIGCHLD and SIGTERM get through only while it waits. */
		if (ppoll(pfd, 2, &left, &none) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[0].revents != 0)
			command_drain(c);
		if (pfd[1].revents != 0 && command_feed(c) == -1) {
			snprintf(err, errlen, "cannot read the message: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/* The agent's exit code from how the command ended. */
static int
command_result(struct command *c, int status, char *err, size_t errlen)
{
	const char	*sep = c->textlen > 0 ? ": " : "";

	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "command killed by signal %d%s%s",
		    WTERMSIG(status), sep, c->text);
		return EX_TEMPFAIL;
	}
	if (WEXITSTATUS(status) != EX_OK)
		snprintf(err, errlen, "command exited with status %d%s%s",
		    WEXITSTATUS(status), sep, c->text);
	return WEXITSTATUS(status);
}

static int
command_start(struct command *c, const char *cmd, const struct passwd *pw,
    const struct mda_envelope *e, char *err, size_t errlen)
{
	int	 in[2], out[2];

	if (pipe2(in, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((c->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (c->pid == 0)
		command_exec(cmd, pw, e, in[0], out[1]);
	/* Also here, lest a kill come before the child has done it. */
	setpgid(c->pid, c->pid);
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	if (fcntl(c->in, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(c->out, F_SETFL, O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
command_kill(struct command *c)
{
	int	 status;

	if (c->pid <= 0)
		return;
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) == -1 && errno == EINTR)
		;
}

int
mda_command_run(const char *cmd, const struct passwd *pw, int msgfd,
    const struct mda_envelope *e, char *err, size_t errlen)
{
	struct command		*c;
	struct sigaction	 sa;
	sigset_t		 mask;
	int			 status, rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return EX_TEMPFAIL;
	}
	c->in = c->out = -1;
	c->msgfd = msgfd;
	/* The headers go first, through the same buffer as the message. */
	c->buflen = snprintf(c->buf, sizeof(c->buf),
	    "Return-Path: <%s>\nDelivered-To: %s\n", e->sender, e->rcpt);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = command_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	if (command_start(c, cmd, pw, e, err, errlen) == -1 ||
	    command_wait(c, &status, err, errlen) == -1) {
		command_kill(c);
		free(c);
		return EX_TEMPFAIL;
	}
	/* Whatever it wrote last, short of a child keeping the pipe. */
	if (c->out != -1)
		command_drain(c);
	rc = command_result(c, status, err, errlen);
	free(c);
	return rc;
}
