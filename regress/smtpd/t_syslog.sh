#! /usr/bin/env atf-sh
#
# As a daemon, every process writes its own lines to the system log:
# the parent carries none of them.  The log socket is a test's own,
# named with SMTPD_SYSLOG.

. "$(atf_get_srcdir)/../lib.sh"

# The pid of this test's child of smtpd's that has this name
# (smtpd-smtp, ...); the parent's is in smtpd.pid.
child_pid()
{
	for p in $(pgrep -P "$(cat smtpd.pid)"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$1" ] && echo "$p"
	done | head -n 1
}

atf_test_case each_process_logs_its_own_lines cleanup
each_process_logs_its_own_lines_head()
{
	atf_set descr "As a daemon, the smtp and queue processes send" \
	    "their own lines to the system log, each under its own pid"
}
each_process_logs_its_own_lines_body()
{
	python3 - "$(pwd)" <<'PY' 2>server.err &
import socket, sys
d = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(d + "/log.sock")
open(d + "/ready", "w").close()
with open(d + "/syslog", "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")
PY
	echo $! > logd.pid
	wait_until test -e ready || atf_fail "no log server: $(cat server.err)"
	smtpd_config </dev/null
	SMTPD_SYSLOG="$(pwd)/log.sock" "$SMTPD" -f "$(pwd)/smtpd.conf" ||
	    atf_fail "smtpd did not start"
	wait_until grep -q "smtp-in ready" syslog ||
	    atf_fail "nothing logged: $(cat syslog)"
	sed -n 's/.* smtpd\[\([0-9]*\)\]: smtpd starting.*/\1/p' syslog \
	    > smtpd.pid
	[ -s smtpd.pid ] || atf_fail "the parent did not log its start"
	parent=$(cat smtpd.pid)
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --to "$MAILUSER@localhost" \
	    --from sender@example.org
	wait_until grep -q "result=delivered" syslog ||
	    atf_fail "not delivered: $(cat syslog)"
	for role in smtp queue; do
		pid=$(child_pid "smtpd-$role")
		[ -n "$pid" ] || atf_fail "no $role process"
		grep -q "^<[0-9]*>... .. ..:..:.. smtpd\[$pid\]: " syslog ||
		    atf_fail "no line of $role's own (pid $pid)"
	done
	# What the listener says of a session is its own line, not the
	# parent's.
	atf_check -s exit:1 grep "smtpd\[$parent\]: smtp-in " syslog
	grep "smtp-in " syslog | head -n 3
}
each_process_logs_its_own_lines_cleanup()
{
	[ -f logd.pid ] && kill "$(cat logd.pid)" 2>/dev/null
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case each_process_logs_its_own_lines
}
