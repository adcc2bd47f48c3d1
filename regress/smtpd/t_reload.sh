#! /usr/bin/env atf-sh
#
# smtpctl reload and SIGHUP: the running daemon reads its configuration
# again, with every file it names.  New sessions get the new rules,
# listeners, certificates and tables; sessions already open finish
# under the old ones; a file with a mistake, or a change that needs a
# restart, is refused whole and the running configuration goes on; no
# message is lost while the processes switch.

. "$(atf_get_srcdir)/../lib.sh"

# reload_config [LISTEN-OPTIONS...] < lines: smtpd.conf with this test's
# spool and control socket, the lines from stdin (tables, pki, actions,
# rules), then the test's listener with LISTEN-OPTIONS.  The port is
# chosen at the first call and kept by the next ones, so that a file
# written for a reload differs from the running one only where the test
# says so.
reload_config()
{
	W=$(pwd)
	[ -f port ] || free_port > port
	{ echo "queue directory \"$W/spool\""
	  echo "control socket \"$W/smtpd.sock\""
	  # No relaying here: the resolver is one that never answers.
	  echo "mta resolver 127.0.0.1 port $DEAD_PORT"
	  cat
	  echo "listen on 127.0.0.1 port $(port) $*"; } > smtpd.conf
}

# local_rules: the lines of most tests, local mail into the test's
# maildir.
local_rules()
{
	echo "action \"local\" maildir \"$(pwd)/Maildir\""
	echo 'match from any for local action "local"'
}

# reload_ok N: smtpctl reload succeeds and says it made generation N;
# the parent logs it once every process has switched to it.
reload_ok()
{
	atf_check -s exit:0 -e ignore \
	    -o inline:"configuration reloaded: generation $1\n" \
	    "$SMTPCTL" -s smtpd.sock reload
	wait_log "reload generation=$1 result=ok" ||
	    atf_fail "generation $1 not logged: $(grep reload smtpd.log)"
}

# talk FILE [PORT] < script: a dialog (see smtpdialog.py) with the
# listener on PORT, by default the test's, that must go as written; the
# transcript is kept in FILE.
talk()
{
	python3 "$TOP/regress/smtpdialog.py" "${2:-$(port)}" > "$1" \
	    2> "$1.err" && return 0
	cat "$1" "$1.err" >&2
	atf_fail "dialog: $(tail -n 1 "$1.err")"
}

# rcpt_gets RCPT REGEX: a new session whose RCPT TO:<RCPT> gets a reply
# matching REGEX.
rcpt_gets()
{
	talk rcpt.out <<EOF
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@client.test>
< ^250
> RCPT TO:<$1>
< $2
> QUIT
< ^221
EOF
}

# send_short RCPT: a short message to RCPT in a new session.
send_short()
{
	talk send.out <<EOF
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@client.test>
< ^250
> RCPT TO:<$1>
< ^250
> DATA
< ^354
>> b"Subject: short\r\n\r\nhello\r\n.\r\n"
< ^250 2.0.0 Ok: queued as
> QUIT
< ^221
EOF
}

# connect_refused PORT: a connection to 127.0.0.1 PORT is refused.
connect_refused()
{
	python3 - "$1" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit("port %s accepted a connection" % sys.argv[1])
PY
}

# socket_inode PORT: the inode of the socket listening on PORT.
socket_inode()
{
	ss -Hltne "src 127.0.0.1:$1" | sed -n 's/.* ino:\([0-9]*\).*/\1/p'
}

# across_reload PORT [BYTES]: a session on PORT is taken as far as MAIL
# FROM; smtpctl reload runs; then the same session goes on with RCPT TO
# the local user and a message whose body is "across a reload", or
# BYTES octets of lines of x.  What happened is left in the file
# "held": reload=STATUS OUTPUT, rcpt=REPLY, data=REPLY.
across_reload()
{
	atf_check -s exit:0 -o save:held python3 - "$1" "${2:-0}" \
	    "$MAILUSER@localhost" "$SMTPCTL" <<'PY'
import smtplib, subprocess, sys
port, size, rcpt, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
body = b"across a reload\r\n"
if size > 0:
    body = (b"x" * 78 + b"\r\n") * (size // 80 + 1)
with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
    s.ehlo("old.test")
    code, reply = s.mail("old@client.test")
    if code != 250:
        sys.exit("MAIL: %d %r" % (code, reply))
    out = subprocess.run([ctl, "-s", "smtpd.sock", "reload"],
                         capture_output=True)
    print("reload=%d %s" % (out.returncode, out.stdout.decode().strip()),
          flush=True)
    code, reply = s.rcpt(rcpt)
    print("rcpt=%d %s" % (code, reply.decode()), flush=True)
    if code == 250:
        code, reply = s.data(b"Subject: held\r\n\r\n" + body)
        print("data=%d %s" % (code, reply.decode()), flush=True)
PY
	cat held
}

# held_went_through N: the session of across_reload saw generation N
# made, and its recipient and message were accepted.
held_went_through()
{
	atf_check -s exit:0 -o ignore \
	    grep -x "reload=0 configuration reloaded: generation $1" held
	atf_check -s exit:0 -o ignore grep "^rcpt=250 " held
	atf_check -s exit:0 -o ignore grep "^data=250 2.0.0 Ok: queued as" held
	wait_log "reload generation=$1 result=ok" || atf_fail "not switched"
}

atf_test_case changed_rule_applies_to_new_sessions_only cleanup
changed_rule_applies_to_new_sessions_only_head()
{
	atf_set descr "A session open across a reload that refuses its" \
	    "recipient finishes under the rules it started with: its RCPT" \
	    "is accepted and its message delivered; a new session's RCPT" \
	    "for the same recipient is refused"
}
changed_rule_applies_to_new_sessions_only_body()
{
	local_rules | reload_config
	smtpd_start
	rcpt_gets "$MAILUSER@localhost" "^250 "
	W=$(pwd)
	{ echo "table closed { \"$MAILUSER@localhost\" }"
	  echo 'match from any for rcpt-to <closed> reject "Closed here"'
	  local_rules; } | reload_config
	across_reload "$(port)"
	held_went_through 2
	rcpt_gets "$MAILUSER@localhost" "^550 5.7.1 Closed here$"
	wait_mail 1 || atf_fail "the held session's message was not delivered"
	atf_check_equal "across a reload" "$(message_body "$(maildir_messages)")"
}
changed_rule_applies_to_new_sessions_only_cleanup()
{
	smtpd_cleanup
}

atf_test_case added_listener_answers cleanup
added_listener_answers_head()
{
	atf_set descr "A listener added by a reload greets with 220; the" \
	    "unchanged one keeps its socket and refuses no connection while" \
	    "the reload runs"
}
added_listener_answers_body()
{
	local_rules | reload_config
	smtpd_start
	free_port > port2
	connect_refused "$(cat port2)" || atf_fail "port2 taken before"
	ino=$(socket_inode "$(port)")
	[ -n "$ino" ] || atf_fail "no listening socket on $(port)"
	{ local_rules
	  echo "listen on 127.0.0.1 port $(cat port2)"; } | reload_config
	# Connections to the first listener, one after another, for as
	# long as the reload runs and once after it.
	atf_check -s exit:0 -o save:tries -e save:tries.err python3 - \
	    "$(port)" "$SMTPCTL" <<'PY'
import socket, subprocess, sys
port, ctl = int(sys.argv[1]), sys.argv[2]
reload = subprocess.Popen([ctl, "-s", "smtpd.sock", "reload"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
tries = refused = other = 0
while True:
    done = reload.poll() is not None
    tries += 1
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        f = s.makefile("rb")
        if not f.readline().startswith(b"220 "):
            other += 1
        s.sendall(b"QUIT\r\n")
        if not f.readline().startswith(b"221 "):
            other += 1
        s.close()
    except ConnectionRefusedError:
        refused += 1
    except OSError:
        other += 1
    if done:
        break
print("reload=%d %s" % (reload.returncode,
                        reload.stdout.read().decode().strip()))
sys.stderr.write(reload.stderr.read().decode())
print("tries=%d refused=%d other=%d" % (tries, refused, other))
PY
	cat tries tries.err
	atf_check -s exit:0 -o ignore \
	    grep -x "reload=0 configuration reloaded: generation 2" tries
	atf_check -s exit:0 -o ignore grep " refused=0 other=0$" tries
	wait_log "reload generation=2 result=ok" || atf_fail "not switched"
	talk new.out "$(cat port2)" <<'EOF'
< ^220 
> QUIT
< ^221
EOF
	send_short "$MAILUSER@localhost"
	wait_mail 1 || atf_fail "not delivered"
	atf_check_equal "$ino" "$(socket_inode "$(port)")"
}
added_listener_answers_cleanup()
{
	smtpd_cleanup
}

atf_test_case removed_listener_stops cleanup
removed_listener_stops_head()
{
	atf_set descr "A listener the new file no longer names refuses" \
	    "connections after the reload; a session open on it finishes" \
	    "and its message is delivered; the other one keeps answering"
}
removed_listener_stops_body()
{
	free_port > port2
	{ local_rules
	  echo "listen on 127.0.0.1 port $(cat port2)"; } | reload_config
	smtpd_start
	talk before.out "$(cat port2)" <<'EOF'
< ^220 
> QUIT
< ^221
EOF
	local_rules | reload_config
	across_reload "$(cat port2)"
	held_went_through 2
	connect_refused "$(cat port2)" ||
	    atf_fail "the removed listener still accepts"
	send_short "$MAILUSER@localhost"
	wait_mail 2 || atf_fail "not delivered"
}
removed_listener_stops_cleanup()
{
	smtpd_cleanup
}

atf_test_case changed_listener_options_apply_to_new_sessions cleanup
changed_listener_options_apply_to_new_sessions_head()
{
	atf_set descr "A listener whose options change keeps its socket; a" \
	    "session open in the clear across the reload that makes it" \
	    "tls-require sends its message, a new one must use STARTTLS"
}
changed_listener_options_apply_to_new_sessions_body()
{
	make_pki mx
	W=$(pwd)
	{ echo "pki mx cert \"$W/mx.crt\""
	  echo "pki mx key \"$W/mx.key\""
	  local_rules; } > rules
	reload_config tls pki mx < rules
	smtpd_start
	ino=$(socket_inode "$(port)")
	[ -n "$ino" ] || atf_fail "no listening socket on $(port)"
	reload_config tls-require pki mx < rules
	across_reload "$(port)"
	held_went_through 2
	talk clear.out <<'EOF'
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@client.test>
< ^530 5.7.0 Must issue a STARTTLS command first
> QUIT
< ^221
EOF
	wait_mail 1 || atf_fail "the held session's message was not delivered"
	atf_check_equal "$ino" "$(socket_inode "$(port)")"
}
changed_listener_options_apply_to_new_sessions_cleanup()
{
	smtpd_cleanup
}

atf_test_case old_session_keeps_its_limits cleanup
old_session_keeps_its_limits_head()
{
	atf_set descr "A session open across a reload that lowers" \
	    "max-message-size sends a message over the new size; a new" \
	    "session is offered the new size and refused such a message"
}
old_session_keeps_its_limits_body()
{
	local_rules | reload_config
	smtpd_start
	{ echo "smtp max-message-size 2K"
	  local_rules; } | reload_config
	across_reload "$(port)" 8000
	held_went_through 2
	wait_mail 1 || atf_fail "the held session's message was not delivered"
	atf_check -s exit:0 -o match:"^size=2048 data=552 " python3 - \
	    "$(port)" "$MAILUSER@localhost" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    s.ehlo("new.test")
    size = s.esmtp_features.get("size")
    s.mail("new@client.test")
    s.rcpt(sys.argv[2])
    code, reply = s.data(b"Subject: big\r\n\r\n" +
                         (b"x" * 78 + b"\r\n") * 101)
    print("size=%s data=%d %s" % (size, code, reply.decode()))
PY
}
old_session_keeps_its_limits_cleanup()
{
	smtpd_cleanup
}

atf_test_case listener_that_cannot_bind_fails_the_reload cleanup
listener_that_cannot_bind_fails_the_reload_head()
{
	atf_set descr "A new listener on a port another program holds fails" \
	    "the reload with a line naming it; the running listener goes on"
}
listener_that_cannot_bind_fails_the_reload_body()
{
	local_rules | reload_config
	smtpd_start
	# A port held by a listening socket of this test for as long as
	# the reload is tried.
	W=$(pwd)
	atf_check -s exit:0 -o save:held_port -e save:err python3 - \
	    "$SMTPCTL" "$W" <<'PY'
import socket, subprocess, sys
ctl, w = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
port = s.getsockname()[1]
with open("smtpd.conf", "a") as f:
    f.write("listen on 127.0.0.1 port %d\n" % port)
r = subprocess.run([ctl, "-s", "smtpd.sock", "reload"], capture_output=True)
print(port)
sys.stderr.write(r.stderr.decode())
sys.exit(0 if r.returncode == 1 else "reload exit %d" % r.returncode)
PY
	busy=$(cat held_port)
	atf_check -s exit:0 -o ignore grep -E \
	    "^$W/smtpd\.conf:[0-9]+: .*port $busy" err
	wait_log "reload result=failed" || atf_fail "no result=failed"
	send_short "$MAILUSER@localhost"
	wait_mail 1 || atf_fail "not delivered"
}
listener_that_cannot_bind_fails_the_reload_cleanup()
{
	smtpd_cleanup
}

# The SHA-256 fingerprint of a certificate file, as tlsprobe.py prints it.
fingerprint()
{
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
	    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# The fingerprint of the certificate the listener presents after
# STARTTLS.
served()
{
	python3 "$TOP/regress/tlsprobe.py" "$(port)" |
	    sed -n 's/^tls=ok .* fingerprint=\([0-9a-f]*\)$/\1/p'
}

atf_test_case renewed_certificate_is_served cleanup
renewed_certificate_is_served_head()
{
	atf_set descr "A certificate and key renewed at the same paths are" \
	    "served after a reload, and not before it"
}
renewed_certificate_is_served_body()
{
	make_pki mx
	W=$(pwd)
	{ echo "pki mx cert \"$W/mx.crt\""
	  echo "pki mx key \"$W/mx.key\""
	  local_rules; } | reload_config tls pki mx
	smtpd_start
	old=$(fingerprint mx.crt)
	atf_check_equal "$old" "$(served)"
	make_pki mx
	new=$(fingerprint mx.crt)
	[ "$old" != "$new" ] || atf_fail "openssl made the same certificate"
	atf_check_equal "$old" "$(served)"
	reload_ok 2
	atf_check_equal "$new" "$(served)"
}
renewed_certificate_is_served_cleanup()
{
	smtpd_cleanup
}

atf_test_case broken_file_is_refused_and_old_config_works cleanup
broken_file_is_refused_and_old_config_works_head()
{
	atf_set descr "A file with a bad line is refused with its line" \
	    "number and exit 1; the parent logs the error and" \
	    "result=failed; mail is accepted and delivered under the old" \
	    "rules; the next good file makes generation 2"
}
broken_file_is_refused_and_old_config_works_body()
{
	local_rules | reload_config
	smtpd_start
	W=$(pwd)
	{ echo "table closed { \"$MAILUSER@localhost\" }"
	  echo 'match from any for rcpt-to <closed> reject "Closed here"'
	  local_rules
	  echo "this is no statement"; } | reload_config
	line=$(grep -n "^this is no statement" smtpd.conf | cut -d: -f1)
	atf_check -s exit:1 -o empty -e save:err \
	    "$SMTPCTL" -s smtpd.sock reload
	atf_check -s exit:0 -o ignore \
	    grep -E "^$W/smtpd\.conf:$line: .*this" err
	atf_check -s exit:0 -o inline:"configuration not reloaded\n" \
	    grep -Ev "^$W/smtpd\.conf:[0-9]+: " err
	wait_log "reload result=failed" || atf_fail "no result=failed"
	atf_check -s exit:0 -o ignore grep -F "smtpd.conf:$line: " smtpd.log
	_log_has "reload generation=" 1 && atf_fail "a reload was taken"
	send_short "$MAILUSER@localhost"
	wait_mail 1 || atf_fail "not delivered under the old configuration"
	sed -i '/^this is no statement/d' smtpd.conf
	reload_ok 2
	rcpt_gets "$MAILUSER@localhost" "^550 5.7.1 Closed here$"
}
broken_file_is_refused_and_old_config_works_cleanup()
{
	smtpd_cleanup
}

atf_test_case long_error_line_is_cut_and_the_daemon_goes_on cleanup
long_error_line_is_cut_and_the_daemon_goes_on_head()
{
	atf_set descr "An error line longer than an answer to smtpctl" \
	    "holds reaches it cut to 2047 bytes, with the refusal after" \
	    "it; the daemon goes on and takes the next good file"
}
long_error_line_is_cut_and_the_daemon_goes_on_body()
{
	W=$(pwd)
	# smtpd.conf names itself by its real path, of 3000 bytes, in
	# every line about it.
	deep=$W$(python3 -c 'print("/" + "/".join(["d" * 199] * 15))')
	mkdir -p "$deep"
	local_rules | reload_config
	mv smtpd.conf "$deep/smtpd.conf"
	ln -s "$deep/smtpd.conf" smtpd.conf
	smtpd_start
	{ local_rules; echo "this is no statement"; } | reload_config
	atf_check -s exit:1 -o empty -e save:err \
	    "$SMTPCTL" -s smtpd.sock reload
	atf_check -s exit:0 -o inline:"2047\n" \
	    awk '/dddd\/dddd/ { print length($0) }' err
	atf_check -s exit:0 -o inline:"configuration not reloaded\n" \
	    tail -n 1 err
	local_rules | reload_config
	reload_ok 2
}
long_error_line_is_cut_and_the_daemon_goes_on_cleanup()
{
	smtpd_cleanup
}

atf_test_case missing_file_is_refused cleanup
missing_file_is_refused_head()
{
	atf_set descr "A file the new configuration names that cannot be" \
	    "read, a certificate or a table, fails the reload with exit 1" \
	    "and a line naming it; the running listener goes on"
}
missing_file_is_refused_body()
{
	local_rules | reload_config
	smtpd_start
	W=$(pwd)
	{ echo "pki mx cert \"$W/missing.crt\""
	  echo "pki mx key \"$W/missing.key\""
	  local_rules; } | reload_config tls pki mx
	atf_check -s exit:1 -o empty -e save:err \
	    "$SMTPCTL" -s smtpd.sock reload
	atf_check -s exit:0 -o ignore \
	    grep -E "^$W/smtpd\.conf:[0-9]+: .*$W/missing\.crt" err
	{ echo "table gone file:$W/gone"
	  echo "action \"local\" maildir \"$W/Maildir\" alias <gone>"
	  echo 'match from any for local action "local"'; } | reload_config
	atf_check -s exit:1 -o empty -e save:err \
	    "$SMTPCTL" -s smtpd.sock reload
	atf_check -s exit:0 -o ignore \
	    grep -E "^$W/smtpd\.conf:[0-9]+: .*$W/gone" err
	wait_log "reload result=failed" 2 || atf_fail "no result=failed"
	send_short "$MAILUSER@localhost"
	wait_mail 1 || atf_fail "not delivered under the old configuration"
}
missing_file_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case restart_only_change_is_refused cleanup
restart_only_change_is_refused_head()
{
	atf_set descr "A new queue directory, control socket, offline" \
	    "directory or trusted-group is refused with exit 1 and a line" \
	    "saying it cannot change without a restart; the daemon goes on" \
	    "as it was"
}
restart_only_change_is_refused_body()
{
	W=$(pwd)
	{ echo "listen on socket trusted-group root"
	  local_rules; } | reload_config
	smtpd_start
	cp smtpd.conf good.conf
	# refused WHAT SED-EXPRESSION: the good file changed by the
	# expression is refused for WHAT.
	refused()
	{
		sed "$2" good.conf > smtpd.conf
		cmp -s good.conf smtpd.conf && atf_fail "$2 changed nothing"
		why="$1 cannot change without a restart"
		atf_check -s exit:1 -o empty -e match:"^$W/smtpd\.conf: $why\$" \
		    "$SMTPCTL" -s smtpd.sock reload
	}
	refused queue "s|^queue directory .*|queue directory \"$W/spool2\"|"
	refused "control socket" \
	    "s|^control socket .*|control socket \"$W/other.sock\"|"
	refused "offline directory" \
	    "1i offline directory \"$W/offline2\""
	refused trusted-group \
	    "s|trusted-group root|trusted-group nogroup|"
	wait_log "reload result=failed" 4 || atf_fail "not logged 4 times"
	[ -e spool2 ] && atf_fail "spool2 was made"
	[ -e other.sock ] && atf_fail "other.sock was made"
	cp good.conf smtpd.conf
	reload_ok 2
	send_short "$MAILUSER@localhost"
	wait_mail 1 || atf_fail "not delivered"
}
restart_only_change_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case sighup_reloads cleanup
sighup_reloads_head()
{
	atf_set descr "SIGHUP to the parent reloads as smtpctl reload does," \
	    "with the result in the log only: a changed rule applies to a" \
	    "new session; a broken file is logged as failed and changes" \
	    "nothing"
}
sighup_reloads_body()
{
	local_rules | reload_config
	smtpd_start
	W=$(pwd)
	{ echo "table closed { \"$MAILUSER@localhost\" }"
	  echo 'match from any for rcpt-to <closed> reject "Closed here"'
	  local_rules; } | reload_config
	kill -HUP "$(smtpd_pid)"
	wait_log "reload generation=2 result=ok" || atf_fail "not reloaded"
	rcpt_gets "$MAILUSER@localhost" "^550 5.7.1 Closed here$"
	local_rules | reload_config
	echo "this is no statement" >> smtpd.conf
	kill -HUP "$(smtpd_pid)"
	wait_log "reload result=failed" || atf_fail "no result=failed"
	rcpt_gets "$MAILUSER@localhost" "^550 5.7.1 Closed here$"
	sed -i '/^this is no statement/d' smtpd.conf
	kill -HUP "$(smtpd_pid)"
	wait_log "reload generation=3 result=ok" || atf_fail "not reloaded"
	send_short "$MAILUSER@localhost"
	wait_mail 1 || atf_fail "not delivered"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
sighup_reloads_cleanup()
{
	smtpd_cleanup
}

atf_test_case concurrent_reloads_are_all_answered cleanup
concurrent_reloads_are_all_answered_head()
{
	atf_set descr "Five smtpctl reload started at once, and a SIGHUP" \
	    "among them: every smtpctl gets an answer, a generation of its" \
	    "own or \"a reload is under way\" with exit 1, and at least" \
	    "one reload is made"
}
concurrent_reloads_are_all_answered_body()
{
	local_rules | reload_config
	smtpd_start
	atf_check -s exit:0 -o save:answers python3 - "$SMTPCTL" \
	    "$(smtpd_pid)" <<'PY'
import os, signal, subprocess, sys
ctl, parent = sys.argv[1], int(sys.argv[2])
runs = [subprocess.Popen([ctl, "-s", "smtpd.sock", "reload"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(5)]
os.kill(parent, signal.SIGHUP)
for r in runs:
    # Not a measure of speed: an smtpctl never answered waits forever.
    try:
        out, _ = r.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        r.kill()
        print("no answer")
        continue
    print("%d %s" % (r.returncode, out.decode().strip()))
PY
	cat answers
	atf_check -s exit:1 -o empty grep -Evx \
	    "0 configuration reloaded: generation [0-9]+|1 a reload is under way" \
	    answers
	# The SIGHUP's may be the one made, with every smtpctl told that
	# it is under way; then the log has it.
	grep -q "^0 " answers || wait_log "reload generation=2 result=ok" ||
	    atf_fail "no reload was made"
	atf_check_equal "" "$(grep "^0 " answers | sort | uniq -d)"
}
concurrent_reloads_are_all_answered_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_table_change_applies_after_reload cleanup
alias_table_change_applies_after_reload_head()
{
	atf_set descr "An alias added to an alias file is used after a" \
	    "reload, without smtpctl update table"
}
alias_table_change_applies_after_reload_body()
{
	W=$(pwd)
	echo "first: $MAILUSER" > aliases
	{ echo "table aliases file:$W/aliases"
	  echo "action \"local\" maildir \"$W/Maildir\" alias <aliases>"
	  echo 'match from any for local action "local"'; } | reload_config
	smtpd_start
	rcpt_gets second@localhost "^550 "
	printf 'first: %s\nsecond: %s\n' "$MAILUSER" "$MAILUSER" > aliases
	reload_ok 2
	send_short second@localhost
	wait_mail 1 || atf_fail "not delivered"
}
alias_table_change_applies_after_reload_cleanup()
{
	smtpd_cleanup
}

atf_test_case killfile_change_applies_after_reload cleanup
killfile_change_applies_after_reload_head()
{
	atf_set descr "A sender added to the kill file is refused after a" \
	    "reload; a kill file with a bad entry fails the reload and" \
	    "leaves the old one in use"
}
killfile_change_applies_after_reload_body()
{
	W=$(pwd)
	echo "@first.example" > kill
	{ echo "table kill file:$W/kill"
	  echo "killfile <kill>"
	  local_rules; } | reload_config
	smtpd_start
	printf '@first.example\nnot an entry\n' > kill
	atf_check -s exit:1 -o empty -e match:"kill:2: bad entry" \
	    "$SMTPCTL" -s smtpd.sock reload
	send_short "$MAILUSER@localhost"
	printf '@first.example\n@client.test\n' > kill
	reload_ok 2
	talk killed.out <<'EOF'
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@client.test>
< ^550 5.7.1 Sender address rejected
> QUIT
< ^221
EOF
}
killfile_change_applies_after_reload_cleanup()
{
	smtpd_cleanup
}

atf_test_case include_beside_a_new_alias_table_is_read cleanup
include_beside_a_new_alias_table_is_read_head()
{
	atf_set descr "An alias table a reload adds, in a directory no table" \
	    "was in before, includes a file of that directory at once:" \
	    "the parent reads it with the table, lookup opens nothing"
}
include_beside_a_new_alias_table_is_read_body()
{
	local_rules | reload_config
	smtpd_start
	W=$(pwd)
	mkdir -m 700 new
	echo "$MAILUSER" > new/list
	echo "inc: :include:$W/new/list" > new/aliases
	chmod 600 new/list new/aliases
	{ echo "table aliases file:$W/new/aliases"
	  echo "action \"local\" maildir \"$W/Maildir\" alias <aliases>"
	  echo 'match from any for local action "local"'; } | reload_config
	reload_ok 2
	send_short inc@localhost
	wait_mail 1 || atf_fail "not delivered through the include"
}
include_beside_a_new_alias_table_is_read_cleanup()
{
	smtpd_cleanup
}

atf_test_case include_is_read_again_with_its_table cleanup
include_is_read_again_with_its_table_head()
{
	atf_set descr "An included file is read with its table: an edit is" \
	    "seen after smtpctl update table, not before; a link in its" \
	    "place is not read, and its recipients fail for now"
}
include_is_read_again_with_its_table_body()
{
	W=$(pwd)
	mkdir -m 755 out
	chmod 777 out
	echo "$W/out/one.mbox" > list
	echo "inc: :include:$W/list" > aliases
	{ echo "table aliases file:$W/aliases"
	  echo "action \"local\" maildir \"$W/Maildir\" alias <aliases>"
	  echo 'match from any for local action "local"'; } | reload_config
	smtpd_start
	send_short inc@localhost
	wait_until test -s out/one.mbox || atf_fail "first not delivered"
	echo "$W/out/two.mbox" > list
	send_short inc@localhost
	wait_log "result=delivered" 2 || atf_fail "second not delivered"
	atf_check -s exit:0 test ! -e out/two.mbox
	atf_check -s exit:0 -o match:"table aliases: 1 entries" \
	    "$SMTPCTL" -s smtpd.sock update table aliases
	send_short inc@localhost
	wait_until test -s out/two.mbox || atf_fail "the edit was not read"
	# A link is not followed: the parent reads as root.
	mv list list.real
	ln -s list.real list
	atf_check -s exit:0 -o ignore \
	    "$SMTPCTL" -s smtpd.sock update table aliases
	wait_log "include $W/list: Too many levels of symbolic links" ||
	    atf_fail "the link was not refused"
	rcpt_gets inc@localhost "^451 "
}
include_is_read_again_with_its_table_cleanup()
{
	smtpd_cleanup
}

atf_test_case update_table_reads_a_table_a_reload_added cleanup
update_table_reads_a_table_a_reload_added_head()
{
	atf_set descr "smtpctl update table reads a file table that a reload" \
	    "added, in a directory no table was in before; the table does" \
	    "not fail"
}
update_table_reads_a_table_a_reload_added_body()
{
	local_rules | reload_config
	smtpd_start
	W=$(pwd)
	mkdir -m 755 new
	echo "first@client.test" > new/senders
	chmod 644 new/senders
	{ echo "table senders file:$W/new/senders"
	  echo "action \"local\" maildir \"$W/Maildir\""
	  echo 'match from mail-from <senders> for local reject "Listed"'
	  echo 'match from any for local action "local"'; } | reload_config
	reload_ok 2
	printf 'first@client.test\na@client.test\n' > new/senders
	atf_check -s exit:0 -o inline:"table senders: 2 entries\n" \
	    "$SMTPCTL" -s smtpd.sock update table senders
	rcpt_gets "$MAILUSER@localhost" "^550 5.7.1 Listed$"
}
update_table_reads_a_table_a_reload_added_cleanup()
{
	smtpd_cleanup
}

PASSWORD="c0rrect-H0rse-9471"
RENEWED="n3w-B4ttery-5823"

# auth_gets USER PASSWORD REGEX: a session over STARTTLS whose AUTH
# PLAIN gets a reply matching REGEX.
auth_gets()
{
	token=$(python3 -c 'import base64, sys
print(base64.b64encode(b"\0" + sys.argv[1].encode() + b"\0" +
    sys.argv[2].encode()).decode())' "$1" "$2")
	talk auth.out <<EOF
< ^220
> EHLO client.test
< ^250
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
< ^250
> AUTH PLAIN $token
< $3
> QUIT
< ^221
EOF
}

atf_test_case credentials_change_applies_after_reload cleanup
credentials_change_applies_after_reload_head()
{
	atf_set descr "A password changed in the credentials table counts" \
	    "after a reload: the new one logs in, the old one no longer"
}
credentials_change_applies_after_reload_body()
{
	W=$(pwd)
	make_pki mx
	add_creds creds alice "$PASSWORD"
	{ echo "pki mx cert \"$W/mx.crt\""
	  echo "pki mx key \"$W/mx.key\""
	  echo "table creds file:$W/creds"
	  echo "smtp limit auth-failure-delay 0s"
	  local_rules; } | reload_config tls pki mx auth-optional "<creds>"
	smtpd_start
	auth_gets alice "$PASSWORD" "^235 "
	: > creds
	add_creds creds alice "$RENEWED"
	auth_gets alice "$RENEWED" "^535 "
	reload_ok 2
	auth_gets alice "$RENEWED" "^235 "
	auth_gets alice "$PASSWORD" "^535 "
}
credentials_change_applies_after_reload_cleanup()
{
	smtpd_cleanup
}

atf_test_case queued_mail_of_a_removed_action_is_held cleanup
queued_mail_of_a_removed_action_is_held_head()
{
	atf_set descr "An envelope queued for an action that a reload" \
	    "removes is held with the error \"no such action\", not lost;" \
	    "once a reload brings the action back, schedule delivers it"
}
queued_mail_of_a_removed_action_is_held_body()
{
	local_rules | reload_config
	smtpd_start
	atf_check -s exit:0 -o inline:"mda paused\n" \
	    "$SMTPCTL" -s smtpd.sock pause mda
	send_short "$MAILUSER@localhost"
	W=$(pwd)
	{ echo "action \"box\" maildir \"$W/Maildir\""
	  echo 'match from any for local action "box"'; } | reload_config
	reload_ok 2
	atf_check -s exit:0 -o inline:"mda resumed\n" \
	    "$SMTPCTL" -s smtpd.sock resume mda
	wait_log 'result=held error="no such action"' ||
	    atf_fail "not held: $(tail -n 5 smtpd.log)"
	atf_check -s exit:0 -o match:"	held	1	never	no such action\$" \
	    "$SMTPCTL" -s smtpd.sock show queue
	local_rules | reload_config
	reload_ok 3
	atf_check -s exit:0 -o inline:"1 envelope scheduled\n" \
	    "$SMTPCTL" -s smtpd.sock schedule all
	wait_mail 1 || atf_fail "not delivered"
}
queued_mail_of_a_removed_action_is_held_cleanup()
{
	smtpd_cleanup
}

atf_test_case reload_under_load_loses_no_message cleanup
reload_under_load_loses_no_message_head()
{
	atf_set descr "20 clients send messages, in sessions that span" \
	    "reloads and sessions that start between them, while smtpctl" \
	    "reload runs 5 times: every reload succeeds, no command gets" \
	    "a 4xx or 5xx and no connection drops, and every message" \
	    "accepted is delivered once"
	atf_set timeout 600
}
reload_under_load_loses_no_message_body()
{
	local_rules | reload_config
	smtpd_start
	atf_check -s exit:0 -o save:load python3 - "$(port)" "$SMTPCTL" \
	    "$MAILUSER@localhost" <<'PY'
import smtplib, subprocess, sys, threading
port, ctl, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CLIENTS, RELOADS, PER_SESSION, MOST = 20, 5, 3, 60
# Every client has sent a message before the first reload, and goes on
# until the last one has returned, then sends once more.
started = threading.Barrier(CLIENTS + 1)
reloaded = threading.Event()
lock = threading.Lock()
sent = [0]
errors = []

def client(n):
    count = 0
    first = True
    while True:
        last = reloaded.is_set()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.ehlo("c%d.test" % n)
                for _ in range(PER_SESSION):
                    msg = ("Subject: c%d m%d\r\n\r\nbody\r\n" %
                           (n, count)).encode()
                    refused = s.sendmail("c%d@client.test" % n, [rcpt], msg)
                    if refused:
                        raise RuntimeError("refused %r" % refused)
                    count += 1
                    with lock:
                        sent[0] += 1
                    if first:
                        first = False
                        started.wait()
        except Exception as e:
            with lock:
                errors.append("client %d: %r" % (n, e))
            if first:
                started.abort()
            return
        if last or count >= MOST:
            return

threads = [threading.Thread(target=client, args=(n,))
           for n in range(CLIENTS)]
for t in threads:
    t.start()
try:
    started.wait()
except threading.BrokenBarrierError:
    pass
outputs = []
for _ in range(RELOADS):
    r = subprocess.run([ctl, "-s", "smtpd.sock", "reload"],
                       capture_output=True)
    outputs.append("%d %s" % (r.returncode, r.stdout.decode().strip()))
reloaded.set()
for t in threads:
    t.join()
for o in outputs:
    print("reload=%s" % o)
for e in errors:
    print("error=%s" % e)
print("sent=%d errors=%d" % (sent[0], len(errors)))
PY
	cat load
	for n in 2 3 4 5 6; do
		atf_check -s exit:0 -o ignore grep -x \
		    "reload=0 configuration reloaded: generation $n" load
	done
	atf_check -s exit:0 -o ignore grep -x "sent=[0-9]* errors=0" load
	sent=$(sed -n 's/^sent=\([0-9]*\) .*/\1/p' load)
	[ "$sent" -ge 40 ] || atf_fail "only $sent messages sent"
	wait_log "reload generation=6 result=ok" || atf_fail "not switched"
	wait_mail "$sent" || atf_fail "$(maildir_messages | grep -c .) of" \
	    "$sent delivered"
	wait_until _log_has "result=delivered" "$sent" ||
	    atf_fail "fewer deliveries logged than $sent"
	echo "sent $sent, delivered $(maildir_messages | grep -c .)"
	atf_check_equal "$sent" "$(maildir_messages | grep -c .)"
	atf_check_equal "$sent" "$(grep -c "result=delivered" smtpd.log)"
}
reload_under_load_loses_no_message_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case changed_rule_applies_to_new_sessions_only
	atf_add_test_case added_listener_answers
	atf_add_test_case removed_listener_stops
	atf_add_test_case changed_listener_options_apply_to_new_sessions
	atf_add_test_case old_session_keeps_its_limits
	atf_add_test_case listener_that_cannot_bind_fails_the_reload
	atf_add_test_case renewed_certificate_is_served
	atf_add_test_case broken_file_is_refused_and_old_config_works
	atf_add_test_case long_error_line_is_cut_and_the_daemon_goes_on
	atf_add_test_case missing_file_is_refused
	atf_add_test_case restart_only_change_is_refused
	atf_add_test_case sighup_reloads
	atf_add_test_case concurrent_reloads_are_all_answered
	atf_add_test_case alias_table_change_applies_after_reload
	atf_add_test_case killfile_change_applies_after_reload
	atf_add_test_case include_beside_a_new_alias_table_is_read
	atf_add_test_case include_is_read_again_with_its_table
	atf_add_test_case update_table_reads_a_table_a_reload_added
	atf_add_test_case credentials_change_applies_after_reload
	atf_add_test_case queued_mail_of_a_removed_action_is_held
	atf_add_test_case reload_under_load_loses_no_message
}
