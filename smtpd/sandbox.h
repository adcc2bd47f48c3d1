/*
 * The sandbox a process puts itself in once it is set up: Landlock rules
 * for the file system paths it may still touch, then a seccomp-bpf
 * allowlist built from pledge-like promise words.  Anything outside the
 * allowlist kills the process (or, with sandbox_debug set, traps and
 * logs the system call's name before dying).
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#define SANDBOX_READ	0x1	/* read files, list directories */
#define SANDBOX_WRITE	0x2	/* write existing files */
#define SANDBOX_CREATE	0x4	/* create, rename and remove entries */

struct sandbox_path {
	const char	*path;
	int		 access;
};

extern int	sandbox_debug;

/*
 * paths: NULL means no Landlock rules at all (the parent); an array
 * ending with a NULL path (possibly empty) denies every other path.
 */
void	sandbox(const char *, const struct sandbox_path *);
int	sandbox_landlock(const struct sandbox_path *);
int	sandbox_seccomp(const char *);
int	sandbox_command(void);

/* A filter built once, applied cheaply after fork (delivery agents). */
#include <linux/filter.h>
struct sandbox_filter {
	struct sock_fprog	 prog;
};
struct sandbox_filter	*sandbox_filter_compile(const char *);
int			 sandbox_filter_apply(const struct sandbox_filter *);

#endif
