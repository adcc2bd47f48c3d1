/*
 * What a delivery agent reports to the parent (smtpd/mda_record.c):
 * the agent runs as the user, so the parent's reader must hold against
 * any datagram one could send.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <atf-c.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd/mda.h"

#define RECORD_MAX	(sizeof(struct mda_record) + MDA_ERR_MAX)

ATF_TC_WITHOUT_HEAD(failure_reads_back);
ATF_TC_BODY(failure_reads_back, tc)
{
	struct mda_record	 r;
	char			 buf[RECORD_MAX], err[MDA_ERR_MAX];
	size_t			 n;

	n = mda_record_build(buf, sizeof(buf), 0x1234abcd00000001ULL,
	    EX_TEMPFAIL, "new: No space left on device");
	ATF_REQUIRE(n > sizeof(r));
	ATF_REQUIRE_EQ(mda_record_parse(buf, n, &r, err), 0);
	ATF_CHECK_EQ(r.evpid, 0x1234abcd00000001ULL);
	ATF_CHECK_EQ(r.rc, EX_TEMPFAIL);
	ATF_CHECK_STREQ(err, "new: No space left on device");
}

ATF_TC_WITHOUT_HEAD(success_carries_no_text);
ATF_TC_BODY(success_carries_no_text, tc)
{
	struct mda_record	 r;
	char			 buf[RECORD_MAX], err[MDA_ERR_MAX];
	size_t			 n;

	n = mda_record_build(buf, sizeof(buf), 7, EX_OK, "ignored");
	ATF_CHECK_EQ(n, sizeof(r));
	ATF_REQUIRE_EQ(mda_record_parse(buf, n, &r, err), 0);
	ATF_CHECK_EQ(r.rc, EX_OK);
	ATF_CHECK_STREQ(err, "");
}

ATF_TC_WITHOUT_HEAD(long_text_is_cut);
ATF_TC_BODY(long_text_is_cut, tc)
{
	struct mda_record	 r;
	char			 buf[RECORD_MAX], err[MDA_ERR_MAX];
	char			 text[2 * MDA_ERR_MAX];
	size_t			 n;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	n = mda_record_build(buf, sizeof(buf), 7, EX_UNAVAILABLE, text);
	ATF_REQUIRE_EQ(n, RECORD_MAX - 1);
	ATF_REQUIRE_EQ(mda_record_parse(buf, n, &r, err), 0);
	ATF_CHECK_EQ(strlen(err), MDA_ERR_MAX - 1);
	/* Too small a buffer gets nothing, not a cut record. */
	ATF_CHECK_EQ(mda_record_build(buf, sizeof(r), 7, EX_UNAVAILABLE,
	    "text"), 0);
}

ATF_TC_WITHOUT_HEAD(wrong_lengths_refused);
ATF_TC_BODY(wrong_lengths_refused, tc)
{
	struct mda_record	 r;
	char			 buf[RECORD_MAX + 16], err[MDA_ERR_MAX];
	size_t			 n;

	n = mda_record_build(buf, sizeof(buf), 7, EX_TEMPFAIL, "busy");
	ATF_REQUIRE(n != 0);
	/* Shorter than its header, shorter or longer than it says. */
	ATF_CHECK_EQ(mda_record_parse(buf, sizeof(r) - 1, &r, err), -1);
	ATF_CHECK_EQ(mda_record_parse(buf, n - 1, &r, err), -1);
	ATF_CHECK_EQ(mda_record_parse(buf, n + 1, &r, err), -1);
	/* A text as long as the reader's buffer, or longer. */
	memset(&r, 0, sizeof(r));
	r.len = MDA_ERR_MAX;
	memcpy(buf, &r, sizeof(r));
	memset(buf + sizeof(r), 'x', MDA_ERR_MAX);
	ATF_CHECK_EQ(mda_record_parse(buf, sizeof(r) + MDA_ERR_MAX, &r, err),
	    -1);
	r.len = 0xffffffffU;
	memcpy(buf, &r, sizeof(r));
	ATF_CHECK_EQ(mda_record_parse(buf, sizeof(buf), &r, err), -1);
}

ATF_TC_WITHOUT_HEAD(control_characters_made_harmless);
ATF_TC_BODY(control_characters_made_harmless, tc)
{
	struct mda_record	 r;
	char			 buf[RECORD_MAX], err[MDA_ERR_MAX];
	const char		 text[] = "bad\r\nresult=delivered\0\033[1m";

	memset(&r, 0, sizeof(r));
	r.evpid = 7;
	r.rc = EX_TEMPFAIL;
	r.len = sizeof(text) - 1;
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), text, r.len);
	ATF_REQUIRE_EQ(mda_record_parse(buf, sizeof(r) + r.len, &r, err), 0);
	ATF_CHECK_STREQ(err, "bad??result=delivered??[1m");
}

ATF_TC_WITHOUT_HEAD(sent_over_a_socket);
ATF_TC_BODY(sent_over_a_socket, tc)
{
	struct mda_record	 r;
	char			 buf[RECORD_MAX], err[MDA_ERR_MAX];
	ssize_t			 n;
	int			 sp[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	ATF_REQUIRE_EQ(mda_record_send(sp[1], 42, EX_NOUSER,
	    "no such user"), 0);
	ATF_REQUIRE_EQ(mda_record_send(sp[1], 43, EX_OK, NULL), 0);
	n = recv(sp[0], buf, sizeof(buf), 0);
	ATF_REQUIRE(n > 0);
	ATF_REQUIRE_EQ(mda_record_parse(buf, n, &r, err), 0);
	ATF_CHECK_EQ(r.evpid, 42);
	ATF_CHECK_EQ(r.rc, EX_NOUSER);
	ATF_CHECK_STREQ(err, "no such user");
	n = recv(sp[0], buf, sizeof(buf), 0);
	ATF_REQUIRE_EQ(n, (ssize_t)sizeof(r));
	ATF_REQUIRE_EQ(mda_record_parse(buf, n, &r, err), 0);
	ATF_CHECK_EQ(r.evpid, 43);
	ATF_CHECK_EQ(r.rc, EX_OK);
	/* The parent gone: the agent is told, not killed by SIGPIPE. */
	close(sp[0]);
	ATF_CHECK_EQ(mda_record_send(sp[1], 44, EX_OK, NULL), -1);
	close(sp[1]);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, failure_reads_back);
	ATF_TP_ADD_TC(tp, success_carries_no_text);
	ATF_TP_ADD_TC(tp, long_text_is_cut);
	ATF_TP_ADD_TC(tp, wrong_lengths_refused);
	ATF_TP_ADD_TC(tp, control_characters_made_harmless);
	ATF_TP_ADD_TC(tp, sent_over_a_socket);
	return atf_no_error();
}
