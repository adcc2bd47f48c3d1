/*
 * The parent process: reads the configuration, binds the listening
 * sockets and the control socket, starts every other role by fork+exec
 * of this binary, forks delivery agents, and stops everything when any
 * child dies.  It is the only process that keeps root.  What control
 * passes on from smtpctl is read with control_msg.c's readers and a
 * malformed request is refused, never fatal.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "smtpd.h"
#include "mda.h"
#include "session_msg.h"
#include "macro.h"

struct smtpd_config	*env;
int			 smtpd_privileged;

static pid_t		 child_pids[PROC_COUNT];
static int		 shutting_down;
static struct event	 ev_sigterm, ev_sigint, ev_sigchld, ev_sighup;

static void	 listener_unlink_local(void);

struct child_log {
	struct event	 ev;
	enum smtp_proc	 proc;
	char		 buf[4096];
	size_t		 len;
};
static struct child_log	 child_logs[PROC_COUNT];

static const struct {
	const char	*flag;
	enum smtp_proc	 proc;
	void		(*main)(void);
	int		 files;		/* the kinds of files it gets */
	int		 parse;		/* PARSE_* */
} roles[] = {
	{ "smtp",	PROC_SMTP,	smtp_main,
	    CONFFILE_CONF | CONFFILE_CERT | CONFFILE_KEY, 0 },
	{ "lookup",	PROC_LOOKUP,	lookup_main,
	    CONFFILE_CONF | CONFFILE_TABLE | CONFFILE_INCLUDE, PARSE_TABLES },
	{ "auth",	PROC_AUTH,	auth_main,
	    CONFFILE_CONF | CONFFILE_TABLE, 0 },
	{ "queue",	PROC_QUEUE,	queue_main,	CONFFILE_CONF, 0 },
	{ "mta",	PROC_MTA,	mta_main,
	    CONFFILE_CONF | CONFFILE_RELAY, 0 },
	{ "control",	PROC_CONTROL,	control_main,	CONFFILE_CONF, 0 },
};

/* The files of the running configuration, until the children have them. */
static struct conffiles	*parent_files;
static char		*parent_conffile;	/* its absolute path */

extern char **environ;

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: smtpd [-dnv] [-D macro=value] [-f file] "
	    "[-T sandbox]\n");
	exit(1);
}

static const char *
describe_exit(int status)
{
	static char	 buf[64];

	if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(buf, sizeof(buf), "stopped");
	return buf;
}

static void
parent_shutdown(int status)
{
	enum smtp_proc	 p;
	pid_t		 pid;
	int		 wstatus;

	shutting_down = 1;
	offline_stop();
	for (p = PROC_PARENT + 1; p < PROC_COUNT; p++)
		if (child_pids[p] > 0)
			kill(child_pids[p], SIGTERM);
	mda_shutdown();
	for (p = PROC_PARENT + 1; p < PROC_COUNT; p++) {
		if (child_pids[p] <= 0)
			continue;
		do {
			pid = waitpid(child_pids[p], &wstatus, 0);
		} while (pid == -1 && errno == EINTR);
		/* Say how any child went that did not go as asked. */
		if (pid > 0 && status != 0 && !(WIFSIGNALED(wstatus) &&
		    WTERMSIG(wstatus) == SIGTERM))
			log_warnx("child %s (pid %d) %s", proc_name(p),
			    (int)pid, describe_exit(wstatus));
		child_pids[p] = 0;
	}
	if (env != NULL) {
		unlink(env->control_socket);
		listener_unlink_local();
	}
	log_info("smtpd exiting");
	exit(status);
}

static void
parent_reap(void)
{
	enum smtp_proc	 p;
	pid_t		 pid;
	int		 status, failed = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (p = PROC_PARENT + 1; p < PROC_COUNT; p++)
			if (child_pids[p] == pid)
				break;
		if (p == PROC_COUNT) {
			if (!offline_reaped(pid))
				mda_reaped(pid, status);
			continue;
		}
		child_pids[p] = 0;
		if (!shutting_down) {
			log_warnx("child %s (pid %d) %s: stopping smtpd",
			    proc_name(p), (int)pid, describe_exit(status));
			failed = 1;
		}
	}
	if (failed)
		parent_shutdown(1);
}

static void
parent_signal(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("smtpd stopping on signal %d", sig);
		parent_shutdown(0);
		break;
	case SIGCHLD:
		parent_reap();
		break;
	case SIGHUP:
		reload_start(0);
		break;
	}
}

/*
 * What control passes on from smtpctl.  Control checks what its clients
 * send, but is not trusted for it: a bad request is refused and logged.
 * Returns -1 for a type that is not a request.
 */
static int
parent_control(struct imsg *imsg)
{
	enum smtp_proc	 p;
	uint32_t	 v;

	switch (imsg->hdr.type) {
	case IMSG_CTL_RELOAD:
		if (msg_ctl_request_read(imsg) == -1)
			break;
		reload_start(imsg->hdr.peerid);
		return 0;
	case IMSG_CTL_UPDATE_TABLE:
		reload_table(imsg);
		return 0;
	case IMSG_CTL_STOP:
		if (msg_ctl_request_read(imsg) == -1)
			break;
		log_info("smtpd stopping on request");
		parent_shutdown(0);
		return 0;
	case IMSG_CTL_VERBOSE:
		if (msg_ctl_verbose_read(imsg, &v) == -1)
			break;
		log_setverbose(v);
		for (p = PROC_PARENT + 1; p < PROC_COUNT; p++)
			proc_close(p, msg_ctl_verbose_write(v));
		return 0;
	default:
		return -1;
	}
	proc_refuse(PROC_CONTROL, imsg, "malformed");
	return 0;
}

static void
parent_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	switch (from) {
	case PROC_QUEUE:
		switch (imsg->hdr.type) {
		case IMSG_QUEUE_PARENT_DELIVER:
			mda_deliver(imsg);
			return;
		}
		break;
	case PROC_LOOKUP:
		switch (imsg->hdr.type) {
		case IMSG_LOOKUP_PARENT_FORWARD:
			forward_lookup(imsg);
			return;
		}
		break;
	case PROC_CONTROL:
		if (parent_control(imsg) == 0)
			return;
		break;
	default:
		break;
	}
	if (imsg->hdr.type == IMSG_RELOAD_DONE && from != PROC_PARENT) {
		reload_child_done(from, imsg);
		return;
	}
	proc_bad_imsg(PROC_PARENT, from, imsg);
}

/* Forward what a child wrote to its stderr pipe to syslog, a line each. */
static void
child_log_read(int fd, short event, void *arg)
{
	struct child_log	*cl = arg;
	char			*nl;
	ssize_t			 n;

	n = read(fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(&cl->ev);
		close(fd);
		return;
	}
	cl->len += n;
	cl->buf[cl->len] = '\0';
	while ((nl = strchr(cl->buf, '\n')) != NULL) {
		*nl = '\0';
		log_syslog_line(LOG_INFO, cl->buf);
		cl->len -= nl + 1 - cl->buf;
		memmove(cl->buf, nl + 1, cl->len);
		cl->buf[cl->len] = '\0';
	}
	if (cl->len == sizeof(cl->buf) - 1) {
		log_syslog_line(LOG_INFO, cl->buf);
		cl->len = 0;
	}
}

/*
 * Start every role.  One socketpair per pair of processes that talk;
 * each child finds its ends at PROC_FD_BASE + peer and nothing else.
 */
static void
parent_start_children(int argc, char **argv, const char *conffile,
    int foreground)
{
	int		 pairs[PROC_COUNT][PROC_COUNT];
	int		 logpipe[2], filesfd;
	enum smtp_proc	 a, b, p;
	size_t		 r;
	char		**cargv;
	int		 i, n;

	for (a = 0; a < PROC_COUNT; a++)
		for (b = 0; b < PROC_COUNT; b++)
			pairs[a][b] = -1;
	for (a = 0; a < PROC_COUNT; a++)
		for (b = a + 1; b < PROC_COUNT; b++) {
			int sv[2];

			if (!proc_talks(a, b))
				continue;
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			    sv) == -1)
				fatal("socketpair");
			pairs[a][b] = sv[0];
			pairs[b][a] = sv[1];
		}

	if ((cargv = calloc(argc + 6, sizeof(char *))) == NULL)
		fatal("calloc");
	for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		p = roles[r].proc;
		logpipe[0] = logpipe[1] = -1;
		if (!foreground && pipe2(logpipe, O_CLOEXEC) == -1)
			fatal("pipe2");
		filesfd = conffiles_memfd(parent_files, roles[r].files);
		switch (child_pids[p] = fork()) {
		case -1:
			fatal("fork");
		case 0:
			if (logpipe[1] != -1 &&
			    dup2(logpipe[1], STDERR_FILENO) == -1)
				_exit(1);
			/* Move our ends out of the way, then into place. */
			for (b = 0; b < PROC_COUNT; b++) {
				if (pairs[p][b] == -1)
					continue;
				if ((pairs[p][b] = fcntl(pairs[p][b],
				    F_DUPFD_CLOEXEC, 64)) == -1)
					_exit(1);
			}
			for (b = 0; b < PROC_COUNT; b++)
				if (pairs[p][b] != -1 &&
				    dup2(pairs[p][b], PROC_FD_BASE + b) == -1)
					_exit(1);
			if (dup2(filesfd, CONFFILE_FD) == -1)
				_exit(1);
			n = 0;
			cargv[n++] = "smtpd";
			cargv[n++] = "-X";
			cargv[n++] = (char *)roles[r].flag;
			for (i = 1; i < argc; i++)
				cargv[n++] = argv[i];
			/* Last, so that it wins: the name parent_files know. */
			cargv[n++] = "-f";
			cargv[n++] = (char *)conffile;
			cargv[n] = NULL;
			execve("/proc/self/exe", cargv, environ);
			_exit(127);
		}
		close(filesfd);
		if (logpipe[1] != -1) {
			close(logpipe[1]);
			set_nonblocking(logpipe[0]);
			child_logs[p].proc = p;
			event_set(&child_logs[p].ev, logpipe[0],
			    EV_READ | EV_PERSIST, child_log_read,
			    &child_logs[p]);
			event_add(&child_logs[p].ev, NULL);
		}
	}
	free(cargv);

	for (p = PROC_PARENT + 1; p < PROC_COUNT; p++) {
		for (b = 0; b < PROC_COUNT; b++)
			if (b != PROC_PARENT && pairs[p][b] != -1)
				close(pairs[p][b]);
		proc_peer_setup(p, pairs[PROC_PARENT][p], parent_dispatch);
		close(pairs[p][PROC_PARENT]);
	}
}

/*
 * The local submission socket: any local user may connect, and who did
 * is read from the socket by lookup, so its mode is open to all.  As
 * for the control socket, a live daemon's socket is never taken over.
 */
static int
listener_bind_local(struct listener *l)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&l->ss;
	int			 fd;
	mode_t			 old;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)sun, sizeof(*sun)) == 0)
		fatalx("%s: another smtpd is running", sun->sun_path);
	close(fd);
	if (unlink(sun->sun_path) == -1 && errno != ENOENT)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	old = umask(S_IXUSR | S_IXGRP | S_IXOTH);
	if (bind(fd, (struct sockaddr *)sun, sizeof(*sun)) == -1) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sun->sun_path, 0666) == -1 || listen(fd, 128) == -1) {
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

static void
listener_unlink_local(void)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &env->listeners, entry)
		if (l->flags & LISTEN_LOCAL)
			unlink(((struct sockaddr_un *)&l->ss)->sun_path);
}

int
listener_bind(struct listener *l)
{
	int	 fd, on = 1;

	if (l->flags & LISTEN_LOCAL)
		return listener_bind_local(l);
	if ((fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (l->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1 ||
	    listen(fd, 128) == -1)
		goto fail;
	l->fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * The control socket.  A live daemon's socket is never taken over: if
 * something answers on it, this instance refuses to start.
 */
static int
control_socket_create(const char *path, uid_t owner, gid_t group)
{
	struct sockaddr_un	 sun;
	int			 fd;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("%s: another smtpd is running", path);
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("unlink %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	old = umask(S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	umask(old);
	/* Root's alone, or shared with one group the admin named. */
	if (chmod(path, group != (gid_t)-1 ? S_IRUSR | S_IWUSR | S_IRGRP |
	    S_IWGRP : S_IRUSR | S_IWUSR) == -1 ||
	    ((smtpd_privileged || group != (gid_t)-1) &&
	    chown(path, smtpd_privileged ? owner : (uid_t)-1, group) == -1))
		fatal("chmod %s", path);
	if (listen(fd, 16) == -1)
		fatal("listen %s", path);
	return fd;
}

static void
parent_prepare_dirs(void)
{
	struct passwd	*pw;
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;

	if (smtpd_privileged) {
		if (getpwnam(SMTPD_USER) == NULL)
			fatalx("user %s does not exist (make deps creates it)",
			    SMTPD_USER);
		if ((pw = getpwnam(SMTPD_QUEUE_USER)) == NULL)
			fatalx("user %s does not exist (make deps creates it)",
			    SMTPD_QUEUE_USER);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (mkdir_owned(SMTPD_EMPTY_DIR, 0755, 0, 0) == -1)
			fatal("%s", SMTPD_EMPTY_DIR);
	}
	if (mkdir_owned(env->queue_dir, 0700, uid, gid) == -1)
		fatal("queue directory %s", env->queue_dir);
	offline_prepare();
}

/*
 * The listening sockets of c to the smtp process, each with its index;
 * at start, and at a reload for the new generation.
 */
void
parent_send_sockets(struct smtpd_config *c)
{
	struct listener	*l;
	int		 fd;

	TAILQ_FOREACH(l, &c->listeners, entry) {
		if ((fd = dup(l->fd)) == -1)
			fatal("dup");
		msg_listener_write(l->index, fd);
	}
	msg_listeners_done_write();
}

/* The kinds of configuration files a role gets. */
int
parent_role_files(enum smtp_proc p)
{
	size_t	 r;

	for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
		if (roles[r].proc == p)
			return roles[r].files;
	fatalx("no role %d", p);
}

/* The tables a relay action names reach the mta too. */
void
parent_mark_relay_tables(struct smtpd_config *c, struct conffiles *cf)
{
	struct action	*a;
	struct table	*t;

	TAILQ_FOREACH(a, &c->actions, entry) {
		if (a->type != ACTION_RELAY)
			continue;
		if ((t = table_find(&c->tables, a->relay.auth_table)) != NULL &&
		    t->backend == TABLE_FILE)
			conffiles_mark(cf, t->path, CONFFILE_RELAY);
		if ((t = table_find(&c->tables, a->relay.domain_table)) !=
		    NULL && t->backend == TABLE_FILE)
			conffiles_mark(cf, t->path, CONFFILE_RELAY);
	}
}

/*
 * Every process may open as many files as the hard limit allows: raise
 * the soft limit before the children are started, so they inherit it,
 * and lower max-sessions to what the listener's descriptors can hold.
 * With noaction, only say what would be done.
 */
void
parent_fd_limit(struct smtpd_config *c, int noaction)
{
	struct rlimit	 rl;
	size_t		 fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	if (!noaction && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("setrlimit");
	}
	fit = config_fd_sessions(rl.rlim_max);
	if (c->max_sessions <= fit)
		return;
	if (noaction)
		fprintf(stderr, "max-sessions %zu is more than %llu open files "
		    "allow: %zu will be used\n", c->max_sessions,
		    (unsigned long long)rl.rlim_max, fit);
	else
		log_warnx("smtp-in max-sessions=%zu lowered=%zu "
		    "open-files=%llu", c->max_sessions, fit,
		    (unsigned long long)rl.rlim_max);
}

static int
run_child(const char *role, const char *conffile)
{
	struct conffiles	*files;
	size_t			 r;

	for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
		if (strcmp(roles[r].flag, role) == 0)
			break;
	if (r == sizeof(roles) / sizeof(roles[0]))
		fatalx("unknown role %s", role);
	log_procinit(roles[r].flag);
	/*
	 * The parent's copy of the files, the very bytes it checked: they
	 * parse as they did there, and the role opens no file for them.
	 */
	if ((files = conffiles_from_fd(CONFFILE_FD)) == NULL)
		fatalx("%s: no configuration from the parent", roles[r].flag);
	close(CONFFILE_FD);
	conffiles_serve(files);
	if ((env = parse_config(conffile, roles[r].parse)) == NULL)
		fatalx("%s: the parent's configuration does not parse",
		    roles[r].flag);
	env->generation = files->generation;
	setproctitle("%s", roles[r].flag);
	{
		char	 comm[16];

		snprintf(comm, sizeof(comm), "smtpd-%s", roles[r].flag);
		prctl(PR_SET_NAME, comm);
	}
	roles[r].main();
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*conffile = SMTPD_CONFIG, *role = NULL;
	int		 ch, debug = 0, noaction = 0, verbose = 0;
	struct listener	*l;
	int		 ctlfd;
	gid_t		 ctlgid = (gid_t)-1;
	struct msg_ctl_socket ctlsock;

	setproctitle_init(argc, argv, environ);
	log_init(1, LOG_MAIL);
	smtpd_privileged = geteuid() == 0;

	while ((ch = getopt(argc, argv, "dD:f:nT:vX:")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (macro_define(optarg) == -1)
				fatalx("could not parse macro definition %s",
				    optarg);
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'T':
			if (strcmp(optarg, "sandbox") != 0)
				fatalx("unknown trace option %s", optarg);
			/* Name the forbidden call before dying. */
			sandbox_debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'X':
			role = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_setverbose(verbose);

	if (role != NULL) {
		/*
		 * Only the channels at PROC_FD_BASE + peer and the files
		 * at CONFFILE_FD come from the parent; then a daemon's
		 * child opens its own log.
		 */
		closefrom(CONFFILE_FD + 1);
		if (!debug)
			log_init(0, LOG_MAIL);
		return run_child(role, conffile);
	}

	parent_files = conffiles_new(1);
	conffiles_record(parent_files);
	env = parse_config(conffile, PARSE_TABLES | PARSE_PKI);
	conffiles_record(NULL);
	if (env == NULL)
		exit(1);
	env->generation = parent_files->generation;
	parent_mark_relay_tables(env, parent_files);
	/* A reload reads it again after the daemon has left its cwd. */
	if ((parent_conffile = realpath(conffile, NULL)) == NULL)
		fatal("realpath");
	parent_fd_limit(env, noaction);
	if (noaction) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	signal(SIGPIPE, SIG_IGN);
	parent_prepare_dirs();
	TAILQ_FOREACH(l, &env->listeners, entry)
		if (listener_bind(l) == -1) {
			if (l->flags & LISTEN_LOCAL)
				fatal("cannot listen on socket %s", l->addr);
			fatal("cannot listen on %s port %d", l->addr, l->port);
		}
	if (env->control_group[0] != '\0') {
		struct group	*gr;

		if ((gr = getgrnam(env->control_group)) == NULL)
			fatalx("control socket group %s: no such group",
			    env->control_group);
		ctlgid = gr->gr_gid;
	}
	ctlfd = control_socket_create(env->control_socket,
	    smtpd_privileged ? 0 : geteuid(), ctlgid);

	if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, LOG_MAIL);
	}
	log_procinit("parent");
	setproctitle("parent");

	event_init();
	signal_set(&ev_sigterm, SIGTERM, parent_signal, NULL);
	signal_set(&ev_sigint, SIGINT, parent_signal, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_signal, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_signal, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigchld, NULL);
	signal_add(&ev_sighup, NULL);

	parent_start_children(argc, argv, conffile, debug);
	conffiles_free(parent_files);
	parent_files = NULL;
	parent_send_sockets(env);
	ctlsock.owner = smtpd_privileged ? 0 : geteuid();
	ctlsock.group = (uint32_t)ctlgid;
	proc_close(PROC_CONTROL, msg_ctl_socket_write(ctlfd, &ctlsock));
	/* The parent keeps the sockets: a reload passes them on again. */
	reload_init(parent_conffile);

	log_info("smtpd starting: queue=%s control=%s", env->queue_dir,
	    env->control_socket);
	offline_start();
	event_dispatch();
	fatalx("event loop ended");
}
