#! /usr/bin/env atf-sh
#
# mda delivery: the admin's command runs as the recipient with the
# message on its standard input; what the client sent reaches it only
# through the environment, and its exit status decides.

. "$(atf_get_srcdir)/../lib.sh"

# mda_config ACTION: smtpd.conf whose action "local" is ACTION.
mda_config()
{
	smtpd_config </dev/null
	grep -v -e '^action ' -e '^match ' smtpd.conf > smtpd.conf.base
	{ cat smtpd.conf.base
	  echo "action \"local\" $1"
	  echo 'match from any for local action "local"'; } > smtpd.conf
}

# send FROM: one message to the test's user over SMTP.
send()
{
	atf_check -s exit:0 -o ignore python3 "$TOP/regress/smtpdialog.py" \
	    "$(port)" <<DIALOG
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<$1>
< ^250
> RCPT TO:<$MAILUSER@localhost>
< ^250
> DATA
< ^354
> Subject: mda test
> Message-ID: <mda-1@test>
>> b"\r\n"
> From the start of a line
> .
< ^250 2.0.0 Ok: queued as
> QUIT
< ^221
DIALOG
}

atf_test_case envelope_in_environment cleanup
envelope_in_environment_head()
{
	atf_set descr "The command gets the message with Return-Path and" \
	    "Delivered-To on stdin, and the envelope in a clean environment"
}
envelope_in_environment_body()
{
	W=$(pwd)
	mda_config "mda 'cd $W && env > env.out && cat > stdin.out'"
	# Set for smtpd: it must not reach the command.
	export SMTPD_LEAK=leaked
	smtpd_start
	send "sender@example.org"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^SENDER=sender@example.org$" cat env.out
	atf_check -s exit:0 -o match:"^RECIPIENT=$MAILUSER@localhost$" \
	    cat env.out
	atf_check -s exit:0 -o match:"^ORIGINAL_RECIPIENT=$MAILUSER@localhost$" \
	    cat env.out
	atf_check -s exit:0 -o match:"^USER=$MAILUSER$" cat env.out
	atf_check -s exit:0 -o match:"^LOCAL=$MAILUSER$" cat env.out
	atf_check -s exit:0 -o match:"^DOMAIN=localhost$" cat env.out
	atf_check -s exit:0 -o match:"^EXTENSION=$" cat env.out
	atf_check -s exit:0 -o match:"^PATH=/usr/bin:/bin$" cat env.out
	atf_check -s exit:0 -o match:"^HOME=$(getent passwd "$MAILUSER" |
	    cut -d: -f6)$" cat env.out
	atf_check -s exit:1 grep -e "SMTPD_LEAK" -e "^ATF_" env.out
	atf_check -s exit:0 -o inline:"Return-Path: <sender@example.org>\n" \
	    head -n 1 stdin.out
	atf_check -s exit:0 -o inline:"Delivered-To: $MAILUSER@localhost\n" \
	    sed -n 2p stdin.out
	message_body stdin.out > body
	atf_check -s exit:0 -o inline:"From the start of a line\n" cat body
}
envelope_in_environment_cleanup()
{
	smtpd_cleanup
}

atf_test_case sender_is_never_shell_code cleanup
sender_is_never_shell_code_head()
{
	atf_set descr "A sender full of shell syntax reaches the command as" \
	    "a plain value and nothing in it is executed"
}
sender_is_never_shell_code_body()
{
	W=$(pwd)
	mda_config "mda 'cd $W && printf \"%s\\\\n\" \"\$SENDER\" > sender.out && echo \$SENDER \$RECIPIENT > unquoted.out && cat > /dev/null'"
	smtpd_start
	sender='"$(touch pwned1)`touch pwned2`;touch pwned3"@example.org'
	send "$sender"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o inline:"$sender\n" cat sender.out
	atf_check -s exit:0 -o match:'^"\$\(touch pwned1\)`touch pwned2`;' \
	    cat unquoted.out
	atf_check -s exit:0 -o empty find . / -maxdepth 1 -name 'pwned*'
	atf_check -s exit:0 -o empty find "$(getent passwd "$MAILUSER" |
	    cut -d: -f6)" -maxdepth 1 -name 'pwned*'
}
sender_is_never_shell_code_cleanup()
{
	smtpd_cleanup
}

atf_test_case exit_75_is_temporary cleanup
exit_75_is_temporary_head()
{
	atf_set descr "A command that exits 75 (EX_TEMPFAIL) leaves the" \
	    "envelope queued, with its first line of output as the error"
}
exit_75_is_temporary_body()
{
	mda_config "mda 'cat > /dev/null; echo \"try again later\" >&2; echo second line >&2; exit 75'"
	smtpd_start
	send "sender@example.org"
	wait_log "result=tempfail .*error=\"command exited with status 75: try again later\"" ||
	    atf_fail "no temporary failure"
	atf_check -s exit:1 grep -q "result=delivered" smtpd.log
	evpid=$(sed -n 's/.*evpid=\([0-9a-f]*\) .*result=tempfail.*/\1/p' \
	    smtpd.log | head -n 1)
	atf_check -s exit:0 -o not-empty find spool/queue -name "$evpid"
}
exit_75_is_temporary_cleanup()
{
	smtpd_cleanup
}

atf_test_case exit_1_is_permanent cleanup
exit_1_is_permanent_head()
{
	atf_set descr "A command that exits 1 is a permanent failure"
}
exit_1_is_permanent_body()
{
	mda_config "mda 'echo \"no such folder\"; exit 1'"
	smtpd_start
	send "sender@example.org"
	wait_log "result=permfail .*error=\"command exited with status 1: no such folder\"" ||
	    atf_fail "no permanent failure"
	atf_check -s exit:1 grep -q "result=tempfail" smtpd.log
}
exit_1_is_permanent_cleanup()
{
	smtpd_cleanup
}

atf_test_case long_error_is_cut_not_fatal cleanup
long_error_is_cut_not_fatal_head()
{
	atf_set descr "A command whose first line of output fills the error" \
	    "text: the report is cut to what an envelope keeps, the queue" \
	    "records the failure and smtpd goes on"
}
long_error_is_cut_not_fatal_body()
{
	long=$(printf 'x%.0s' $(seq 250))
	mda_config "mda 'cat > /dev/null; echo $long >&2; exit 75'"
	smtpd_start
	send "sender@example.org"
	wait_log "result=tempfail .*error=\"command exited with status 75: xxx" ||
	    atf_fail "no temporary failure: $(tail -n 5 smtpd.log)"
	atf_check -s exit:1 grep -q "fatal" smtpd.log
	atf_check -s exit:0 -o ignore "$SMTPCTL" -s "$(pwd)/smtpd.sock" \
	    show queue
}
long_error_is_cut_not_fatal_cleanup()
{
	smtpd_cleanup
}

atf_test_case killed_by_signal_is_temporary cleanup
killed_by_signal_is_temporary_head()
{
	atf_set descr "A command killed by a signal is a temporary failure"
}
killed_by_signal_is_temporary_body()
{
	mda_config "mda 'kill -KILL \$\$'"
	smtpd_start
	send "sender@example.org"
	wait_log "result=tempfail .*error=\"command killed by signal 9\"" ||
	    atf_fail "no temporary failure"
}
killed_by_signal_is_temporary_cleanup()
{
	smtpd_cleanup
}

atf_test_case command_runs_confined cleanup
command_runs_confined_head()
{
	atf_set descr "The command runs with no-new-privs under a seccomp" \
	    "filter that refuses new namespaces and debugging"
}
command_runs_confined_body()
{
	W=$(pwd)
	mda_config "mda 'cd $W && grep -E \"^(NoNewPrivs|Seccomp):\" /proc/self/status > status.out; if unshare -U true 2>/dev/null; then echo unshare=yes; else echo unshare=no; fi >> status.out; cat > /dev/null'"
	smtpd_start
	send "sender@example.org"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^NoNewPrivs:[[:space:]]+1$" cat status.out
	atf_check -s exit:0 -o match:"^Seccomp:[[:space:]]+2$" cat status.out
	atf_check -s exit:0 -o match:"^unshare=no$" cat status.out
}
command_runs_confined_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case command_runs_confined
	atf_add_test_case envelope_in_environment
	atf_add_test_case sender_is_never_shell_code
	atf_add_test_case exit_75_is_temporary
	atf_add_test_case exit_1_is_permanent
	atf_add_test_case long_error_is_cut_not_fatal
	atf_add_test_case killed_by_signal_is_temporary
}
