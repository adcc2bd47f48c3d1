/*
 * The sandbox each process enters once it is set up.  Landlock limits
 * which file system paths it may still open; a seccomp-bpf allowlist,
 * built from pledge-like promise words, limits which system calls it may
 * make at all.  Anything else kills the process, so a bug in the code
 * that runs afterwards cannot widen what the process may do.
 *
 * What it trusts: the kernel, libseccomp to compile the filter, and the
 * caller to ask for the least it needs.  Seccomp cannot look behind
 * pointers, so paths are Landlock's job and the promise words only
 * look at plain integer arguments (open flags, socket domains, ioctl
 * requests).
 *
 * The words, all listed in sandbox_rules[] below:
 *	stdio	an event loop on descriptors it already holds: I/O, memory,
 *		signals, time, identity, epoll/poll, pipes and splice,
 *		socketpair(AF_UNIX),
 *		send/recv on sockets, fsync, ioctl FIONREAD and TCGETS
 *	rpath	open read-only, stat, access, readlink, getdents, chdir
 *	wpath	open existing files for writing, fsync, syncfs
 *	cpath	open with any flags, create, rename, link and remove entries
 *	fattr	change modes, owners and times
 *	accept	accept connections on listening sockets it already holds
 *	inet	TCP/UDP sockets: socket(AF_INET/AF_INET6), connect, bind,
 *		listen, accept
 *	dns	what a resolver needs: socket(AF_INET/AF_INET6), connect,
 *		bind; without inet, Landlock (ABI 4 and later) lets TCP
 *		connect only to port 53, the resolver's, and bind only to
 *		an ephemeral port.  Seccomp cannot read the address behind
 *		connect's or sendto's pointer, and Landlock has no rules
 *		for UDP, so UDP may still reach any port.
 *	unix	socket(AF_UNIX) and connect
 *	getpw	what getpwnam(3) needs beyond rpath: the nscd probe and
 *		systemd's userdb (socket(AF_UNIX), connect, and prctl
 *		PR_CAPBSET_READ)
 *	sendfd, recvfd
 *		nothing: sendmsg and recvmsg are in stdio, and seccomp cannot
 *		look inside a msghdr to tell descriptors from data
 *
 * A delivery agent that runs a command gets sandbox_command() instead:
 * the command may run anything the user may, so its filter lists what
 * it may not do rather than what it may.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* Landlock rights newer than the oldest headers we build with. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP	(1ULL << 1)
#endif

/*
 * A TCP port rule (ABI 4), as the kernel defines it; old headers lack
 * both the rule type and its attribute.
 */
#define SANDBOX_RULE_NET_PORT	2
struct sandbox_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};

/* The resolver's port: DNS over TCP, for answers too long for UDP. */
#define SANDBOX_DNS_PORT	53

/* What Landlock lets a process do with TCP. */
enum sandbox_net {
	NET_OPEN,	/* not handled: anything (inet) */
	NET_NONE,	/* no bind, no connect */
	NET_DNS,	/* connect to port 53 only, bind to port 0 only */
};

/* Every file system right of ABI 1, EXECUTE through MAKE_SYM. */
#define LL_FS_ABI1	((1ULL << 13) - 1)

/* The rights that mean something on a file rather than a directory. */
#define LL_FS_FILE	(LANDLOCK_ACCESS_FS_EXECUTE | \
			 LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_TRUNCATE)

/*
 * The ruleset attribute as of ABI 4.  Old headers lack the net field,
 * and old kernels reject a larger structure, so the size passed depends
 * on the ABI.
 */
struct sandbox_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
};

enum sandbox_test {
	T_ANY,		/* any arguments */
	T_MASKED,	/* (argument & mask) == value */
	T_ERRNO,	/* fail with errno value instead of killing */
	T_NONE		/* the word is valid but adds nothing */
};

struct sandbox_rule {
	const char		*word;
	int			 sys;
	enum sandbox_test	 test;
	unsigned int		 arg;
	uint64_t		 mask;
	uint64_t		 value;
};

#define ANY(w, s)		{ w, SCMP_SYS(s), T_ANY, 0, 0, 0 }
#define MASKED(w, s, a, m, v)	{ w, SCMP_SYS(s), T_MASKED, a, m, v }
#define FAIL(w, s, e)		{ w, SCMP_SYS(s), T_ERRNO, 0, 0, e }
#define NOTHING(w)		{ w, 0, T_NONE, 0, 0, 0 }
/*
 * An int argument equal to v.  Only the low 32 bits are compared since
 * the kernel ignores the upper half of an int.
 */
#define EQ(w, s, a, v)		MASKED(w, s, a, 0xffffffffULL, v)

/* Open flags that make an open more than a read. */
#define O_NOTREAD	(O_ACCMODE | O_CREAT | O_TRUNC)
/* Open flags that make an open more than writing an existing file. */
#define O_NOTWRITE	(O_ACCMODE | O_CREAT | O_TMPFILE)

/* Internal words, chosen by sandbox_seccomp() rather than the caller. */
#define W_DEBUG		"(debug)"
#define W_SANITIZE	"(sanitize)"

/*
 * The whole allowlist.  A system call named by several selected words
 * is allowed if any of their rules allows it.
 */
static const struct sandbox_rule sandbox_rules[] = {
	ANY("stdio", read),
	ANY("stdio", write),
	ANY("stdio", readv),
	ANY("stdio", writev),
	ANY("stdio", pread64),
	ANY("stdio", pwrite64),
	ANY("stdio", close),
	ANY("stdio", lseek),
	ANY("stdio", fstat),
	/*
	 * glibc's fstat(3) is newfstatat(fd, "", sb, AT_EMPTY_PATH).  The
	 * flag does not stop a non-empty path from being looked up, so
	 * this leaks metadata (never contents) of paths it can see.
	 */
	MASKED("stdio", newfstatat, 3, AT_EMPTY_PATH, AT_EMPTY_PATH),
	ANY("stdio", brk),
	ANY("stdio", mmap),
	ANY("stdio", munmap),
	ANY("stdio", mremap),
	ANY("stdio", mprotect),
	ANY("stdio", madvise),
	ANY("stdio", rt_sigaction),
	ANY("stdio", rt_sigprocmask),
	ANY("stdio", rt_sigreturn),
	ANY("stdio", sigaltstack),
	ANY("stdio", clock_gettime),
	ANY("stdio", clock_getres),
	ANY("stdio", gettimeofday),
	ANY("stdio", time),
	ANY("stdio", nanosleep),
	ANY("stdio", clock_nanosleep),
	ANY("stdio", getpid),
	ANY("stdio", gettid),
	ANY("stdio", getppid),
	ANY("stdio", getuid),
	ANY("stdio", geteuid),
	ANY("stdio", getgid),
	ANY("stdio", getegid),
	ANY("stdio", getresuid),
	ANY("stdio", getresgid),
	ANY("stdio", exit),
	ANY("stdio", exit_group),
	ANY("stdio", epoll_create1),
	ANY("stdio", epoll_ctl),
	ANY("stdio", epoll_wait),
	ANY("stdio", epoll_pwait),
	ANY("stdio", epoll_pwait2),
	ANY("stdio", poll),
	ANY("stdio", ppoll),
	ANY("stdio", select),
	ANY("stdio", pselect6),
	ANY("stdio", fcntl),
	ANY("stdio", dup),
	ANY("stdio", dup2),
	ANY("stdio", dup3),
	ANY("stdio", pipe2),
	ANY("stdio", splice),		/* between descriptors it holds */
	ANY("stdio", getrandom),
	ANY("stdio", futex),
	ANY("stdio", sendmsg),
	ANY("stdio", recvmsg),
	ANY("stdio", sendto),
	ANY("stdio", recvfrom),
	ANY("stdio", shutdown),
	ANY("stdio", getsockopt),
	ANY("stdio", setsockopt),
	ANY("stdio", getsockname),
	ANY("stdio", getpeername),
	EQ("stdio", socketpair, 0, AF_UNIX),
	ANY("stdio", sched_yield),
	/* Its own limits only: pid 0 is the caller. */
	EQ("stdio", prlimit64, 0, 0),
	ANY("stdio", getrlimit),
	ANY("stdio", uname),
	ANY("stdio", umask),
	ANY("stdio", restart_syscall),
	ANY("stdio", rseq),
	ANY("stdio", set_robust_list),
	ANY("stdio", eventfd2),
	ANY("stdio", timerfd_create),
	ANY("stdio", timerfd_settime),
	ANY("stdio", fsync),
	ANY("stdio", fdatasync),
	ANY("stdio", ftruncate),
	EQ("stdio", ioctl, 1, FIONREAD),
	EQ("stdio", ioctl, 1, TCGETS),		/* isatty(3) */

	MASKED("rpath", open, 1, O_NOTREAD, O_RDONLY),
	MASKED("rpath", openat, 2, O_NOTREAD, O_RDONLY),
	/* Its flags are behind a pointer; glibc falls back to openat. */
	FAIL("rpath", openat2, ENOSYS),
	ANY("rpath", newfstatat),
	ANY("rpath", statx),
	ANY("rpath", fstat),
	ANY("rpath", stat),
	ANY("rpath", lstat),
	ANY("rpath", access),
	ANY("rpath", faccessat),
	ANY("rpath", faccessat2),
	ANY("rpath", readlink),
	ANY("rpath", readlinkat),
	ANY("rpath", getdents64),
	ANY("rpath", getcwd),
	ANY("rpath", chdir),
	ANY("rpath", fchdir),

	/* Creating a file, even an unnamed one, takes cpath. */
	MASKED("wpath", open, 1, O_NOTWRITE, O_WRONLY),
	MASKED("wpath", open, 1, O_NOTWRITE, O_RDWR),
	MASKED("wpath", openat, 2, O_NOTWRITE, O_WRONLY),
	MASKED("wpath", openat, 2, O_NOTWRITE, O_RDWR),
	FAIL("wpath", openat2, ENOSYS),
	ANY("wpath", fsync),
	ANY("wpath", fdatasync),
	ANY("wpath", syncfs),
	ANY("wpath", ftruncate),

	ANY("cpath", open),
	ANY("cpath", openat),
	FAIL("cpath", openat2, ENOSYS),
	ANY("cpath", mkdir),
	ANY("cpath", mkdirat),
	ANY("cpath", rename),
	ANY("cpath", renameat),
	ANY("cpath", renameat2),
	ANY("cpath", unlink),
	ANY("cpath", unlinkat),
	ANY("cpath", rmdir),
	ANY("cpath", link),
	ANY("cpath", linkat),

	ANY("fattr", fchmod),
	ANY("fattr", fchmodat),
	ANY("fattr", chmod),
	ANY("fattr", fchown),
	ANY("fattr", fchownat),
	ANY("fattr", utimensat),

	ANY("accept", accept),
	ANY("accept", accept4),
	ANY("accept", listen),

	EQ("inet", socket, 0, AF_INET),
	EQ("inet", socket, 0, AF_INET6),
	ANY("inet", connect),
	ANY("inet", bind),
	ANY("inet", accept),
	ANY("inet", accept4),
	ANY("inet", listen),

	EQ("dns", socket, 0, AF_INET),
	EQ("dns", socket, 0, AF_INET6),
	ANY("dns", connect),
	ANY("dns", bind),		/* c-ares may bind to port 0 */
	ANY("dns", sendmmsg),		/* glibc's resolver, A and AAAA */

	EQ("unix", socket, 0, AF_UNIX),
	ANY("unix", connect),

	EQ("getpw", socket, 0, AF_UNIX),	/* is nscd there? */
	ANY("getpw", connect),
	/* libnss_systemd reads the capability bounding set. */
	EQ("getpw", prctl, 0, PR_CAPBSET_READ),

	NOTHING("sendfd"),
	NOTHING("recvfd"),

	/* What the SIGSYS handler of sandbox_debug does. */
	ANY(W_DEBUG, write),
	ANY(W_DEBUG, exit_group),

#ifdef SANITIZE
	/*
	 * An ASan/UBSan report first looks for the program and its maps
	 * in /proc.  Refused, it still prints a whole stack of addresses;
	 * killed, it would print one line.  So where the promises allow no
	 * open at all, opens fail instead of killing: Landlock refuses
	 * those paths anyway.  Everything else it needs is in stdio.
	 */
	FAIL(W_SANITIZE, open, EACCES),
	FAIL(W_SANITIZE, openat, EACCES),
	FAIL(W_SANITIZE, readlink, EACCES),
	FAIL(W_SANITIZE, readlinkat, EACCES),
#endif
};

#define NRULES	(sizeof(sandbox_rules) / sizeof(sandbox_rules[0]))

/*
 * Names for the SIGSYS handler, looked up before the filter is loaded:
 * libseccomp's lookup allocates, which a signal handler must not do.
 */
#define NAMES_MAX	1024
static char	*sandbox_names[NAMES_MAX];

int		 sandbox_debug;

static int	 sandbox_word_is(const char *, size_t, const char *);
static int	 sandbox_has(const char *, const char *);
static void	 sandbox_check(const char *);
static int	 sandbox_selected(const struct sandbox_rule *, const char *);
static int	 sandbox_redundant(const char *, size_t);
static int	 sandbox_add(scmp_filter_ctx, const struct sandbox_rule *);
static void	 sandbox_names_init(void);
static size_t	 sandbox_append(char *, size_t, size_t, const char *);
static void	 sandbox_sigsys(int, siginfo_t *, void *);
static scmp_filter_ctx	 sandbox_build(const char *);
static void	 sandbox_trap_init(void);
static uint64_t	 sandbox_fs_rights(int);
static uint64_t	 sandbox_rights(int, uint64_t, int);
static int	 sandbox_allow_path(int, const struct sandbox_path *, uint64_t);
static int	 sandbox_allow_dns(int);
static int	 sandbox_restrict(const struct sandbox_path *,
		    enum sandbox_net);

void
sandbox(const char *promises, const struct sandbox_path *paths)
{
	static int	 warned;
	enum sandbox_net net;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: prctl(PR_SET_NO_NEW_PRIVS)");

	/*
	 * A process that may reach the network (inet) is left to its
	 * seccomp filter; one that only resolves names (dns) may reach
	 * the resolver's TCP port; any other none at all.
	 */
	if (sandbox_has(promises, "inet"))
		net = NET_OPEN;
	else if (sandbox_has(promises, "dns"))
		net = NET_DNS;
	else
		net = NET_NONE;
	if (paths != NULL && sandbox_restrict(paths, net) == -1) {
		if (errno != ENOSYS && errno != EOPNOTSUPP)
			fatalx("sandbox: cannot restrict file system access");
		if (!warned)
			log_warnx("sandbox: no Landlock in this kernel, "
			    "file system access is not restricted");
		warned = 1;
	}

	if (sandbox_seccomp(promises) == -1)
		fatalx("sandbox: cannot load the system call filter");
}

/*
 * What no mail command needs, and what would let one reach beyond its
 * user: other processes' memory, the kernel's modules, keys, mounts and
 * namespaces (a new user namespace opens much of the kernel to it),
 * BPF and perf.  They fail with EPERM rather than kill, since a command
 * may probe for them.  clone3 fails with ENOSYS so that the C library
 * falls back to clone, whose flags can be checked.
 */
static const int sandbox_command_denied[] = {
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(kcmp), SCMP_SYS(pidfd_getfd),
	SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
	SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load), SCMP_SYS(reboot), SCMP_SYS(swapon),
	SCMP_SYS(swapoff), SCMP_SYS(acct), SCMP_SYS(quotactl),
	SCMP_SYS(syslog), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(mount), SCMP_SYS(umount2),
	SCMP_SYS(pivot_root), SCMP_SYS(fsopen), SCMP_SYS(fsmount),
	SCMP_SYS(fsconfig), SCMP_SYS(move_mount), SCMP_SYS(open_tree),
	SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(io_uring_setup),
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
};

static scmp_filter_ctx
sandbox_command_build(void)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return NULL;
	for (i = 0; rc == 0 && i < sizeof(sandbox_command_denied) /
	    sizeof(sandbox_command_denied[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    sandbox_command_denied[i], 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_NEWUSER, CLONE_NEWUSER));
	if (rc != 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int
sandbox_command(void)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    (ctx = sandbox_command_build()) == NULL)
		return -1;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}

/*
 * A filter compiled once and applied in processes forked afterwards:
 * a delivery agent only hands the kernel the program, without building
 * it again.  promises NULL is the filter of sandbox_command().
 */
struct sandbox_filter *
sandbox_filter_compile(const char *promises)
{
	struct sandbox_filter	*f;
	scmp_filter_ctx		 ctx;
	struct stat		 sb;
	int			 fd = -1;

	ctx = promises != NULL ? sandbox_build(promises) :
	    sandbox_command_build();
	if (ctx == NULL)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (fd = memfd_create("seccomp", MFD_CLOEXEC)) == -1 ||
	    seccomp_export_bpf(ctx, fd) < 0 || fstat(fd, &sb) == -1 ||
	    sb.st_size == 0 || sb.st_size % sizeof(struct sock_filter) != 0 ||
	    sb.st_size / sizeof(struct sock_filter) > USHRT_MAX ||
	    (f->prog.filter = malloc(sb.st_size)) == NULL ||
	    pread(fd, f->prog.filter, sb.st_size, 0) != sb.st_size) {
		if (fd != -1)
			close(fd);
		if (f != NULL)
			free(f->prog.filter);
		free(f);
		seccomp_release(ctx);
		return NULL;
	}
	close(fd);
	seccomp_release(ctx);
	f->prog.len = sb.st_size / sizeof(struct sock_filter);
	return f;
}

int
sandbox_filter_apply(const struct sandbox_filter *f)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &f->prog);
}

int
sandbox_landlock(const struct sandbox_path *paths)
{
	return sandbox_restrict(paths, NET_OPEN);
}

/* The allowlist of the promises, not loaded yet; NULL on failure. */
static scmp_filter_ctx
sandbox_build(const char *promises)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 rc;

	sandbox_check(promises);
	ctx = seccomp_init(sandbox_debug ? SCMP_ACT_TRAP :
	    SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		log_warnx("sandbox: seccomp_init failed");
		return NULL;
	}
	for (i = 0; i < NRULES; i++) {
		if (!sandbox_selected(&sandbox_rules[i], promises) ||
		    sandbox_redundant(promises, i))
			continue;
		if ((rc = sandbox_add(ctx, &sandbox_rules[i])) < 0) {
			log_warnx("sandbox: %s: cannot add a rule for system "
			    "call %d: %s", sandbox_rules[i].word,
			    sandbox_rules[i].sys, strerror(-rc));
			seccomp_release(ctx);
			return NULL;
		}
	}
	return ctx;
}

int
sandbox_seccomp(const char *promises)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	if (sandbox_debug)
		sandbox_trap_init();
	if ((ctx = sandbox_build(promises)) == NULL)
		return -1;
	if ((rc = seccomp_load(ctx)) < 0) {
		log_warnx("sandbox: seccomp_load: %s", strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

/* Whether the word of length len at w is word. */
static int
sandbox_word_is(const char *w, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(w, word, len) == 0;
}

static int
sandbox_has(const char *promises, const char *word)
{
	const char	*p = promises;
	size_t		 len;

	for (;;) {
		p += strspn(p, " ");
		if (*p == '\0')
			return 0;
		len = strcspn(p, " ");
		if (sandbox_word_is(p, len, word))
			return 1;
		p += len;
	}
}

/* A word nobody defined is a typo that would silently drop a right. */
static void
sandbox_check(const char *promises)
{
	const char	*p = promises;
	size_t		 i, len;

	for (;;) {
		p += strspn(p, " ");
		if (*p == '\0')
			return;
		len = strcspn(p, " ");
		for (i = 0; i < NRULES; i++)
			if (sandbox_rules[i].word[0] != '(' &&
			    sandbox_word_is(p, len, sandbox_rules[i].word))
				break;
		if (i == NRULES)
			fatalx("sandbox: unknown promise %.*s", (int)len, p);
		p += len;
	}
}

static int
sandbox_selected(const struct sandbox_rule *r, const char *promises)
{
	if (r->test == T_NONE)
		return 0;
	if (strcmp(r->word, W_DEBUG) == 0)
		return sandbox_debug;
	if (strcmp(r->word, W_SANITIZE) == 0)
		return 1;
	return sandbox_has(promises, r->word);
}

/*
 * Whether rule i adds nothing to the other selected rules: an earlier
 * identical one, an unconditional allow for the same system call, or,
 * for a rule that fails the call, any allow for it or an earlier
 * failure.  libseccomp versions differ on such overlaps (an
 * unconditional rule may silently replace conditional ones with its
 * action), so they never reach it.
 */
static int
sandbox_redundant(const char *promises, size_t i)
{
	const struct sandbox_rule	*ri = &sandbox_rules[i], *rj;
	size_t				 j;

	for (j = 0; j < NRULES; j++) {
		rj = &sandbox_rules[j];
		if (j == i || rj->sys != ri->sys ||
		    !sandbox_selected(rj, promises))
			continue;
		if (ri->test == T_ERRNO && (rj->test != T_ERRNO || j < i))
			return 1;
		if (ri->test == T_MASKED && rj->test == T_ANY)
			return 1;
		if (j < i && rj->test == ri->test && rj->arg == ri->arg &&
		    rj->mask == ri->mask && rj->value == ri->value)
			return 1;
	}
	return 0;
}

/*
 * libseccomp ignores a system call the architecture lacks (its number
 * is negative, a pseudo-syscall), so one table serves x86_64 and arm64.
 */
static int
sandbox_add(scmp_filter_ctx ctx, const struct sandbox_rule *r)
{
	switch (r->test) {
	case T_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->sys, 0);
	case T_MASKED:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->sys, 1,
		    SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value));
	case T_ERRNO:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->value), r->sys,
		    0);
	case T_NONE:
		break;
	}
	return 0;
}

static void
sandbox_names_init(void)
{
	int	 nr;

	for (nr = 0; nr < NAMES_MAX; nr++)
		if (sandbox_names[nr] == NULL)
			sandbox_names[nr] = seccomp_syscall_resolve_num_arch(
			    SCMP_ARCH_NATIVE, nr);
}

/* strlcpy at an offset, for the signal handler. */
static size_t
sandbox_append(char *buf, size_t off, size_t size, const char *s)
{
	while (*s != '\0' && off < size - 1)
		buf[off++] = *s++;
	buf[off] = '\0';
	return off;
}

/* Only async-signal-safe calls, which the filter allows in debug mode. */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char		 line[128], num[16], *p;
	const char	*name = "unknown";
	unsigned int	 nr = (unsigned int)si->si_syscall;
	size_t		 n;

	if (nr < NAMES_MAX && sandbox_names[nr] != NULL)
		name = sandbox_names[nr];
	p = num + sizeof(num);
	*--p = '\0';
	do {
		*--p = '0' + nr % 10;
		nr /= 10;
	} while (nr != 0);

	n = sandbox_append(line, 0, sizeof(line),
	    "sandbox: forbidden system call ");
	n = sandbox_append(line, n, sizeof(line), name);
	n = sandbox_append(line, n, sizeof(line), " (");
	n = sandbox_append(line, n, sizeof(line), p);
	n = sandbox_append(line, n, sizeof(line), ")\n");
	(void)write(STDERR_FILENO, line, n);
	_exit(1);
}

static void
sandbox_trap_init(void)
{
	struct sigaction	 sa;
	sigset_t		 set;

	sandbox_names_init();

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sandbox: sigaction(SIGSYS)");

	/* A blocked SIGSYS would kill silently instead. */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) == -1)
		fatal("sandbox: sigprocmask");
}

/* Every file system right this ABI knows, so that all are denied. */
static uint64_t
sandbox_fs_rights(int abi)
{
	uint64_t	 rights = LL_FS_ABI1;

	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return rights;
}

/* The Landlock rights for SANDBOX_* bits on a directory or file. */
static uint64_t
sandbox_rights(int access, uint64_t handled, int isdir)
{
	uint64_t	 rights = 0;

	if (access & SANDBOX_READ)
		rights |= LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR;
	if (access & SANDBOX_WRITE)
		rights |= LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_TRUNCATE;
	if (access & SANDBOX_CREATE)
		rights |= LANDLOCK_ACCESS_FS_MAKE_REG |
		    LANDLOCK_ACCESS_FS_MAKE_DIR |
		    LANDLOCK_ACCESS_FS_REMOVE_FILE |
		    LANDLOCK_ACCESS_FS_REMOVE_DIR |
		    LANDLOCK_ACCESS_FS_REFER;
	rights &= handled;
	if (!isdir)
		rights &= LL_FS_FILE;
	return rights;
}

static int
sandbox_allow_path(int ruleset, const struct sandbox_path *sp,
    uint64_t handled)
{
	struct landlock_path_beneath_attr	 attr;
	struct stat				 sb;
	int					 fd, saved;

	if (sp->access & ~(SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE)) {
		log_warnx("sandbox: %s: unknown access 0x%x", sp->path,
		    sp->access);
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(sp->path, O_PATH | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		log_warn("sandbox: %s", sp->path);
		goto fail;
	}

	memset(&attr, 0, sizeof(attr));
	attr.parent_fd = fd;
	attr.allowed_access = sandbox_rights(sp->access, handled,
	    S_ISDIR(sb.st_mode));
	/* No right on it: leaving it out denies it just the same. */
	if (attr.allowed_access != 0 &&
	    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &attr, 0) == -1) {
		log_warn("sandbox: landlock_add_rule %s", sp->path);
		goto fail;
	}
	close(fd);
	return 0;

 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

/* TCP connect to the resolver's port, and bind to an ephemeral one. */
static int
sandbox_allow_dns(int ruleset)
{
	struct sandbox_net_port_attr	 attr;

	memset(&attr, 0, sizeof(attr));
	attr.allowed_access = LANDLOCK_ACCESS_NET_CONNECT_TCP;
	attr.port = SANDBOX_DNS_PORT;
	if (syscall(SYS_landlock_add_rule, ruleset, SANDBOX_RULE_NET_PORT,
	    &attr, 0) == -1) {
		log_warn("sandbox: landlock_add_rule tcp port %d",
		    SANDBOX_DNS_PORT);
		return -1;
	}
	attr.allowed_access = LANDLOCK_ACCESS_NET_BIND_TCP;
	attr.port = 0;
	if (syscall(SYS_landlock_add_rule, ruleset, SANDBOX_RULE_NET_PORT,
	    &attr, 0) == -1) {
		log_warn("sandbox: landlock_add_rule tcp port 0");
		return -1;
	}
	return 0;
}

/*
 * Deny every file system right but those paths grants, and TCP bind
 * and connect as net says, where the kernel's Landlock has TCP rules
 * (ABI 4).  Returns -1 with errno ENOSYS or EOPNOTSUPP, and nothing
 * logged, if the kernel has no Landlock.
 */
static int
sandbox_restrict(const struct sandbox_path *paths, enum sandbox_net net)
{
	struct sandbox_ruleset_attr	 attr;
	const struct sandbox_path	*sp;
	size_t				 size;
	long				 abi;
	int				 ruleset, saved;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi == -1)
		return -1;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = sandbox_fs_rights(abi);
	size = offsetof(struct sandbox_ruleset_attr, handled_access_net);
	if (abi >= 4) {
		size = sizeof(attr);
		if (net != NET_OPEN)
			attr.handled_access_net =
			    LANDLOCK_ACCESS_NET_BIND_TCP |
			    LANDLOCK_ACCESS_NET_CONNECT_TCP;
	}
	ruleset = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset == -1) {
		log_warn("sandbox: landlock_create_ruleset");
		return -1;
	}

	for (sp = paths; sp->path != NULL; sp++)
		if (sandbox_allow_path(ruleset, sp,
		    attr.handled_access_fs) == -1)
			goto fail;
	if (abi >= 4 && net == NET_DNS && sandbox_allow_dns(ruleset) == -1)
		goto fail;
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) == -1) {
		log_warn("sandbox: landlock_restrict_self");
		goto fail;
	}
	close(ruleset);
	return 0;

 fail:
	saved = errno;
	close(ruleset);
	errno = saved;
	return -1;
}
