#! /usr/bin/env atf-sh
#
# No client, and no number of clients, makes the listener exit, and
# every session is bounded: the descriptors the sessions may take, the
# bytes a session may leave buffered, the time a command, a message and
# a whole session may take, however slowly the bytes come.

. "$(atf_get_srcdir)/../lib.sh"

FLOOD="$TOP/regress/flood.py"

flood()
{
	python3 "$FLOOD" "$(port)" "$@"
}

# A client that sends one message; it must be queued.
probe_message()
{
	atf_check -s exit:0 -o match:"<-  250 2.0.0 Ok: queued" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" \
	    --to "$MAILUSER@localhost" --body "probe"
}

smtpd_alive()
{
	kill -0 "$(smtpd_pid)" 2>/dev/null ||
	    atf_fail "smtpd died: $(tail -n 5 smtpd.log)"
	atf_check -s exit:1 -o empty grep -E "stopping smtpd|fatal" smtpd.log
}

# start_with_nofile LIMIT: start smtpd with LIMIT open files at most
# (hard and soft), as a shell would with ulimit -n.
start_with_nofile()
{
	cat > smtpd-limited <<EOF
#!/bin/sh
ulimit -n $1 || exit 1
exec "$SMTPD" "\$@"
EOF
	chmod +x smtpd-limited
	SMTPD="$(pwd)/smtpd-limited" smtpd_start
}

# field FILE NAME: the number after NAME= in FILE.
field()
{
	sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"
}

atf_test_case descriptor_flood_keeps_daemon_up cleanup
descriptor_flood_keeps_daemon_up_head()
{
	atf_set descr "Under an open file limit of 256 and max-sessions" \
	    "1000, max-sessions is lowered to what the descriptors allow" \
	    "and said so, by smtpd -n too; 300 sessions opened into DATA" \
	    "get either 354 or 421, the daemon stays up, and a message" \
	    "goes through after"
}
descriptor_flood_keeps_daemon_up_body()
{
	smtpd_config <<'CONF'
smtp limit max-sessions 1000
smtp limit max-sessions-per-address 1000
CONF
	start_with_nofile 256
	atf_check -s exit:0 -o match:"max-sessions=1000 lowered=96 " \
	    cat smtpd.log
	atf_check -s exit:0 -e match:"max-sessions 1000 is more than 256" \
	    -e match:"96 will be used" -e match:"configuration OK" \
	    ./smtpd-limited -n -f smtpd.conf
	flood sessions 300 "$MAILUSER@localhost" > counts ||
	    atf_fail "flood client failed"
	cat counts
	smtpd_alive
	[ "$(field counts data)" -ge 1 ] || atf_fail "no session got to DATA"
	[ "$(field counts busy)" -ge 1 ] || atf_fail "no session was refused"
	[ "$(field counts other)" -eq 0 ] || atf_fail "sessions failed"
	probe_message
	smtpd_alive
}
descriptor_flood_keeps_daemon_up_cleanup()
{
	smtpd_cleanup
}

atf_test_case open_file_limit_raised cleanup
open_file_limit_raised_head()
{
	atf_set descr "Started with a soft open file limit below the hard" \
	    "one, every process of smtpd runs with the hard limit"
}
open_file_limit_raised_body()
{
	cat > smtpd-soft <<EOF
#!/bin/sh
ulimit -Sn 200 || exit 1
exec "$SMTPD" "\$@"
EOF
	chmod +x smtpd-soft
	SMTPD="$(pwd)/smtpd-soft" smtpd_start
	pid=$(child_pid smtp)
	[ -n "$pid" ] || atf_fail "no smtp process"
	for p in "$(smtpd_pid)" "$pid"; do
		set -- $(grep "^Max open files" /proc/"$p"/limits |
		    awk '{ print $4, $5 }')
		[ "$1" != 200 ] && [ "$1" = "$2" ] ||
		    atf_fail "pid $p: soft $1, hard $2"
	done
}
open_file_limit_raised_cleanup()
{
	smtpd_cleanup
}

# The listener's memory, in kB, as flood.py printed it.
assert_small()
{
	hwm=$(field "$1" hwm_kb)
	[ -n "$hwm" ] || atf_fail "no memory figure: $(cat "$1")"
	[ "$hwm" -lt 40960 ] || atf_fail "the listener grew to $hwm kB"
}

atf_test_case pipelined_flood_without_reading cleanup
pipelined_flood_without_reading_head()
{
	atf_set descr "A client that pipelines 40 MB of NOOPs and reads no" \
	    "reply does not grow the listener past 40 MB: the server stops" \
	    "reading it, and closes it at the command deadline though it" \
	    "cannot even be told; the daemon serves others all along"
}
pipelined_flood_without_reading_body()
{
	smtpd_config <<'CONF'
smtp limit command-timeout 2s
CONF
	smtpd_start
	flood noread 40000000 "$(child_pid smtp)" hold > out &
	echo $! > flood.pid
	wait_until grep -q hwm_kb out || atf_fail "flood client failed"
	cat out
	assert_small out
	smtpd_alive
	probe_message
	wait_log "result=timeout reason=command" ||
	    atf_fail "no timeout logged"
	wait_log "result=closed reason=timeout" ||
	    atf_fail "the stalled session was not closed"
	kill "$(cat flood.pid)"
}
pipelined_flood_without_reading_cleanup()
{
	[ -f flood.pid ] && kill "$(cat flood.pid)" 2>/dev/null
	smtpd_cleanup
}

# dribble_until_421 INTERVAL TEXT [SETUP...]: a client sending TEXT a
# byte at a time must get a 421 and the end of the connection before it
# has sent it all.
dribble_until_421()
{
	flood dribble "$@" > out || atf_fail "dribbling client failed"
	cat out
	atf_check -s exit:0 -o match:"^<- 421 4.4.2 .* Timeout" cat out
	atf_check -s exit:0 -o match:"^<- \(closed\)$" tail -n 1 out
}

atf_test_case command_deadline_is_absolute cleanup
command_deadline_is_absolute_head()
{
	atf_set descr "A command line dribbled a byte at a time, each well" \
	    "within command-timeout of the last, still gets 421 once" \
	    "command-timeout has passed since it began"
}
command_deadline_is_absolute_body()
{
	smtpd_config <<'CONF'
smtp limit command-timeout 2s
CONF
	smtpd_start
	dribble_until_421 0.3 \
	    "b'NOOP aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'"
	wait_log "result=timeout reason=command" ||
	    atf_fail "no timeout logged"
	probe_message
}
command_deadline_is_absolute_cleanup()
{
	smtpd_cleanup
}

atf_test_case session_lifetime_is_bounded cleanup
session_lifetime_is_bounded_head()
{
	atf_set descr "A session whose every command comes in time is still" \
	    "closed with 421 once session-timeout has passed"
}
session_lifetime_is_bounded_body()
{
	smtpd_config <<'CONF'
smtp limit command-timeout 5s
smtp limit session-timeout 3s
CONF
	smtpd_start
	dribble_until_421 0.1 "b'$(printf 'NOOP\\r\\n%.0s' $(seq 60))'"
	atf_check -s exit:0 -o match:"^<- 250 " cat out
	wait_log "result=timeout reason=session" ||
	    atf_fail "no timeout logged"
}
session_lifetime_is_bounded_cleanup()
{
	smtpd_cleanup
}

atf_test_case message_deadline_is_absolute cleanup
message_deadline_is_absolute_head()
{
	atf_set descr "A message dribbled a byte at a time, each well within" \
	    "data-timeout of the last, gets 421 once message-timeout has" \
	    "passed since its 354"
}
message_deadline_is_absolute_body()
{
	smtpd_config <<'CONF'
smtp limit data-timeout 10s
smtp limit message-timeout 3s
CONF
	smtpd_start
	dribble_until_421 0.3 "b'$(printf 'line of text\\r\\n%.0s' $(seq 10))'" \
	    "EHLO client.test" "MAIL FROM:<a@client.test>" \
	    "RCPT TO:<$MAILUSER@localhost>" "DATA"
	atf_check -s exit:0 -o match:"^<- 354 " cat out
	wait_log "result=timeout reason=message" ||
	    atf_fail "no timeout logged"
	probe_message
}
message_deadline_is_absolute_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case descriptor_flood_keeps_daemon_up
	atf_add_test_case open_file_limit_raised
	atf_add_test_case pipelined_flood_without_reading
	atf_add_test_case command_deadline_is_absolute
	atf_add_test_case session_lifetime_is_bounded
	atf_add_test_case message_deadline_is_absolute
}
