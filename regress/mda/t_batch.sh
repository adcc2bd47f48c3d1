#! /usr/bin/env atf-sh
#
# Batched local delivery: the mailbox deliveries of one user wait for
# one of a few agents, and each agent delivers several of them.  Every
# message must still arrive once, in the right user's mailbox with that
# user's ownership, and one user's failing mailbox must not hold up or
# take down the deliveries of others.

. "$(atf_get_srcdir)/../lib.sh"

# send_many COUNT RCPT...: COUNT messages, each to every RCPT, from 8
# clients at once; message N has Message-ID <batch-N@test>.
send_many()
{
	python3 - "$(port)" "$@" <<'PY'
import smtplib, sys, threading
port, count, rcpts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
errors = []
def client(first):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            for n in range(first, count, 8):
                msg = ("Message-ID: <batch-%d@test>\r\nSubject: %d\r\n\r\n"
                       "body %d\r\n" % (n, n, n))
                s.sendmail("sender@example.org", rcpts, msg)
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    sys.exit("; ".join(errors))
PY
}

# lmtp_server HOLD: an LMTP server on lmtp.sock that notes in
# "deliveries" which process each transaction came from, and holds its
# first HOLD connections until the file "release" appears.
lmtp_server()
{
	python3 - "$(pwd)" "$1" <<'PY' 2>server.err &
import os, socket, struct, sys, threading, time
d, hold = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(d + "/lmtp.sock")
s.listen(64)
open(d + "/ready", "w").close()
lock = threading.Lock()
count = [0]
def serve(c):
    pid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET,
        socket.SO_PEERCRED, 12))[0]
    with lock:
        count[0] += 1
        held = count[0] <= hold
    while held and not os.path.exists(d + "/release"):
        time.sleep(0.05)
    f = c.makefile("rb")
    c.sendall(b"220 lmtp.test\r\n")
    msgid = None
    while True:
        line = f.readline()
        if not line:
            break
        u = line.upper()
        if u.startswith(b"DATA"):
            c.sendall(b"354 go\r\n")
            while True:
                l = f.readline()
                if l in (b".\r\n", b""):
                    break
                if l.lower().startswith(b"message-id:"):
                    msgid = l.split(b":", 1)[1].strip().decode()
            with lock:
                with open(d + "/deliveries", "a") as out:
                    out.write("%d %s\n" % (pid, msgid))
            c.sendall(b"250 2.0.0 ok\r\n")
        elif u.startswith(b"QUIT"):
            c.sendall(b"221 bye\r\n")
            break
        else:
            c.sendall(b"250 ok\r\n")
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	echo $! > lmtpd.pid
	wait_until test -e ready || atf_fail "no server: $(cat server.err)"
}

atf_test_case waiting_deliveries_share_an_agent cleanup
waiting_deliveries_share_an_agent_head()
{
	atf_set descr "Deliveries that wait while a user's agents are busy" \
	    "are made by fewer agents than messages, each message once"
}
waiting_deliveries_share_an_agent_body()
{
	lmtp_server 4
	smtpd_config </dev/null
	sed -i "s|^action \"local\" .*|action \"local\" lmtp \"$(pwd)/lmtp.sock\"|" \
	    smtpd.conf
	smtpd_start
	send_many 24 "$MAILUSER@localhost" || atf_fail "sending failed"
	wait_log "result=queued" 24 || atf_fail "not all queued"
	touch release
	wait_log "result=delivered" 24 || atf_fail "not all delivered"
	atf_check_equal 24 "$(wc -l < deliveries)"
	atf_check_equal 24 "$(cut -d' ' -f2 deliveries | sort -u | wc -l)"
	agents=$(cut -d' ' -f1 deliveries | sort -u | wc -l)
	echo "$agents agents for 24 deliveries"
	[ "$agents" -lt 24 ] || atf_fail "one agent per delivery"
}
waiting_deliveries_share_an_agent_cleanup()
{
	[ -f lmtpd.pid ] && kill "$(cat lmtpd.pid)" 2>/dev/null
	smtpd_cleanup
}

atf_test_case waiting_agent_takes_the_next_batch cleanup
waiting_agent_takes_the_next_batch_head()
{
	atf_set descr "An agent that has delivered its batch takes the" \
	    "user's next one instead of a new fork, and is let go when" \
	    "no more comes"
}
waiting_agent_takes_the_next_batch_body()
{
	lmtp_server 0
	smtpd_config </dev/null
	sed -i "s|^action \"local\" .*|action \"local\" lmtp \"$(pwd)/lmtp.sock\"|" \
	    smtpd.conf
	smtpd_start
	send_many 1 "$MAILUSER@localhost" || atf_fail "sending failed"
	wait_log "result=delivered" 1 || atf_fail "first not delivered"
	send_many 1 "$MAILUSER@localhost" || atf_fail "sending failed"
	wait_log "result=delivered" 2 || atf_fail "second not delivered"
	atf_check_equal 2 "$(wc -l < deliveries)"
	atf_check_equal 1 "$(cut -d' ' -f1 deliveries | sort -u | wc -l)"
	agent=$(head -1 deliveries | cut -d' ' -f1)
	wait_until _gone "$agent" || atf_fail "the idle agent stays"
	# A new agent comes when needed after that.
	send_many 1 "$MAILUSER@localhost" || atf_fail "sending failed"
	wait_log "result=delivered" 3 || atf_fail "third not delivered"
	atf_check_equal 2 "$(cut -d' ' -f1 deliveries | sort -u | wc -l)"
}
waiting_agent_takes_the_next_batch_cleanup()
{
	[ -f lmtpd.pid ] && kill "$(cat lmtpd.pid)" 2>/dev/null
	smtpd_cleanup
}

atf_test_case each_user_gets_their_own cleanup
each_user_gets_their_own_head()
{
	atf_set descr "Messages to three virtual users at once: two get" \
	    "every message once, owned by them and mode 0600, while the" \
	    "third, whose home it may not write, only fails for now"
	atf_set require.user root
}
each_user_gets_their_own_body()
{
	W=$(pwd)
	chmod 0755 "$W"
	mkdir alice bob carol
	chown 60001:60001 alice
	chown 60002:60002 bob
	cat > vusers <<VUSERS
alice 60001:60001:$W/alice
bob 60002:60002:$W/bob
carol 60003:60003:$W/carol
VUSERS
	smtpd_config <<CONF
table vusers file:$W/vusers
action "virt" maildir "~/Maildir" userbase <vusers>
match from any for domain "virt.test" action "virt"
CONF
	smtpd_start
	send_many 40 alice@virt.test bob@virt.test carol@virt.test ||
	    atf_fail "sending failed"
	wait_log "result=delivered" 80 || atf_fail "not all delivered"
	wait_log "to=<carol@virt.test> result=tempfail" ||
	    atf_fail "carol's deliveries did not fail"
	for u in alice bob; do
		atf_check_equal 40 "$(ls "$u/Maildir/new" | wc -l)"
		atf_check_equal 40 "$(cat "$u"/Maildir/new/* |
		    grep '^Message-ID: <batch-' | sort -u | wc -l)"
		uid=$(stat -c %u "$u")
		atf_check -o empty find "$u/Maildir/new" -type f \
		    \( ! -user "$uid" -o ! -perm 0600 \)
	done
	atf_check -s exit:1 test -e carol/Maildir
	atf_check -s exit:1 grep -q "to=<alice@virt.test> result=tempfail" \
	    smtpd.log
}
each_user_gets_their_own_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case waiting_deliveries_share_an_agent
	atf_add_test_case waiting_agent_takes_the_next_batch
	atf_add_test_case each_user_gets_their_own
}
