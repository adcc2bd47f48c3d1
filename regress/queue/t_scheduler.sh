#! /usr/bin/env atf-sh
#
# The scheduler: a temporary failure waits the configured delay, and
# smtpctl schedule cuts it short; each recipient of a message is tried,
# succeeds or fails on its own.

. "$(atf_get_srcdir)/../lib.sh"

atf_test_case tempfail_then_success_after_schedule cleanup
tempfail_then_success_after_schedule_head()
{
	atf_set descr "A delivery that fails for now waits the first delay" \
	    "of queue retry; smtpctl schedule tries it again at once, and" \
	    "then it is delivered"
}
tempfail_then_success_after_schedule_body()
{
	W=$(pwd)
	free_port > port
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $(port)
queue retry 1h 2h
action "local" maildir "$W/blocked/Maildir"
match from any for local action "local"
CONF
	# A file where the maildir's parent should be: mkdir fails.
	echo "in the way" > blocked
	smtpd_start
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --to "$MAILUSER@localhost" --body "retried"
	wait_log "result=tempfail tries=1 retry=3600" ||
	    atf_fail "no temporary failure with the configured delay"
	evpid=$(sed -n 's/.*evpid=\([0-9a-f]*\) .*result=tempfail.*/\1/p' \
	    smtpd.log | head -1)
	rm blocked
	atf_check -s exit:0 -o inline:"1 envelope scheduled\n" \
	    "$SMTPCTL" -s "$W/smtpd.sock" schedule "$evpid"
	wait_log "evpid=$evpid .*result=delivered" ||
	    atf_fail "not delivered after schedule"
	atf_check -s exit:0 -o match:"retried" cat blocked/Maildir/new/*
}
tempfail_then_success_after_schedule_cleanup()
{
	smtpd_cleanup
}

atf_test_case recipients_succeed_and_fail_on_their_own cleanup
recipients_succeed_and_fail_on_their_own_head()
{
	atf_set descr "Of two recipients of one message, the one that fails" \
	    "for good is bounced and the other is delivered exactly once," \
	    "also after a restart"
}
recipients_succeed_and_fail_on_their_own_body()
{
	smtpd_config </dev/null
	mkdir -p spool/queue
	printf 'Subject: two recipients\n\nshared body\n' > spool/queue/00007777
	for n in 1 2; do
		user=$MAILUSER
		[ $n -eq 2 ] && user=no-such-user-at-all
		cat > spool/queue/000077770000000$n <<ENV
version 1
id 000077770000000$n
sender $MAILUSER@localhost
rcpt rcpt$n@localhost
action local
user $user
target 
helo client.test
client 127.0.0.1
created $(date +%s)
tries 0
lasterr 
dsn-ret 
dsn-envid 
dsn-notify 
dsn-orcpt 
warned 0
ENV
	done
	[ "$(id -u)" -ne 0 ] || chown -R _smtpq:_smtpq spool
	smtpd_start
	wait_log "evpid=0000777700000001 .*result=delivered" ||
	    atf_fail "the good recipient was not delivered"
	wait_log "result=failed report=queued" ||
	    atf_fail "the failed recipient was not reported"
	wait_mail 2 || atf_fail "not two messages (delivery and report)"
	wait_until test ! -e spool/queue/00007777 ||
	    atf_fail "the message stayed"
	atf_check_equal 1 "$(grep -l '^Delivered-To: rcpt1@localhost' \
	    Maildir/new/* | wc -l)"
	smtpd_cleanup
	smtpd_start
	wait_log "sweep found" || atf_fail "no scheduler pass after restart"
	atf_check_equal 2 "$(maildir_messages | grep -c .)"
}
recipients_succeed_and_fail_on_their_own_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case tempfail_then_success_after_schedule
	atf_add_test_case recipients_succeed_and_fail_on_their_own
}
