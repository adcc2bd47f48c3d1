#! /usr/bin/env atf-sh
#
# A full disk while receiving: the client hears 452 and keeps its
# message, nothing half-written stays in the spool, and once there is
# room again mail flows.  The spool is a small tmpfs.

. "$(atf_get_srcdir)/../lib.sh"

spool_empty()
{
	[ -z "$(find spool/queue spool/incoming -mindepth 1)" ]
}

atf_test_case full_spool_answers_452_and_stays_consistent cleanup
full_spool_answers_452_and_stays_consistent_head()
{
	atf_set descr "A message bigger than the spool's free space gets" \
	    "452 4.3.1; incoming/ and queue/ are left empty; a small" \
	    "message afterwards is delivered"
	atf_set require.user root
}
full_spool_answers_452_and_stays_consistent_body()
{
	mkdir spool
	mount -t tmpfs -o size=256k,mode=0700 tmpfs spool ||
	    atf_fail "cannot mount a tmpfs"
	echo mounted > spool.mounted
	smtpd_config <<CONF
smtp max-message-size 8M
CONF
	smtpd_start
	python3 - "$(port)" "$MAILUSER@localhost" <<'PY' ||
import smtplib, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
big = "Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 1024
with smtplib.SMTP("127.0.0.1", port) as s:
    try:
        s.sendmail("a@example.org", [rcpt], big)
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 452, e
        assert b"4.3.1" in e.smtp_error, e
        print("refused", e.smtp_code)
    else:
        sys.exit("a message bigger than the disk was accepted")
    # The session goes on: a small one fits.
    s.sendmail("a@example.org", [rcpt], "Subject: small\r\n\r\nfits\r\n")
PY
	atf_fail "the full disk was not handled"
	wait_log "result=delivered" || atf_fail "the small message was lost"
	wait_until spool_empty ||
	    atf_fail "the spool was left with $(find spool -type f | tr '\n' ' ')"
	atf_check -s exit:0 -o match:"fits" cat "$(maildir_messages)"
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o ignore grep "No space left on device" smtpd.log
}
full_spool_answers_452_and_stays_consistent_cleanup()
{
	smtpd_cleanup
	[ -f spool.mounted ] && umount spool
	return 0
}

atf_init_test_cases()
{
	atf_add_test_case full_spool_answers_452_and_stays_consistent
}
