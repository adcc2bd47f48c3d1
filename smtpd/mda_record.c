/*
 * The records a delivery agent sends the parent on its socket, one
 * datagram for each envelope it reports (or one that says its batch is
 * done): the agent's writer and the parent's reader side by side.  The
 * agent runs as the user and may be the user's own program speaking,
 * so the reader takes nothing on trust: a record must be exactly as
 * long as it says, and its text comes out bounded and printable.
 * Whether the envelope it names is the agent's to report is for the
 * caller (mda.c), which keeps what it handed out.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "mda.h"

/*
 * The datagram for one envelope's outcome, in buf; its length, or 0
 * when buf is too small.  The text goes only with a failure.
 */
size_t
mda_record_build(char *buf, size_t len, uint64_t evpid, int rc,
    const char *err)
{
	struct mda_record	 r;

	r.evpid = evpid;
	r.rc = rc;
	r.len = rc == EX_OK || err == NULL ? 0 :
	    strnlen(err, MDA_ERR_MAX - 1);
	if (len < sizeof(r) + r.len)
		return 0;
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), err == NULL ? "" : err, r.len);
	return sizeof(r) + r.len;
}

/* Send it: -1 when it did not go whole. */
int
mda_record_send(int sock, uint64_t evpid, int rc, const char *err)
{
	char	 buf[sizeof(struct mda_record) + MDA_ERR_MAX];
	size_t	 n;

	if ((n = mda_record_build(buf, sizeof(buf), evpid, rc, err)) == 0 ||
	    send(sock, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	return 0;
}

/*
 * Read a datagram of len bytes into r and its text into err (at least
 * MDA_ERR_MAX bytes), with every control character or NUL in it made
 * '?'.  -1 when it is not one record.
 */
int
mda_record_parse(const char *buf, size_t len, struct mda_record *r,
    char *err)
{
	uint32_t	 i;

	if (len < sizeof(*r))
		return -1;
	memcpy(r, buf, sizeof(*r));
	if (r->len >= MDA_ERR_MAX || len != sizeof(*r) + r->len)
		return -1;
	memcpy(err, buf + sizeof(*r), r->len);
	err[r->len] = '\0';
	for (i = 0; i < r->len; i++)
		if (err[i] == '\0' || iscntrl((unsigned char)err[i]))
			err[i] = '?';
	return 0;
}
