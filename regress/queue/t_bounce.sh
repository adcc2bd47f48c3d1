#! /usr/bin/env atf-sh
#
# Bounces and delay notices (RFC 3464): a recipient that fails for good
# or runs out of time is reported to the sender and removed; one that
# waits longer than the warning interval is reported once and kept.
# Envelopes are placed in the spool with the age a case needs, so
# nothing waits on the clock.

. "$(atf_get_srcdir)/../lib.sh"

# put_message MSGID TEXT: a committed message file.
put_message()
{
	mkdir -p spool/queue
	printf '%b' "$2" > "spool/queue/$1"
}

# put_envelope EVPID ACTION USER AGE-SECONDS [key value ...]
put_envelope()
{
	evpid=$1 action=$2 user=$3 age=$4
	shift 4
	{
		echo "version 1"
		echo "id $evpid"
		echo "sender $MAILUSER@localhost"
		echo "rcpt someone@remote.example"
		echo "action $action"
		echo "user $user"
		echo "target "
		echo "helo client.test"
		echo "client 127.0.0.1"
		echo "created $(( $(date +%s) - age ))"
		echo "tries 3"
		echo "lasterr 451 4.4.1 connection timed out"
		echo "dsn-ret ${DSN_RET:-}"
		echo "dsn-envid ${DSN_ENVID:-}"
		echo "dsn-notify ${DSN_NOTIFY:-}"
		echo "dsn-orcpt "
		echo "warned 0"
	} > "spool/queue/$evpid"
	[ "$(id -u)" -ne 0 ] || chown -R _smtpq:_smtpq spool
}

# Remote recipients go to a relay host that refuses connections, so
# that they only ever fail for now.
bounce_config()
{
	smtpd_config <<CONF
action "out" relay host smtp://127.0.0.1:$DEAD_PORT
match from any for domain "remote.example" action "out"
CONF
}

# check_report FILE ACTION: the message is a well-formed DSN.
check_report()
{
	python3 - "$1" "$2" "$3" <<'PY' || atf_fail "not a well-formed report"
import email, sys
from email import policy
path, action, ret = sys.argv[1], sys.argv[2], sys.argv[3]
msg = email.message_from_binary_file(open(path, "rb"), policy=policy.default)
assert msg.get_content_type() == "multipart/report", msg.get_content_type()
assert msg.get_param("report-type") == "delivery-status"
assert msg["Auto-Submitted"] == "auto-replied"
parts = list(msg.iter_parts())
assert len(parts) == 3, len(parts)
assert parts[0].get_content_type() == "text/plain"
assert parts[1].get_content_type() == "message/delivery-status"
groups = parts[1].get_payload()
per_msg, per_rcpt = groups[0], groups[1]
assert per_msg["Reporting-MTA"].startswith("dns; ")
assert per_rcpt["Final-Recipient"] == "rfc822; someone@remote.example"
assert per_rcpt["Action"] == action, per_rcpt["Action"]
status = per_rcpt["Status"]
assert status[0] == ("5" if action == "failed" else "4"), status
want = "text/rfc822-headers" if ret == "HDRS" else "message/rfc822"
assert parts[2].get_content_type() == want, parts[2].get_content_type()
text = parts[2].as_string()
assert "Subject: original" in text
assert ("original body" in text) == (ret != "HDRS"), ret
print("ok", action, status)
PY
}

atf_test_case an_expired_envelope_is_bounced_and_removed cleanup
an_expired_envelope_is_bounced_and_removed_head()
{
	atf_set descr "An envelope older than the queue's lifetime (4 days)" \
	    "is reported to its sender as failed, and leaves the queue"
}
an_expired_envelope_is_bounced_and_removed_body()
{
	bounce_config
	put_message 0000aaaa 'Subject: original\n\noriginal body\n'
	put_envelope 0000aaaa00000001 out "" $((5 * 86400))
	smtpd_start
	wait_log "result=expired" || atf_fail "not expired"
	wait_mail || atf_fail "no report delivered"
	check_report "$(maildir_messages)" failed FULL
	atf_check -s exit:0 -o match:"delivery time expired" \
	    cat "$(maildir_messages)"
	wait_until test ! -e spool/queue/0000aaaa00000001 ||
	    atf_fail "the expired envelope stayed"
	atf_check -s exit:0 -o match:"^Return-Path: <>$" \
	    cat "$(maildir_messages)"
}
an_expired_envelope_is_bounced_and_removed_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_late_envelope_gets_one_delay_notice cleanup
a_late_envelope_gets_one_delay_notice_head()
{
	atf_set descr "An envelope older than the warning interval (4 hours)" \
	    "is reported as delayed once, stays in the queue, and is marked"
}
a_late_envelope_gets_one_delay_notice_body()
{
	bounce_config
	put_message 0000bbbb 'Subject: original\n\noriginal body\n'
	DSN_RET=HDRS put_envelope 0000bbbb00000001 out "" $((5 * 3600))
	smtpd_start
	wait_mail || atf_fail "no delay notice"
	check_report "$(maildir_messages)" delayed HDRS
	atf_check -s exit:0 -o match:"^warned 1$" \
	    cat spool/queue/0000bbbb00000001
	# Restarted, it does not warn again.
	smtpd_cleanup
	smtpd_start
	wait_log "sweep found" || atf_fail "no sweep after the restart"
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 test -e spool/queue/0000bbbb00000001
}
a_late_envelope_gets_one_delay_notice_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_permanent_failure_is_bounced cleanup
a_permanent_failure_is_bounced_head()
{
	atf_set descr "A delivery that fails for good (no such user any" \
	    "more) is reported to the sender at once"
}
a_permanent_failure_is_bounced_body()
{
	bounce_config
	put_message 0000cccc 'Subject: original\n\noriginal body\n'
	put_envelope 0000cccc00000001 local no-such-user-at-all 10
	smtpd_start
	wait_log "result=permfail" || atf_fail "no permanent failure"
	wait_mail || atf_fail "no report delivered"
	check_report "$(maildir_messages)" failed FULL
	wait_until test ! -e spool/queue/0000cccc ||
	    atf_fail "the failed message stayed"
}
a_permanent_failure_is_bounced_cleanup()
{
	smtpd_cleanup
}

atf_test_case no_report_when_none_is_wanted cleanup
no_report_when_none_is_wanted_head()
{
	atf_set descr "NOTIFY=NEVER, NOTIFY without FAILURE, and the null" \
	    "sender get no bounce; the envelopes still leave the queue"
}
no_report_when_none_is_wanted_body()
{
	bounce_config
	put_message 0000dddd 'Subject: original\n\noriginal body\n'
	DSN_NOTIFY=NEVER put_envelope 0000dddd00000001 out "" $((5 * 86400))
	DSN_NOTIFY=SUCCESS,DELAY put_envelope 0000dddd00000002 out "" \
	    $((5 * 86400))
	put_envelope 0000dddd00000003 out "" $((5 * 86400))
	sed -i "s/^sender .*/sender /" spool/queue/0000dddd00000003
	smtpd_start
	wait_log "bounce=no" 3 || atf_fail "not all three failed quietly"
	wait_until test ! -e spool/queue/0000dddd ||
	    atf_fail "the message stayed"
	atf_check_equal 0 "$(maildir_messages | grep -c .)"
}
no_report_when_none_is_wanted_cleanup()
{
	smtpd_cleanup
}

# send_original: over SMTP, a message from the test's user to nobody,
# whom the failing action of these tests takes.
send_original()
{
	atf_check -s exit:0 -o ignore python3 "$TOP/regress/smtpdialog.py" \
	    "$(port)" <<DIALOG
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<$MAILUSER@localhost>
< ^250
> RCPT TO:<nobody@localhost>
< ^250
> DATA
< ^354
> Subject: original
>> b"\r\n"
> original body
> .
< ^250 2.0.0
> QUIT
< ^221
DIALOG
}

atf_test_case a_report_outside_hides_local_details cleanup
a_report_outside_hides_local_details_head()
{
	atf_set descr "When a command delivery fails for a message that came" \
	    "over SMTP, the report says only that local delivery failed:" \
	    "the command's words and paths stay in the log"
}
a_report_outside_hides_local_details_body()
{
	smtpd_config <<'CONF'
table fail { "nobody@localhost" }
action "fail" mda "cat >/dev/null; echo 'cannot write /srv/secret/folder' >&2; exit 1"
match from any for rcpt-to <fail> action "fail"
CONF
	# The failing rule must come before the catch-all one.
	grep -v '^match from any for local' smtpd.conf > smtpd.conf.new
	echo 'match from any for local action "local"' >> smtpd.conf.new
	mv smtpd.conf.new smtpd.conf
	smtpd_start
	send_original
	wait_log 'result=permfail .*cannot write /srv/secret/folder' ||
	    atf_fail "the failure and its words are not in the log"
	wait_mail || atf_fail "no report delivered"
	report=$(maildir_messages)
	atf_check -o match:"^Diagnostic-Code: x-local; local delivery failed" \
	    cat "$report"
	atf_check -o match:"^Status: 5\." cat "$report"
	atf_check -s exit:1 -o empty grep -e "/srv/secret" -e "cannot write" \
	    -e "status 1" "$report"
}
a_report_outside_hides_local_details_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_report_that_cannot_be_routed_waits cleanup
a_report_that_cannot_be_routed_waits_head()
{
	atf_set descr "When a failure's report cannot be routed for now (the" \
	    "sender's alias table failed), the envelope stays and the report" \
	    "is queued once the table is read well again"
}
a_report_that_cannot_be_routed_waits_body()
{
	echo "info: $MAILUSER" > aliases
	smtpd_config <<CONF
table aliases file:$(pwd)/aliases
table fail { "nobody@localhost" }
action "fail" mda "cat >/dev/null; exit 1"
match from any for rcpt-to <fail> action "fail"
bounce warn-interval 10s
CONF
	grep -v '^match from any for local\|^action "local"' smtpd.conf \
	    > smtpd.conf.new
	{ cat smtpd.conf.new
	  echo "action \"local\" maildir \"$(pwd)/Maildir\" alias <aliases>"
	  echo 'match from any for local action "local"'; } > smtpd.conf
	smtpd_start
	rm aliases
	atf_check -s exit:1 -e ignore \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table aliases
	send_original
	wait_log "result=failed report=deferred" ||
	    atf_fail "the report was not deferred"
	atf_check -s exit:1 grep -q "report=lost" smtpd.log
	echo "info: $MAILUSER" > aliases
	atf_check -s exit:0 -o ignore \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table aliases
	wait_log "result=failed report=queued" ||
	    atf_fail "the report was not queued once the table was back"
	wait_mail || atf_fail "no report delivered"
	atf_check -o match:"^Subject: Undelivered Mail" cat "$(maildir_messages)"
}
a_report_that_cannot_be_routed_waits_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case an_expired_envelope_is_bounced_and_removed
	atf_add_test_case a_late_envelope_gets_one_delay_notice
	atf_add_test_case a_permanent_failure_is_bounced
	atf_add_test_case no_report_when_none_is_wanted
	atf_add_test_case a_report_outside_hides_local_details
	atf_add_test_case a_report_that_cannot_be_routed_waits
}
