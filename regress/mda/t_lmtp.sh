#! /usr/bin/env atf-sh
#
# lmtp delivery: the message is handed to an LMTP server, here a small
# Python one on a TCP port or a local socket, with the envelope of the
# recipient; the server's status after the data decides.

. "$(atf_get_srcdir)/../lib.sh"

LMTPD="$(atf_get_srcdir)/lmtpd.py"

# mda_config ACTION: smtpd.conf whose action "local" is ACTION.
mda_config()
{
	smtpd_config </dev/null
	grep -v -e '^action ' -e '^match ' smtpd.conf > smtpd.conf.base
	{ cat smtpd.conf.base
	  echo "action \"local\" $1"
	  echo 'match from any for local action "local"'; } > smtpd.conf
}

# lmtpd_start [ARGS...]: the LMTP server in the background, in lmtp/.
lmtpd_start()
{
	mkdir -p lmtp
	python3 "$LMTPD" "$@" "$(pwd)/lmtp" 2>lmtpd.err &
	echo $! > lmtpd.pid
	wait_until test -s lmtp/ready ||
	    atf_fail "the LMTP server did not start: $(cat lmtpd.err)"
}

lmtpd_cleanup()
{
	[ -f lmtpd.pid ] && kill "$(cat lmtpd.pid)" 2>/dev/null
	smtpd_cleanup
}

# Lines that start with dots, and one that is only a dot.
write_message()
{
	printf '%s\n' "Subject: lmtp test" "Message-ID: <lmtp-1@test>" "" \
	    "first line" ".one dot" "..two dots" "." "From a line start" \
	    "last line" > message
}

send_message()
{
	atf_check -s exit:0 python3 - "$(port)" "$MAILUSER@localhost" <<'PY'
import smtplib, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
msg = open("message", "rb").read().replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", port) as s:
    assert s.sendmail("sender@example.org", [rcpt], msg) == {}
PY
}

# The data the server received, without dot-stuffing, with LF line ends.
unstuffed()
{
	python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""), \
    "lines do not all end in CR LF"
lines = data[:-2].split(b"\r\n")
for l in lines:
    assert not l.startswith(b".") or l.startswith(b".."), "not dot-stuffed"
sys.stdout.buffer.write(b"".join(
    (l[1:] if l.startswith(b".") else l) + b"\n" for l in lines))
' "$1"
}

atf_test_case tcp_delivery cleanup
tcp_delivery_head()
{
	atf_set descr "A message reaches an LMTP server over TCP with the" \
	    "sender, the local user as recipient, CR LF lines and dots" \
	    "stuffed, and the server's 250 makes it delivered"
}
tcp_delivery_body()
{
	lmtpd_start
	mda_config "lmtp \"127.0.0.1:$(cat lmtp/ready)\""
	smtpd_start
	write_message
	send_message
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^LHLO [^ ]+$" cat lmtp/envelope.1
	atf_check -s exit:0 -o match:"^MAIL FROM:<sender@example.org>$" \
	    cat lmtp/envelope.1
	atf_check -s exit:0 -o match:"^RCPT TO:<$MAILUSER>$" \
	    cat lmtp/envelope.1
	atf_check -s exit:0 -o match:"^\.\.one dot" cat lmtp/data.1
	unstuffed lmtp/data.1 > got || atf_fail "bad data"
	atf_check -s exit:0 -o match:"^Message-ID: <lmtp-1@test>" cat got
	message_body message > want
	message_body got > got.body
	atf_check -s exit:0 cmp want got.body
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1
}
tcp_delivery_cleanup()
{
	lmtpd_cleanup
}

atf_test_case rcpt_to_gives_the_address cleanup
rcpt_to_gives_the_address_head()
{
	atf_set descr "With lmtp ... rcpt-to, RCPT TO names the recipient's" \
	    "whole address instead of the login name"
}
rcpt_to_gives_the_address_body()
{
	lmtpd_start
	mda_config "lmtp \"127.0.0.1:$(cat lmtp/ready)\" rcpt-to"
	smtpd_start
	write_message
	send_message
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^RCPT TO:<$MAILUSER@localhost>$" \
	    cat lmtp/envelope.1
}
rcpt_to_gives_the_address_cleanup()
{
	lmtpd_cleanup
}

atf_test_case agent_holds_only_its_descriptors cleanup
agent_holds_only_its_descriptors_head()
{
	atf_set descr "A delivery agent holds no descriptor of the parent's:" \
	    "besides the standard ones, only its message, its socket to" \
	    "the parent and its own connection"
}
agent_holds_only_its_descriptors_body()
{
	# An LMTP server on a local socket that, before it greets, lists
	# the descriptors of the process that connected, then refuses.
	python3 - "$(pwd)" <<'PY' 2>server.err &
import os, socket, struct, sys
d = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(d + "/lmtp.sock")
os.chmod(d + "/lmtp.sock", 0o777)
s.listen(1)
open(d + "/ready", "w").close()
c, _ = s.accept()
pid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET,
    socket.SO_PEERCRED, 12))[0]
fds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))
with open(d + "/fds", "w") as out:
    for f in fds:
        if f > 2:
            out.write(os.readlink("/proc/%d/fd/%d" % (pid, f)) + "\n")
c.sendall(b"421 4.3.2 not now\r\n")
c.close()
PY
	echo $! > lmtpd.pid
	wait_until test -e ready || atf_fail "no server: $(cat server.err)"
	mda_config "lmtp \"$(pwd)/lmtp.sock\""
	smtpd_start
	write_message
	send_message
	wait_until test -s fds || atf_fail "the agent never connected"
	cat fds
	atf_check_equal 3 "$(wc -l < fds)"
	atf_check_equal 2 "$(grep -c '^socket:' fds)"
	atf_check -o match:"/spool/" grep -v -e '^socket:' fds
}
agent_holds_only_its_descriptors_cleanup()
{
	lmtpd_cleanup
}

atf_test_case unix_socket_delivery cleanup
unix_socket_delivery_head()
{
	atf_set descr "A message reaches an LMTP server on a local socket"
}
unix_socket_delivery_body()
{
	lmtpd_start --unix "$(pwd)/lmtp.sock"
	mda_config "lmtp \"$(pwd)/lmtp.sock\""
	smtpd_start
	write_message
	send_message
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^RCPT TO:<$MAILUSER>$" \
	    cat lmtp/envelope.1
	atf_check -s exit:0 -o match:"^Message-ID: <lmtp-1@test>" \
	    cat lmtp/data.1
}
unix_socket_delivery_cleanup()
{
	lmtpd_cleanup
}

atf_test_case status_4xx_is_temporary cleanup
status_4xx_is_temporary_head()
{
	atf_set descr "A 452 after the data is a temporary failure: the" \
	    "envelope stays queued for another try"
}
status_4xx_is_temporary_body()
{
	lmtpd_start --final "452 4.2.2 Mailbox full"
	mda_config "lmtp \"127.0.0.1:$(cat lmtp/ready)\""
	smtpd_start
	write_message
	send_message
	wait_log "result=tempfail .*error=\".*452 4.2.2 Mailbox full\"" ||
	    atf_fail "no temporary failure"
	atf_check -s exit:1 grep -q "result=delivered" smtpd.log
	evpid=$(sed -n 's/.*evpid=\([0-9a-f]*\) .*result=tempfail.*/\1/p' \
	    smtpd.log | head -n 1)
	atf_check -s exit:0 -o not-empty find spool/queue -name "$evpid"
}
status_4xx_is_temporary_cleanup()
{
	lmtpd_cleanup
}

atf_test_case status_5xx_is_permanent cleanup
status_5xx_is_permanent_head()
{
	atf_set descr "A 550 to RCPT is a permanent failure: the envelope" \
	    "is held and no data is sent"
}
status_5xx_is_permanent_body()
{
	lmtpd_start --rcpt "550 5.1.1 No such user here"
	mda_config "lmtp \"127.0.0.1:$(cat lmtp/ready)\""
	smtpd_start
	write_message
	send_message
	wait_log "result=permfail .*error=\".*RCPT TO: 550 5.1.1 No such user here\"" ||
	    atf_fail "no permanent failure"
	atf_check -s exit:1 test -e lmtp/data.1
}
status_5xx_is_permanent_cleanup()
{
	lmtpd_cleanup
}

atf_test_case no_server_is_temporary cleanup
no_server_is_temporary_head()
{
	atf_set descr "An LMTP server that cannot be reached is a temporary" \
	    "failure"
}
no_server_is_temporary_body()
{
	mda_config "lmtp \"127.0.0.1:$(free_port)\""
	smtpd_start
	write_message
	send_message
	wait_log "result=tempfail .*connect: Connection refused" ||
	    atf_fail "no temporary failure"
}
no_server_is_temporary_cleanup()
{
	smtpd_cleanup
}

atf_test_case bad_destination_is_refused
bad_destination_is_refused_head()
{
	atf_set descr "smtpd -n refuses an lmtp destination that is neither" \
	    "host:port nor an absolute socket path"
}
bad_destination_is_refused_body()
{
	for dest in "localhost" "127.0.0.1:0" "::1:24" "relative/sock" \
	    "[::1]24" ":24"; do
		mda_config "lmtp \"$dest\""
		atf_check -s exit:1 -e match:"lmtp destination must be" \
		    "$SMTPD" -n -f smtpd.conf
	done
	for dest in "localhost:24" "[::1]:24" "/run/dovecot/lmtp"; do
		mda_config "lmtp \"$dest\""
		atf_check -s exit:0 -e match:"configuration OK" \
		    "$SMTPD" -n -f smtpd.conf
	done
}

atf_init_test_cases()
{
	atf_add_test_case tcp_delivery
	atf_add_test_case rcpt_to_gives_the_address
	atf_add_test_case agent_holds_only_its_descriptors
	atf_add_test_case unix_socket_delivery
	atf_add_test_case status_4xx_is_temporary
	atf_add_test_case status_5xx_is_permanent
	atf_add_test_case no_server_is_temporary
	atf_add_test_case bad_destination_is_refused
}
