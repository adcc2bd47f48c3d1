/*
 * The reading of remote SMTP replies (smtpd/mta_reply.c): what a
 * hostile server can and cannot get through.
 */
#include <sys/types.h>

#include <atf-c.h>
#include <string.h>

#include "smtpd/mta.h"

static int
feed(struct mta_reply *r, const char *line)
{
	return mta_reply_line(r, line, strlen(line));
}

ATF_TC_WITHOUT_HEAD(single_line);
ATF_TC_BODY(single_line, tc)
{
	struct mta_reply	 r;

	mta_reply_reset(&r);
	ATF_CHECK_EQ(feed(&r, "250 2.0.0 Ok: queued"), 1);
	ATF_CHECK_EQ(r.code, 250);
	ATF_CHECK_STREQ(r.text, "250 2.0.0 Ok: queued");
}

ATF_TC_WITHOUT_HEAD(multi_line_joined);
ATF_TC_BODY(multi_line_joined, tc)
{
	struct mta_reply	 r;

	mta_reply_reset(&r);
	ATF_CHECK_EQ(feed(&r, "550-5.1.1 no such"), 0);
	ATF_CHECK_EQ(feed(&r, "550 5.1.1 user here"), 1);
	ATF_CHECK_STREQ(r.text, "550 5.1.1 no such 5.1.1 user here");
	ATF_CHECK_EQ(feed(&r, "250 more"), -1);
}

ATF_TC_WITHOUT_HEAD(bare_code);
ATF_TC_BODY(bare_code, tc)
{
	struct mta_reply	 r;

	mta_reply_reset(&r);
	ATF_CHECK_EQ(feed(&r, "354"), 1);
	ATF_CHECK_EQ(r.code, 354);
}

ATF_TC_WITHOUT_HEAD(malformed_refused);
ATF_TC_BODY(malformed_refused, tc)
{
	static const char *const bad[] = {
		"", "25", "abc hello", "2500 x", "150 x", "650 x", "25x y",
		"250_x",
	};
	struct mta_reply	 r;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mta_reply_reset(&r);
		ATF_CHECK_EQ_MSG(feed(&r, bad[i]), -1, "%s", bad[i]);
	}
}

ATF_TC_WITHOUT_HEAD(codes_must_agree);
ATF_TC_BODY(codes_must_agree, tc)
{
	struct mta_reply	 r;

	mta_reply_reset(&r);
	ATF_CHECK_EQ(feed(&r, "250-first"), 0);
	ATF_CHECK_EQ(feed(&r, "550 second"), -1);
}

ATF_TC_WITHOUT_HEAD(nul_and_controls);
ATF_TC_BODY(nul_and_controls, tc)
{
	struct mta_reply	 r;
	const char		 nul[] = "250 a\0b";
	size_t			 i;

	mta_reply_reset(&r);
	ATF_CHECK_EQ(mta_reply_line(&r, nul, sizeof(nul) - 1), -1);
	/* A reply can never carry a line break into an envelope field. */
	mta_reply_reset(&r);
	ATF_CHECK_EQ(feed(&r, "550 x\rrcpt evil\x1b[2J\x7f\xff"), 1);
	for (i = 0; r.text[i] != '\0'; i++)
		ATF_CHECK(r.text[i] >= 0x20 && r.text[i] < 0x7f);
	ATF_CHECK_STREQ(r.text, "550 x?rcpt evil?[2J??");
}

ATF_TC_WITHOUT_HEAD(bounded);
ATF_TC_BODY(bounded, tc)
{
	struct mta_reply	 r;
	char			 line[MTA_REPLY_LINE_MAX + 2];
	size_t			 i;

	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	mta_reply_reset(&r);
	ATF_CHECK_EQ(mta_reply_line(&r, line, MTA_REPLY_LINE_MAX + 1), -1);
	mta_reply_reset(&r);
	ATF_CHECK_EQ(mta_reply_line(&r, line, MTA_REPLY_LINE_MAX), 1);
	ATF_CHECK(strlen(r.text) < MTA_REPLY_TEXT_MAX);
	mta_reply_reset(&r);
	for (i = 0; i < MTA_REPLY_LINES_MAX; i++)
		ATF_REQUIRE_EQ(feed(&r, "220-more"), 0);
	ATF_CHECK_EQ(feed(&r, "220-more"), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, single_line);
	ATF_TP_ADD_TC(tp, multi_line_joined);
	ATF_TP_ADD_TC(tp, bare_code);
	ATF_TP_ADD_TC(tp, malformed_refused);
	ATF_TP_ADD_TC(tp, codes_must_agree);
	ATF_TP_ADD_TC(tp, nul_and_controls);
	ATF_TP_ADD_TC(tp, bounded);
	return atf_no_error();
}
