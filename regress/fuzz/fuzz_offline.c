/*
 * libFuzzer target: the envelope of an offline file (smtpd/enqueue.c),
 * which any user of the submission group may write and the daemon's
 * runner reads as that user.  A file accepted must name the reader's
 * uid, a sender and at least one recipient, with nothing in them that
 * could break a command line of the dialogue it becomes.  Anything
 * else is EX_DATAERR, or EX_NOPERM for another uid.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd/enqueue.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* The input as a file, at its start. */
static int
as_file(const uint8_t *data, size_t size)
{
	int	 fd;

	if ((fd = memfd_create("offline", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (lseek(fd, 0, SEEK_SET) == -1)
		abort();
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enqueue	 e;
	size_t		 i;
	int		 rc;

	memset(&e, 0, sizeof(e));
	rc = enqueue_offline_read(as_file(data, size), &e);
	if (rc == EX_OK) {
		if (e.nrcpts == 0 || !clean(e.sender) || !clean(e.ret) ||
		    !clean(e.envid) || !clean(e.notify))
			abort();
		for (i = 0; i < e.nrcpts; i++)
			if (e.rcpts[i][0] == '\0' || !clean(e.rcpts[i]) ||
			    strlen(e.rcpts[i]) >= ENVELOPE_ADDRMAX)
				abort();
	} else if (rc != EX_DATAERR && rc != EX_NOPERM)
		abort();
	enqueue_clear(&e);
	return 0;
}
