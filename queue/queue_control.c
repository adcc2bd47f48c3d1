/*
 * smtpctl's requests to the queue process, as relayed by control.
 */
#include <sys/types.h>

#include "../smtpd/smtpd.h"
#include "queue_control.h"

int
queue_control_dispatch(struct imsg *imsg)
{
	return -1;
}
