#! /usr/bin/env atf-sh
#
# smtpctl and the queue: listing envelopes and showing one, showing a
# stored message, trying again now, removing, pausing delivery and the
# listener, and the counters; a client that sends garbage is dropped
# alone.  Mail for remote.example is relayed to a host that refuses
# connections, so its envelopes stay in the queue, waiting an hour.

. "$(atf_get_srcdir)/../lib.sh"

TAB=$(printf '\t')

ctl()
{
	"$SMTPCTL" -s smtpd.sock "$@"
}

relay_config()
{
	smtpd_config <<CONF
queue retry 1h
action "out" relay host smtp://127.0.0.1:$DEAD_PORT
match from any for domain "remote.example" action "out"
CONF
}

# The error of a relayed envelope, and its next try after it.
DEAD="451 4.4.1 cannot connect to 127.0.0.1: Connection refused"
LATER="in [0-9]+[mh]"

# send_mail FROM RCPT...: the message on stdin, LF line endings; its
# msgid on stdout.
send_mail()
{
	python3 - "$(port)" "$@" 3<&0 <<'PY'
import os, re, smtplib, sys
port, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
msg = os.fdopen(3, "rb").read().replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
    s.ehlo("client.test")
    s.mail(sender)
    for r in rcpts:
        code, _ = s.rcpt(r)
        if code != 250:
            sys.exit("RCPT %s: %d" % (r, code))
    code, reply = s.data(msg)
    if code != 250:
        sys.exit("DATA: %d %r" % (code, reply))
    print(re.search(rb"queued as ([0-9a-f]{8})", reply).group(1).decode())
PY
}

# A short message, for when its text does not matter.
send_short()
{
	printf 'Subject: test\n\nhello\n' | send_mail "$@"
}

# The field (1 evpid, 2 sender, 3 recipient, 4 state, 5 tries, 6 next
# try, 7 last error) of show queue for a recipient.
# queue_field RCPT FIELD [FILE]: a field of RCPT's line of show queue,
# or of FILE, a listing saved before (the next try counts down).
queue_field()
{
	if [ $# -gt 2 ]; then
		cat "$3"
	else
		ctl show queue
	fi | awk -F"$TAB" -v r="$1" -v f="$2" '$3 == r { print $f }'
}

_queue_is()
{
	[ "$(queue_field "$1" 4)" = "$2" ] && [ "$(queue_field "$1" 5)" = "$3" ]
}

# wait_queue RCPT STATE TRIES
wait_queue()
{
	wait_until _queue_is "$@"
}

# Files in the spool whose name holds one of the ids.
spool_files()
{
	for _id in "$@"; do
		find spool -type f -name "*$_id*"
	done
}

atf_test_case show_queue_lists_waiting_envelopes cleanup
show_queue_lists_waiting_envelopes_head()
{
	atf_set descr "show queue lists a relayed envelope that failed for" \
	    "now and a local one waiting while mda is paused, with sender," \
	    "recipient, state, tries, next try and last error"
}
show_queue_lists_waiting_envelopes_body()
{
	relay_config
	smtpd_start
	atf_check -s exit:0 -o inline:"mda paused\n" \
	    "$SMTPCTL" -s smtpd.sock pause mda
	send_short a@b.example x@remote.example >msgid1 || atf_fail "send"
	send_short "" "$MAILUSER@localhost" >msgid2 || atf_fail "send"
	wait_log "result=tempfail" || atf_fail "not tried"
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
	ctl show queue > queue || atf_fail "show queue failed"
	atf_check_equal 2 "$(grep -c . queue)"
	evp1=$(queue_field x@remote.example 1 queue)
	evp2=$(queue_field "$MAILUSER@localhost" 1 queue)
	echo "$evp1" | grep -q "^$(cat msgid1)[0-9a-f]\{8\}\$" ||
	    atf_fail "evpid $evp1 is not of message $(cat msgid1)"
	echo "$evp2" | grep -q "^$(cat msgid2)[0-9a-f]\{8\}\$" ||
	    atf_fail "evpid $evp2 is not of message $(cat msgid2)"
	next=$(queue_field x@remote.example 6 queue)
	echo "$next" | grep -Eqx "$LATER" || atf_fail "next try: $next"
	{ printf '%s\t' "$evp1" a@b.example x@remote.example waiting 1 \
	    "$next"
	  echo "$DEAD"
	  printf '%s\t' "$evp2" "<>" "$MAILUSER@localhost" waiting 0 now
	  echo "-"; } | sort > want
	sort queue > got
	atf_check -s exit:0 cmp want got
}
show_queue_lists_waiting_envelopes_cleanup()
{
	smtpd_cleanup
}

atf_test_case show_envelope_prints_the_stored_fields cleanup
show_envelope_prints_the_stored_fields_head()
{
	atf_set descr "show envelope prints the envelope as its file holds" \
	    "it, one key and value a line"
}
show_envelope_prints_the_stored_fields_body()
{
	relay_config
	smtpd_start
	send_short a@b.example x@remote.example >/dev/null || atf_fail "send"
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
	evp=$(queue_field x@remote.example 1)
	ctl show envelope "$evp" > got || atf_fail "show envelope failed"
	atf_check -s exit:0 -o match:"^id $evp\$" cat got
	atf_check -s exit:0 -o match:"^sender a@b.example\$" cat got
	atf_check -s exit:0 -o match:"^rcpt x@remote.example\$" cat got
	atf_check -s exit:0 -o match:"^action out\$" cat got
	atf_check -s exit:0 -o match:"^helo client.test\$" cat got
	atf_check -s exit:0 -o match:"^tries 1\$" cat got
	atf_check -s exit:0 -o match:"^lasterr $DEAD\$" cat got
	file=$(spool_files "$evp")
	[ -n "$file" ] || atf_fail "no file for $evp in the spool"
	atf_check -s exit:0 cmp "$file" got
}
show_envelope_prints_the_stored_fields_cleanup()
{
	smtpd_cleanup
}

atf_test_case show_escapes_control_characters cleanup
show_escapes_control_characters_head()
{
	atf_set descr "show queue and show envelope print a control character" \
	    "of a stored field, a tab included, as a backslash and three" \
	    "octal digits: no escape sequence reaches the terminal and no" \
	    "field is split"
}
show_escapes_control_characters_body()
{
	relay_config
	# An envelope as the file format allows it: any byte but CR, LF
	# and NUL.  Relayed mail stays in the queue, waiting.
	mkdir -p spool/queue
	printf 'Subject: odd\n\nbody\n' > spool/queue/0000abcd
	printf '%s\n' "version 1" "id 0000abcd00000001" \
	    "sender a$(printf '\033')[2J@b.example" "rcpt x@remote.example" \
	    "action out" "user " "target " \
	    "helo evil$(printf '\t')(forged [192.0.2.1])$(printf '\007')" \
	    "client 127.0.0.1" "created $(date +%s)" "tries 0" "lasterr " \
	    "dsn-ret " "dsn-envid " "dsn-notify " "dsn-orcpt " "warned 0" \
	    > spool/queue/0000abcd00000001
	[ "$(id -u)" -ne 0 ] || chown -R _smtpq:_smtpq spool
	smtpd_start
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
	ctl show queue > queue || atf_fail "show queue failed"
	{ printf '%s\t' 0000abcd00000001 'a\033[2J@b.example' \
	    x@remote.example waiting 1 "$(queue_field x@remote.example 6)"
	  echo "$DEAD"; } > want
	atf_check -s exit:0 cmp want queue
	ctl show envelope 0000abcd00000001 > got ||
	    atf_fail "show envelope failed"
	atf_check -s exit:0 -o match:'^sender a\\033\[2J@b\.example$' cat got
	atf_check -s exit:0 \
	    -o match:'^helo evil\\011\(forged \[192\.0\.2\.1\]\)\\007$' cat got
	atf_check -s exit:1 -o empty grep -F "$(printf '\033')" queue got
	atf_check -s exit:1 -o empty grep -F "$(printf '\007')" queue got
	atf_check -s exit:1 -o empty grep -F "$(printf '\t')" got
}
show_escapes_control_characters_cleanup()
{
	smtpd_cleanup
}

atf_test_case show_message_prints_it_byte_for_byte cleanup
show_message_prints_it_byte_for_byte_head()
{
	atf_set descr "show message, by msgid or evpid, prints the stored" \
	    "message byte for byte; it ends with what was sent"
}
show_message_prints_it_byte_for_byte_body()
{
	relay_config
	smtpd_start
	python3 - > sent <<'PY'
import sys
lines = ["Subject: byte for byte", "", "body line one",
    ".a dot first", ".", "trailing   ", "\ttabs\t",
    "caf\u00e9 \u65e5\u672c", "x" * 900, "", "last"]
sys.stdout.buffer.write(("\n".join(lines) + "\n").encode("utf-8"))
PY
	msgid=$(send_mail a@b.example x@remote.example < sent) ||
	    atf_fail "send"
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
	ctl show message "$msgid" > got || atf_fail "show message failed"
	file=$(spool_files "$msgid" | grep -v "$msgid[0-9a-f]\{8\}")
	[ -n "$file" ] || atf_fail "no file for $msgid in the spool"
	atf_check -s exit:0 cmp "$file" got
	tail -c "$(wc -c < sent)" got > tail
	atf_check -s exit:0 cmp sent tail
	evp=$(queue_field x@remote.example 1)
	ctl show message "$evp" > got2 || atf_fail "show message by evpid"
	atf_check -s exit:0 cmp got got2
}
show_message_prints_it_byte_for_byte_cleanup()
{
	smtpd_cleanup
}

atf_test_case pause_mda_keeps_local_mail_waiting cleanup
pause_mda_keeps_local_mail_waiting_head()
{
	atf_set descr "While mda is paused local mail waits in the queue;" \
	    "resume mda delivers it"
}
pause_mda_keeps_local_mail_waiting_body()
{
	smtpd_start
	atf_check -s exit:0 -o inline:"mda paused\n" \
	    "$SMTPCTL" -s smtpd.sock pause mda
	send_short a@b.example "$MAILUSER@localhost" >/dev/null ||
	    atf_fail "send"
	# Due at once, and asked for now: a scheduler pass that says it
	# held the envelope back proves the pause, without a clock.
	atf_check -s exit:0 -o inline:"1 envelope scheduled\n" \
	    "$SMTPCTL" -s smtpd.sock schedule all
	wait_log "held back by a pause" ||
	    atf_fail "no scheduler pass while paused"
	atf_check_equal waiting "$(queue_field "$MAILUSER@localhost" 4)"
	_log_has "result=delivered" 1 && atf_fail "delivered while paused"
	atf_check -s exit:0 -o inline:"mda resumed\n" \
	    "$SMTPCTL" -s smtpd.sock resume mda
	wait_log "result=delivered" || atf_fail "not delivered after resume"
	wait_mail || atf_fail "no mail in the maildir"
	atf_check -s exit:0 -o empty "$SMTPCTL" -s smtpd.sock show queue
}
pause_mda_keeps_local_mail_waiting_cleanup()
{
	smtpd_cleanup
}

atf_test_case pause_mta_keeps_relayed_mail_waiting cleanup
pause_mta_keeps_relayed_mail_waiting_head()
{
	atf_set descr "While mta is paused a relayed envelope waits instead" \
	    "of being tried; resume mta tries it"
}
pause_mta_keeps_relayed_mail_waiting_body()
{
	relay_config
	smtpd_start
	atf_check -s exit:0 -o inline:"mta paused\n" \
	    "$SMTPCTL" -s smtpd.sock pause mta
	send_short a@b.example x@remote.example >/dev/null || atf_fail "send"
	# Local mail is not held back by it.
	send_short a@b.example "$MAILUSER@localhost" >/dev/null ||
	    atf_fail "send"
	wait_log "result=delivered" || atf_fail "local mail not delivered"
	atf_check_equal "waiting 0" "$(queue_field x@remote.example 4) \
$(queue_field x@remote.example 5)"
	_log_has "result=tempfail" 1 && atf_fail "tried while paused"
	atf_check -s exit:0 -o inline:"mta resumed\n" \
	    "$SMTPCTL" -s smtpd.sock resume mta
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
}
pause_mta_keeps_relayed_mail_waiting_cleanup()
{
	smtpd_cleanup
}

atf_test_case schedule_tries_a_waiting_envelope_again cleanup
schedule_tries_a_waiting_envelope_again_head()
{
	atf_set descr "schedule all, or the evpid or msgid, makes a waiting" \
	    "envelope due: it is tried again, and waits again with the" \
	    "same error as its host still refuses connections"
}
schedule_tries_a_waiting_envelope_again_body()
{
	relay_config
	smtpd_start
	msgid=$(send_short a@b.example x@remote.example) || atf_fail "send"
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
	atf_check -s exit:0 -o inline:"1 envelope scheduled\n" \
	    "$SMTPCTL" -s smtpd.sock schedule all
	wait_queue x@remote.example waiting 2 || atf_fail "$(ctl show queue)"
	evp=$(queue_field x@remote.example 1)
	atf_check -s exit:0 -o inline:"1 envelope scheduled\n" \
	    "$SMTPCTL" -s smtpd.sock schedule "$evp"
	wait_queue x@remote.example waiting 3 || atf_fail "$(ctl show queue)"
	atf_check -s exit:0 -o inline:"1 envelope scheduled\n" \
	    "$SMTPCTL" -s smtpd.sock schedule "$msgid"
	wait_queue x@remote.example waiting 4 || atf_fail "$(ctl show queue)"
	atf_check_equal "$DEAD" "$(queue_field x@remote.example 7)"
	atf_check -s exit:0 -o match:"^tries 4\$" \
	    "$SMTPCTL" -s smtpd.sock show envelope "$evp"
}
schedule_tries_a_waiting_envelope_again_cleanup()
{
	smtpd_cleanup
}

atf_test_case remove_empties_the_queue cleanup
remove_empties_the_queue_head()
{
	atf_set descr "remove EVPID, remove MSGID and remove all take" \
	    "envelopes and messages out of the listing and off the disk," \
	    "for good: a restart does not bring them back"
}
remove_empties_the_queue_body()
{
	relay_config
	smtpd_start
	m1=$(send_short a@b.example x1@remote.example y1@remote.example) ||
	    atf_fail "send"
	m2=$(send_short a@b.example x2@remote.example) || atf_fail "send"
	m3=$(send_short a@b.example x3@remote.example) || atf_fail "send"
	wait_log "result=tempfail" 4 || atf_fail "not tried"
	e1=$(queue_field x1@remote.example 1)
	atf_check -s exit:0 -o inline:"1 envelope removed\n" \
	    "$SMTPCTL" -s smtpd.sock remove "$e1"
	atf_check_equal "" "$(spool_files "$e1")"
	# The message stays for its other envelope.
	[ -n "$(spool_files "$m1")" ] || atf_fail "message $m1 went too early"
	atf_check -s exit:1 -e match:"unknown envelope $e1" \
	    "$SMTPCTL" -s smtpd.sock show envelope "$e1"
	atf_check -s exit:0 -o inline:"1 envelope removed\n" \
	    "$SMTPCTL" -s smtpd.sock remove "$m2"
	atf_check_equal "" "$(spool_files "$m2")"
	atf_check_equal 2 "$(ctl show queue | grep -c .)"
	atf_check -s exit:0 -o inline:"2 envelopes removed\n" \
	    "$SMTPCTL" -s smtpd.sock remove all
	atf_check -s exit:0 -o empty "$SMTPCTL" -s smtpd.sock show queue
	atf_check_equal "" "$(spool_files "$m1" "$m2" "$m3")"
	atf_check -s exit:0 -o inline:"0 envelopes removed\n" \
	    "$SMTPCTL" -s smtpd.sock remove all
	smtpd_cleanup
	rm -f smtpd.pid
	smtpd_start
	atf_check -s exit:0 -o empty "$SMTPCTL" -s smtpd.sock show queue
	atf_check -s exit:0 -o match:"^queue.envelopes=0\$" \
	    "$SMTPCTL" -s smtpd.sock show stats
}
remove_empties_the_queue_cleanup()
{
	smtpd_cleanup
}

atf_test_case pause_smtp_stops_accepting cleanup
pause_smtp_stops_accepting_head()
{
	atf_set descr "While smtp is paused a new connection gets no" \
	    "banner and an open session goes on; on resume the waiting" \
	    "connection is greeted"
}
pause_smtp_stops_accepting_body()
{
	smtpd_start
	atf_check -s exit:0 python3 - "$(port)" "$SMTPCTL" \
	    "$(pwd)/smtpd.sock" <<'PY'
import socket, subprocess, sys
port, ctl, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def smtpctl(*args):
    out = subprocess.run([ctl, "-s", sock] + list(args), check=True,
        capture_output=True).stdout
    return out.decode()

def reply(f):
    while True:
        line = f.readline()
        if len(line) < 4 or line[3:4] != b"-":
            return line

old = socket.create_connection(("127.0.0.1", port), timeout=10)
oldf = old.makefile("rb")
if not reply(oldf).startswith(b"220"):
    sys.exit("no banner before the pause")
if smtpctl("pause", "smtp") != "smtp paused\n":
    sys.exit("pause smtp did not say so")
new = socket.create_connection(("127.0.0.1", port), timeout=10)
new.settimeout(1.5)
try:
    data = new.recv(512)
    sys.exit("got %r while paused" % data)
except socket.timeout:
    pass
old.sendall(b"NOOP\r\n")
if not reply(oldf).startswith(b"250"):
    sys.exit("the open session did not go on")
if "smtp.sessions=1\n" not in smtpctl("show", "stats"):
    sys.exit("the paused connection was counted")
if smtpctl("resume", "smtp") != "smtp resumed\n":
    sys.exit("resume smtp did not say so")
new.settimeout(10)
if not new.makefile("rb").readline().startswith(b"220"):
    sys.exit("no banner after resume")
PY
}
pause_smtp_stops_accepting_cleanup()
{
	smtpd_cleanup
}

atf_test_case show_stats_counts_what_happened cleanup
show_stats_counts_what_happened_head()
{
	atf_set descr "show stats counts sessions, envelopes by state and" \
	    "deliveries as they happened, and the uptime"
}
show_stats_counts_what_happened_body()
{
	relay_config
	smtpd_start
	send_short a@b.example "$MAILUSER@localhost" >/dev/null ||
	    atf_fail "send"
	wait_log "result=delivered" || atf_fail "not delivered"
	send_short a@b.example x@remote.example >/dev/null || atf_fail "send"
	wait_queue x@remote.example waiting 1 || atf_fail "$(ctl show queue)"
	wait_until sh -c "'$SMTPCTL' -s smtpd.sock show stats |
	    grep -qx smtp.sessions=0" || atf_fail "sessions still open"
	ctl show stats > stats || atf_fail "show stats failed"
	sed 's/^uptime=[0-9]*$/uptime=N/' stats > got
	cat > want <<'EOF'
smtp.sessions=0
smtp.sessions.total=2
queue.envelopes=1
queue.waiting=1
queue.inflight=0
queue.held=0
delivery.ok=1
delivery.tempfail=1
delivery.permfail=0
uptime=N
EOF
	atf_check -s exit:0 cmp want got
}
show_stats_counts_what_happened_cleanup()
{
	smtpd_cleanup
}

atf_test_case unknown_ids_fail cleanup
unknown_ids_fail_head()
{
	atf_set descr "An unknown evpid or msgid, or what is no id, is an" \
	    "error with exit 1; all matching nothing is not"
}
unknown_ids_fail_body()
{
	smtpd_start
	for cmd in "show envelope" "show message" schedule remove; do
		atf_check -s exit:1 \
		    -e inline:"unknown envelope 0123456789abcdef\n" \
		    "$SMTPCTL" -s smtpd.sock $cmd 0123456789abcdef
	done
	for cmd in "show message" schedule remove; do
		atf_check -s exit:1 -e inline:"unknown message deadbeef\n" \
		    "$SMTPCTL" -s smtpd.sock $cmd deadbeef
	done
	atf_check -s exit:1 -e match:"not an envelope id" \
	    "$SMTPCTL" -s smtpd.sock show envelope deadbeef
	atf_check -s exit:1 -e match:"not an envelope id" \
	    "$SMTPCTL" -s smtpd.sock remove nothex
	atf_check -s exit:1 -e match:"usage" \
	    "$SMTPCTL" -s smtpd.sock pause everything
	atf_check -s exit:0 -o inline:"0 envelopes scheduled\n" \
	    "$SMTPCTL" -s smtpd.sock schedule all
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
unknown_ids_fail_cleanup()
{
	smtpd_cleanup
}

atf_test_case garbage_client_is_dropped_alone cleanup
garbage_client_is_dropped_alone_head()
{
	atf_set descr "A control client that sends garbage is dropped; the" \
	    "daemon carries on and serves the next client"
}
garbage_client_is_dropped_alone_body()
{
	smtpd_start
	atf_check -s exit:0 python3 - "$(pwd)/smtpd.sock" <<'PY'
import os, socket, sys
for junk in (b"\xff" * 64, os.urandom(4096)):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    # A header that claims more than any message may hold.
    s.sendall(b"\x07\x00\x00\x00\xff\xff\xff\x7f" + junk)
    if s.recv(64) != b"":
        sys.exit("the control process answered garbage")
    s.close()
PY
	wait_log "client dropped" 2 || atf_fail "not dropped"
	atf_check -s exit:0 -o match:"^uptime=" \
	    "$SMTPCTL" -s smtpd.sock show stats
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
garbage_client_is_dropped_alone_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case show_queue_lists_waiting_envelopes
	atf_add_test_case show_envelope_prints_the_stored_fields
	atf_add_test_case show_escapes_control_characters
	atf_add_test_case show_message_prints_it_byte_for_byte
	atf_add_test_case pause_mda_keeps_local_mail_waiting
	atf_add_test_case pause_mta_keeps_relayed_mail_waiting
	atf_add_test_case schedule_tries_a_waiting_envelope_again
	atf_add_test_case remove_empties_the_queue
	atf_add_test_case pause_smtp_stops_accepting
	atf_add_test_case show_stats_counts_what_happened
	atf_add_test_case unknown_ids_fail
	atf_add_test_case garbage_client_is_dropped_alone
}
