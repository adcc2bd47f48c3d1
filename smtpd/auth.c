/*
 * The auth process: checks a user name and password against a
 * credentials table, and nothing else.  It never sees the network.
 * Until a listener offers AUTH it only waits.
 */
#include <sys/types.h>

#include <event.h>
#include <stdlib.h>

#include "smtpd.h"

static void
auth_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	proc_bad_imsg(PROC_AUTH, from, imsg);
}

void
auth_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };

	event_init();
	proc_peers_from_exec(PROC_AUTH, auth_dispatch);
	proc_signals();
	proc_drop_privileges(SMTPD_USER, NULL);
	sandbox(PROMISES_AUTH, nopaths);
	event_dispatch();
	fatalx("auth: event loop ended");
}
