/*
 * The processes and the messages between them (proc.c), part of the
 * runtime: it knows the roles by number and imsg, and nothing of the
 * configuration, the queue or the tables.
 */
#ifndef PROC_H
#define PROC_H

#include <stddef.h>
#include <stdint.h>

#include "imsg.h"

/*
 * The processes.  A child's socket to peer P is at descriptor
 * PROC_FD_BASE + P when it is exec'd.
 */
enum smtp_proc {
	PROC_PARENT,
	PROC_SMTP,
	PROC_LOOKUP,
	PROC_AUTH,
	PROC_QUEUE,
	PROC_MTA,
	PROC_CONTROL,
	PROC_COUNT
};
#define PROC_FD_BASE	3
/* Where a child finds the configuration's files when it is exec'd. */
#define CONFFILE_FD	(PROC_FD_BASE + PROC_COUNT)

/* Whether smtpd started as root, and so drops privileges. */
extern int	 smtpd_privileged;

typedef void (*proc_dispatch_fn)(enum smtp_proc, struct imsg *);
const char	*proc_name(enum smtp_proc);
int		 proc_talks(enum smtp_proc, enum smtp_proc);
void		 proc_peer_setup(enum smtp_proc, int, proc_dispatch_fn);
void		 proc_peers_from_exec(enum smtp_proc, proc_dispatch_fn);
void		 proc_compose(enum smtp_proc, uint32_t, uint32_t, int,
		    const void *, size_t);
struct ibuf	*proc_create(uint32_t, uint32_t, int);
void		 proc_close(enum smtp_proc, struct ibuf *);
void		 proc_drop_privileges(const char *, const char *);
void		 proc_bad_imsg(enum smtp_proc, enum smtp_proc, struct imsg *);
void		 proc_check(enum smtp_proc, struct imsg *);
int		 proc_refuse(enum smtp_proc, struct imsg *, const char *);
int		 proc_valid(enum smtp_proc, struct imsg *, int);
void		 proc_signals(void);

#endif
