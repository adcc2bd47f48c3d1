#! /usr/bin/env atf-sh
#
# What a compromised listener can no longer do.  smtpd-forge is smtpd
# whose listener also sends what an attacker who took it over would
# (regress/smtpd/forge.c, scenario in SMTPD_FORGE); the other processes
# must refuse each forgery, log it, and go on serving the real mail.
# So must the queue of an mta that talks to hostile servers, and the
# parent, as root, of lookup.

. "$(atf_get_srcdir)/../lib.sh"
SMTPD="$TOP/regress/smtpd/smtpd-forge"

# send_one TEXT [RCPT]: one message through smtplib, to the local user
# unless RCPT is given.
send_one()
{
	python3 - "$(port)" "${2:-$MAILUSER@localhost}" "$1" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    s.sendmail("sender@example.org", [sys.argv[2]],
               "Subject: forge\r\n\r\n" + sys.argv[3] + "\r\n")
PY
}

# greeting: the first reply a new client gets, on stdout.
greeting()
{
	python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $(port)), 20)
s.settimeout(20)
print(s.recv(512).decode().strip())"
}

still_serving()
{
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
	send_one "after the forgery" || atf_fail "the daemon stopped serving"
}

atf_test_case forged_routing_is_refused cleanup
forged_routing_is_refused_head()
{
	atf_set descr "Envelopes and a message the listener makes up itself," \
	    "with a command to run, are refused by the queue and never run"
}
forged_routing_is_refused_body()
{
	mkdir -m 1777 drop
	export SMTPD_FORGE=routing
	export SMTPD_FORGE_COMMAND="touch $(pwd)/drop/ran"
	smtpd_start
	send_one "routed by lookup" || atf_fail "the real message was refused"
	wait_log "forge: sent an envelope of our own" ||
	    atf_fail "the forgery did not happen"
	wait_log "queue: result=refused imsg=[0-9]+ from=smtp .*reason=\"unexpected type\"" 2 ||
	    atf_fail "the queue did not refuse the forged routing"
	wait_mail 1 || atf_fail "the real message was not delivered"
	wait_log "result=delivered" || atf_fail "no delivery logged"
	[ ! -e drop/ran ] || atf_fail "the forged command ran"
	[ "$(grep -c 'result=delivered' smtpd.log)" -eq 1 ] ||
	    atf_fail "more than the real message was delivered"
	still_serving
}
forged_routing_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case forged_login_does_not_relay cleanup
forged_login_does_not_relay_head()
{
	atf_set descr "A login, a password check or client facts claimed" \
	    "by the listener are refused: relaying stays closed"
}
forged_login_does_not_relay_body()
{
	export SMTPD_FORGE=login
	smtpd_config <<CONF
action "out" relay
match auth from any for any action "out"
CONF
	smtpd_start
	dialog <<'SCRIPT' || atf_fail "relaying was allowed"
< ^220
> EHLO client.example
< ^250
> MAIL FROM:<sender@example.org>
< ^250
> RCPT TO:<someone@elsewhere.example>
< ^550 5\.7\.1
> QUIT
< ^221
SCRIPT
	wait_log "lookup: result=refused imsg=[0-9]+ from=smtp .*reason=\"unexpected type\"" ||
	    atf_fail "the forged login was not refused"
	wait_log "lookup: result=refused imsg=[0-9]+ from=smtp .*reason=\"malformed\"" ||
	    atf_fail "the forged facts were not refused"
	wait_log "lookup: result=refused imsg=[0-9]+ from=smtp .*reason=\"AUTH on a listener without it\"" ||
	    atf_fail "an AUTH on a listener without it was passed on"
	wait_log "forge: no channel to auth" ||
	    atf_fail "the listener can reach the auth process"
	still_serving
}
forged_login_does_not_relay_cleanup()
{
	smtpd_cleanup
}

atf_test_case connect_with_a_pipe_is_refused cleanup
connect_with_a_pipe_is_refused_head()
{
	atf_set descr "Lookup reads the client's address from the socket;" \
	    "handed something else it refuses the session"
}
connect_with_a_pipe_is_refused_body()
{
	export SMTPD_FORGE=connect-pipe
	smtpd_start
	greeting > reply
	grep -q "^421 " reply || atf_fail "greeted: $(cat reply)"
	wait_log "lookup session=[0-9a-f]+ result=refused reason=\"not a stream socket\"" ||
	    atf_fail "not logged"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
connect_with_a_pipe_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case connect_with_a_local_socket_of_its_own_is_refused cleanup
connect_with_a_local_socket_of_its_own_is_refused_head()
{
	atf_set descr "A local session is attested by the submission" \
	    "socket's name and the peer credentials; a socket pair of the" \
	    "listener's own, whose peer is root, is refused"
}
connect_with_a_local_socket_of_its_own_is_refused_body()
{
	export SMTPD_FORGE=connect-local
	smtpd_start
	greeting > reply
	grep -q "^421 " reply || atf_fail "greeted: $(cat reply)"
	wait_log "lookup session=[0-9a-f]+ result=refused reason=\"not a connection to the submission socket\"" ||
	    atf_fail "not logged"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
connect_with_a_local_socket_of_its_own_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case connect_with_another_sessions_socket_is_refused cleanup
connect_with_another_sessions_socket_is_refused_head()
{
	atf_set descr "The socket of a live session cannot vouch for a second"
}
connect_with_another_sessions_socket_is_refused_body()
{
	export SMTPD_FORGE=connect-reuse
	smtpd_start
	python3 - "$(port)" <<'PY' || atf_fail "$(cat smtpd.log)"
import socket, sys
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port), 20)
a.settimeout(20)
first = a.recv(512)
assert first.startswith(b"220 "), first
b = socket.create_connection(("127.0.0.1", port), 20)
b.settimeout(20)
second = b.recv(512)
assert second.startswith(b"421 "), second
PY
	wait_log "reason=\"socket of another session\"" || atf_fail "not logged"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
connect_with_another_sessions_socket_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case commit_with_a_descriptor_is_refused cleanup
commit_with_a_descriptor_is_refused_head()
{
	atf_set descr "A descriptor sent along with a commit is refused"
}
commit_with_a_descriptor_is_refused_body()
{
	export SMTPD_FORGE=commit-fd
	smtpd_start
	send_one "one copy" || atf_fail "the real commit failed"
	wait_log "queue: result=refused .*reason=\"unexpected descriptor\"" ||
	    atf_fail "not refused"
	wait_mail 1 || atf_fail "not delivered"
	still_serving
}
commit_with_a_descriptor_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case commit_of_another_message_is_refused cleanup
commit_of_another_message_is_refused_head()
{
	atf_set descr "A session commits and rolls back only its own message" \
	    "being received"
}
commit_of_another_message_is_refused_body()
{
	export SMTPD_FORGE=commit-other
	smtpd_start
	send_one "mine" || atf_fail "the real commit failed"
	wait_log "queue: result=refused .*reason=\"not a message of the session\"" 2 ||
	    atf_fail "not refused"
	wait_mail 1 || atf_fail "the committed message was rolled back"
	still_serving
}
commit_of_another_message_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_kept_pipe_reaches_nothing cleanup
a_kept_pipe_reaches_nothing_head()
{
	atf_set descr "The listener's pipe leads nowhere once its message is" \
	    "committed: what it writes later touches no message"
}
a_kept_pipe_reaches_nothing_body()
{
	export SMTPD_FORGE=keep-pipe
	smtpd_start
	send_one "first message" || atf_fail "first refused"
	send_one "second message" || atf_fail "second refused"
	wait_log "forge: wrote into a kept pipe: Broken pipe" ||
	    atf_fail "the kept pipe still led somewhere: $(grep forge: smtpd.log)"
	wait_mail 2 || atf_fail "not both delivered"
	for m in $(maildir_messages); do
		grep -q "X-Forged" "$m" && atf_fail "a message was changed"
	done
	still_serving
}
a_kept_pipe_reaches_nothing_cleanup()
{
	smtpd_cleanup
}

atf_test_case abandoned_messages_are_dropped cleanup
abandoned_messages_are_dropped_head()
{
	atf_set descr "A message the listener neither commits nor rolls back" \
	    "is dropped by the queue once its session is over"
}
abandoned_messages_are_dropped_body()
{
	export SMTPD_FORGE=no-rollback
	smtpd_start
	python3 - "$(port)" "$MAILUSER@localhost" <<'PY' || atf_fail "no DATA"
import socket, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
for i in range(5):
    s = socket.create_connection(("127.0.0.1", port), 20)
    f = s.makefile("rb")
    f.readline()
    for cmd in (b"EHLO c", b"MAIL FROM:<a@example.org>",
                b"RCPT TO:<" + rcpt.encode() + b">", b"DATA"):
        s.sendall(cmd + b"\r\n")
        while True:
            line = f.readline()
            if line[3:4] != b"-":
                break
    assert line.startswith(b"354"), line
    s.sendall(b"Subject: left behind\r\n\r\n" + b"x" * 10000 + b"\r\n")
    s.close()
PY
	wait_log "forge: kept a message from being rolled back" 5 ||
	    atf_fail "the forgery did not happen"
	wait_log "queue: msgid=[0-9a-f]+ session=[0-9a-f]+ result=abandoned" 5 ||
	    atf_fail "the queue kept them"
	wait_until sh -c '[ -z "$(find spool/incoming -type f)" ]' ||
	    atf_fail "spool files were left: $(ls spool/incoming)"
	still_serving
}
abandoned_messages_are_dropped_cleanup()
{
	smtpd_cleanup
}

atf_test_case control_takes_only_owed_answers cleanup
control_takes_only_owed_answers_head()
{
	atf_set descr "The control process passes on only the few lines the" \
	    "listener owes a request, and refuses the rest"
}
control_takes_only_owed_answers_body()
{
	export SMTPD_FORGE=control-lines
	smtpd_start
	"$SMTPCTL" -s smtpd.sock show stats > stats 2>&1
	wait_log "forge: sent control 100 lines more" ||
	    atf_fail "the forgery did not happen"
	wait_log "control: result=refused .*reason=\"answer not owed\"" ||
	    atf_fail "not refused"
	[ "$(grep -c 'forged line' stats)" -le 64 ] ||
	    atf_fail "all the forged lines reached smtpctl"
	still_serving
}
control_takes_only_owed_answers_cleanup()
{
	smtpd_cleanup
}

atf_test_case made_up_relay_results_are_refused cleanup
made_up_relay_results_are_refused_head()
{
	atf_set descr "Results the mta makes up (for an envelope it was never" \
	    "handed, with an unknown status, cut short) are logged and" \
	    "dropped by the queue, which takes the real one and goes on"
}
made_up_relay_results_are_refused_body()
{
	export SMTPD_FORGE=mta-result
	SINKPORT=$(free_port)
	smtpd_config <<CONF
action "out" relay host smtp://127.0.0.1:$SINKPORT
match from any for domain "elsewhere.test" action "out"
CONF
	sink_start 127.0.0.1 "$SINKPORT"
	smtpd_start
	send_one "relayed" someone@elsewhere.test ||
	    atf_fail "the real message was refused"
	wait_log "forge: sent the queue three results of our own" ||
	    atf_fail "the forgery did not happen"
	for why in "not an envelope handed to the mta" "unknown status" \
	    "malformed"; do
		wait_log "relay evpid=[0-9a-f]+ result=refused from=mta reason=\"$why\"" ||
		    atf_fail "not refused: $why"
	done
	wait_log "to=<someone@elsewhere.test> relay=[^ ]+ result=delivered" ||
	    atf_fail "the real result was not taken"
	[ "$(grep -c 'result=permfail' smtpd.log)" -eq 0 ] ||
	    atf_fail "a made-up status failed the envelope"
	still_serving
}
made_up_relay_results_are_refused_cleanup()
{
	relay_cleanup
}

atf_test_case malformed_forward_questions_are_refused cleanup
malformed_forward_questions_are_refused_head()
{
	atf_set descr "The parent drops a question about a ~/.forward that" \
	    "names no user (too long, a line break, empty, bytes after it)" \
	    "and answers the real one"
}
malformed_forward_questions_are_refused_body()
{
	export SMTPD_FORGE=forward-question
	smtpd_start
	send_one "asked about" || atf_fail "the real message was refused"
	wait_log "forge: asked the parent four questions of our own" ||
	    atf_fail "the forgery did not happen"
	wait_log "forward: result=refused imsg=[0-9]+ from=lookup reason=\"malformed question\"" 4 ||
	    atf_fail "the questions were not refused"
	wait_mail 1 || atf_fail "the real message was not delivered"
	still_serving
}
malformed_forward_questions_are_refused_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case forged_routing_is_refused
	atf_add_test_case forged_login_does_not_relay
	atf_add_test_case connect_with_a_pipe_is_refused
	atf_add_test_case connect_with_a_local_socket_of_its_own_is_refused
	atf_add_test_case connect_with_another_sessions_socket_is_refused
	atf_add_test_case commit_with_a_descriptor_is_refused
	atf_add_test_case commit_of_another_message_is_refused
	atf_add_test_case a_kept_pipe_reaches_nothing
	atf_add_test_case abandoned_messages_are_dropped
	atf_add_test_case control_takes_only_owed_answers
	atf_add_test_case made_up_relay_results_are_refused
	atf_add_test_case malformed_forward_questions_are_refused
}
