/*
 * The mta process: relays mail to other hosts as an SMTP client.  It
 * may open connections but touches no file.  Until relaying is
 * configured it only waits.
 */
#include <sys/types.h>

#include <event.h>
#include <stdlib.h>

#include "smtpd.h"

static void
mta_dispatch(enum smtp_proc from, struct imsg *imsg)
{
	proc_bad_imsg(PROC_MTA, from, imsg);
}

void
mta_main(void)
{
	static const struct sandbox_path nopaths[] = { { NULL, 0 } };

	event_init();
	proc_peers_from_exec(PROC_MTA, mta_dispatch);
	proc_signals();
	proc_drop_privileges(SMTPD_USER, SMTPD_EMPTY_DIR);
	sandbox(PROMISES_MTA, nopaths);
	event_dispatch();
	fatalx("mta: event loop ended");
}
