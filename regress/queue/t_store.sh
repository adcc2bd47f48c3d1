#! /usr/bin/env atf-sh
#
# What the queue finds on disk at start: committed envelopes are loaded
# and delivered; one that does not parse, does not match its check line,
# or whose message is not the one it was committed with is moved to
# corrupt/ with its message and logged, never delivered or deleted; what
# was never committed is removed.

. "$(atf_get_srcdir)/../lib.sh"

# envelope_text EVPID RCPT: a well-formed envelope for the local user.
envelope_text()
{
	cat <<ENV
version 1
id $1
sender sender@example.org
rcpt $2
action local
user $MAILUSER
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
}

# As root the queue runs as _smtpq: what the test leaves must be its.
queue_is_empty()
{
	[ -z "$(find spool/queue -type f)" ]
}

own_spool()
{
	[ "$(id -u)" -ne 0 ] || chown -R _smtpq:_smtpq spool
}

atf_test_case envelopes_on_disk_are_loaded_and_delivered cleanup
envelopes_on_disk_are_loaded_and_delivered_head()
{
	atf_set descr "A message with its envelope in queue/ at start is" \
	    "delivered and then removed from disk"
}
envelopes_on_disk_are_loaded_and_delivered_body()
{
	smtpd_config </dev/null
	mkdir -p spool/queue
	printf 'Subject: from disk\n\nloaded at start\n' > spool/queue/0000abcd
	envelope_text 0000abcd00000001 "$MAILUSER@localhost" \
	    > spool/queue/0000abcd00000001
	own_spool
	smtpd_start
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"loaded at start" cat "$(maildir_messages)"
	wait_until test ! -e spool/queue/0000abcd ||
	    atf_fail "the message stayed on disk"
	atf_check -s exit:0 -o empty ls spool/queue
}
envelopes_on_disk_are_loaded_and_delivered_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_corrupt_envelope_is_moved_aside cleanup
a_corrupt_envelope_is_moved_aside_head()
{
	atf_set descr "An envelope that does not parse goes to corrupt/ with" \
	    "a link to its message and a log line; its sibling is delivered"
}
a_corrupt_envelope_is_moved_aside_body()
{
	smtpd_config </dev/null
	mkdir -p spool/queue
	printf 'Subject: two\n\nfor two\n' > spool/queue/0000beef
	envelope_text 0000beef00000001 "$MAILUSER@localhost" \
	    > spool/queue/0000beef00000001
	envelope_text 0000beef00000002 "$MAILUSER@localhost" |
	    sed 's/^version 1$/version 9/' > spool/queue/0000beef00000002
	own_spool
	smtpd_start
	wait_log "result=delivered" || atf_fail "the good one not delivered"
	atf_check -s exit:0 -o ignore grep \
	    "corrupt envelope 0000beef00000002 moved to corrupt/: unknown version" \
	    smtpd.log
	atf_check -s exit:0 -o match:"^version 9" \
	    cat spool/corrupt/0000beef00000002
	atf_check -s exit:0 -o match:"for two" cat spool/corrupt/0000beef
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
}
a_corrupt_envelope_is_moved_aside_cleanup()
{
	smtpd_cleanup
}

atf_test_case what_was_never_committed_is_removed cleanup
what_was_never_committed_is_removed_head()
{
	atf_set descr "At start, incoming/ is emptied and an envelope whose" \
	    "message never reached queue/ is removed, undelivered"
}
what_was_never_committed_is_removed_body()
{
	smtpd_config </dev/null
	mkdir -p spool/queue spool/incoming
	printf 'half\n' > spool/incoming/00001234
	envelope_text 0000123400000001 "$MAILUSER@localhost" \
	    > spool/incoming/0000123400000001
	envelope_text 0000567800000001 "$MAILUSER@localhost" \
	    > spool/queue/0000567800000001
	own_spool
	smtpd_start
	wait_log "whose message was never committed" ||
	    atf_fail "no log line for the orphan envelope"
	atf_check -s exit:0 -o empty find spool/incoming spool/queue \
	    spool/corrupt -mindepth 1
	atf_check_equal 0 "$(maildir_messages | grep -c .)"
}
what_was_never_committed_is_removed_cleanup()
{
	smtpd_cleanup
}

# no_marker_in DIR: no file under DIR holds the abandoned message's text.
no_marker_in()
{
	! grep -rq "abandoned-marker-7d1f" "$1"
}

atf_test_case an_abandoned_message_leaves_no_bytes cleanup
an_abandoned_message_leaves_no_bytes_head()
{
	atf_set descr "A message whose client goes away before the final" \
	    "dot is removed from the spool at once, its pool file and all," \
	    "and is never delivered"
}
an_abandoned_message_leaves_no_bytes_body()
{
	smtpd_config </dev/null
	smtpd_start
	atf_check -s exit:0 python3 - "$(port)" "$MAILUSER@localhost" <<'PY'
import socket, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
def expect(code):
    while True:
        line = f.readline()
        assert line[:3] == code, line
        if line[3:4] == b" ":
            return
expect(b"220")
for cmd, code in ((b"EHLO client.test", b"250"),
                  (b"MAIL FROM:<sender@example.org>", b"250"),
                  (b"RCPT TO:<%s>" % rcpt.encode(), b"250"),
                  (b"DATA", b"354")):
    s.sendall(cmd + b"\r\n")
    expect(code)
s.sendall(b"Subject: cut short\r\n\r\n" +
          b"abandoned-marker-7d1f line\r\n" * 2000)
s.close()
PY
	# The client's end is seen by the listener, which takes the message
	# back, and by lookup, which tells the queue: either removes it.
	wait_log "result=closed reason=disconnected" ||
	    atf_fail "the listener did not see the client go"
	wait_until no_marker_in spool ||
	    atf_fail "left in the spool: $(grep -rl abandoned-marker spool)"
	# The spool still works, and the message never arrives.
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --to "$MAILUSER@localhost" --body "after"
	wait_mail 1 || atf_fail "the next message was not delivered"
	atf_check -s exit:1 grep -rl "abandoned-marker-7d1f" Maildir
}
an_abandoned_message_leaves_no_bytes_cleanup()
{
	smtpd_cleanup
}

atf_test_case spool_files_are_reused_and_cut cleanup
spool_files_are_reused_and_cut_head()
{
	atf_set descr "Files done with wait in pool/ and are used again," \
	    "cut to their new length: a short message written into the" \
	    "file of a long one carries nothing of it.  At start a pool/" \
	    "entry that is not a plain file of ours goes"
}
spool_files_are_reused_and_cut_body()
{
	smtpd_config </dev/null
	mkdir -p spool/pool
	ln -s /etc/passwd spool/pool/00000005
	printf 'x\n' > spool/pool/not-ours
	own_spool
	smtpd_start
	wait_until test ! -e spool/pool/00000005 ||
	    atf_fail "a link in pool/ was kept"
	atf_check -s exit:0 test ! -e spool/pool/not-ours
	long=$(python3 -c 'print("LONGTAIL " * 2000)')
	atf_check -s exit:0 -o ignore -e ignore swaks \
	    --server 127.0.0.1 --port "$(port)" \
	    --from "a-long-sender-$(printf '%040d' 0)@$(printf 'x%.0s' $(seq 60)).example.org" \
	    --to "$MAILUSER@localhost" --body "$long"
	wait_mail 1 || atf_fail "the long one was not delivered"
	wait_until queue_is_empty || atf_fail "the queue did not empty"
	atf_check -s exit:0 -o not-empty find spool/pool -type f -size +8k
	for n in 1 2 3; do
		atf_check -s exit:0 -o ignore -e ignore swaks \
		    --server 127.0.0.1 --port "$(port)" \
		    --to "$MAILUSER@localhost" --body "message $n"
	done
	wait_mail 4 || atf_fail "not delivered"
	wait_until queue_is_empty || atf_fail "the queue did not empty"
	for n in 1 2 3; do
		f=$(grep -l "message $n" Maildir/new/*)
		[ -n "$f" ] || atf_fail "message $n is missing"
		atf_check -s exit:1 grep -q LONGTAIL "$f"
		[ "$(wc -c < "$f")" -lt 4096 ] || atf_fail "message $n grew"
	done
}
spool_files_are_reused_and_cut_cleanup()
{
	smtpd_cleanup
}

# pool_inodes KIND: the inode numbers of pool/'s message files (KIND
# m) or envelope files (KIND e), sorted.
pool_inodes()
{
	case $1 in
	m)	re='^[0-9a-f]{8}$' ;;
	e)	re='^e[0-9a-f]{8}$' ;;
	esac
	ls -i spool/pool | while read -r ino name; do
		echo "$name" | grep -Eq "$re" && echo "$ino"
	done | sort -n
}

atf_test_case pool_keeps_each_kind_for_its_own cleanup
pool_keeps_each_kind_for_its_own_head()
{
	atf_set descr "A message's file in pool/ is used again for a" \
	    "message and an envelope's for an envelope: after a second" \
	    "round of messages, each kind's pool holds the same files as" \
	    "after the first"
}
pool_keeps_each_kind_for_its_own_body()
{
	smtpd_config </dev/null
	smtpd_start
	python3 -c 'print("a line of a message of some size\r\n" * 200)' \
	    > body
	for round in 1 2; do
		for n in 1 2 3; do
			swaks --server 127.0.0.1 --port "$(port)" \
			    --to "$MAILUSER@localhost" --body body \
			    >/dev/null 2>&1 || atf_fail "swaks failed"
		done
		wait_mail $((round * 3)) || atf_fail "round $round not delivered"
		wait_until queue_is_empty || atf_fail "the queue did not empty"
		pool_inodes m > messages.$round
		pool_inodes e > envelopes.$round
	done
	atf_check -s exit:0 -o not-empty cat messages.1
	atf_check -s exit:0 -o not-empty cat envelopes.1
	atf_check -s exit:0 -o empty comm -3 messages.1 messages.2
	atf_check -s exit:0 -o empty comm -3 envelopes.1 envelopes.2
	# Each kind's files are of its own size.
	for f in spool/pool/e*; do
		[ "$(wc -c < "$f")" -lt 4096 ] || atf_fail "$f is a message's"
	done
}
pool_keeps_each_kind_for_its_own_cleanup()
{
	smtpd_cleanup
}

# The file in queue/ of the message whose text holds $1.
message_file()
{
	grep -l -- "$1" spool/queue/???????? | grep -E '/[0-9a-f]{8}$'
}

# hold_two: commit two messages, "kept" and "torn", with delivery paused,
# and stop smtpd: their files stay in queue/ as the commit left them.
# Sets torn to the path of the second's file and msgid to its id.
hold_two()
{
	smtpd_config </dev/null
	smtpd_start
	atf_check -s exit:0 -o ignore "$SMTPCTL" -s smtpd.sock pause mda
	printf 'this one is kept as it was committed\n' > body
	send_body sender@example.org kept@test kept
	printf 'this one is torn by a crash\n' > body
	send_body sender@example.org torn@test torn
	smtpd_cleanup
	wait_gone "$(smtpd_pid)" || atf_fail "smtpd did not stop"
	torn=$(message_file "torn by a crash")
	[ -n "$torn" ] || atf_fail "the message is not in queue/"
	msgid=${torn##*/}
}

atf_test_case a_message_not_as_committed_is_moved_aside cleanup
a_message_not_as_committed_is_moved_aside_head()
{
	atf_set descr "A message whose bytes are not those its envelope" \
	    "was committed with (blocks of an earlier file left under its" \
	    "name by a crash during the commit's flush) goes to corrupt/" \
	    "with its envelope at start, undelivered; the other is delivered"
}
a_message_not_as_committed_is_moved_aside_body()
{
	hold_two
	# Same length, other bytes: what a stale block of the pool looks like.
	sed -i 's/torn by a crash/TORN BY A CRASH/' "$torn"
	own_spool
	smtpd_start
	wait_log "result=delivered" || atf_fail "the kept one not delivered"
	atf_check -s exit:0 -o match:"corrupt envelope $msgid[0-9a-f]{8} moved" \
	    cat smtpd.log
	atf_check -s exit:0 -o match:"its message is not as it was committed" \
	    cat smtpd.log
	atf_check -s exit:0 -o match:"TORN BY A CRASH" \
	    cat "spool/corrupt/$msgid"
	atf_check -s exit:0 -o match:"^check [0-9a-f]{16}$" \
	    head -1 spool/corrupt/"$msgid"????????
	wait_until test ! -e "spool/queue/$msgid" ||
	    atf_fail "the torn message stayed in queue/"
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o match:"kept as it was committed" \
	    cat "$(maildir_messages)"
}
a_message_not_as_committed_is_moved_aside_cleanup()
{
	smtpd_cleanup
}

atf_test_case an_envelope_not_as_written_is_moved_aside cleanup
an_envelope_not_as_written_is_moved_aside_head()
{
	atf_set descr "An envelope file whose text does not match its check" \
	    "line (part of it written, part an earlier envelope's) goes to" \
	    "corrupt/ at start, and its message is not delivered"
}
an_envelope_not_as_written_is_moved_aside_body()
{
	hold_two
	envelope=$(ls spool/queue | grep -E "^$msgid[0-9a-f]{8}$")
	[ -n "$envelope" ] || atf_fail "no envelope for $msgid"
	atf_check -s exit:0 -o match:"^message [0-9]+ [0-9a-f]{16}$" \
	    cat "spool/queue/$envelope"
	sed -i 's/^tries 0$/tries 7/' "spool/queue/$envelope"
	own_spool
	smtpd_start
	wait_log "result=delivered" || atf_fail "the kept one not delivered"
	atf_check -s exit:0 -o ignore grep \
	    "corrupt envelope $envelope moved to corrupt/: check does not" \
	    smtpd.log
	atf_check -s exit:0 -o match:"^tries 7$" cat "spool/corrupt/$envelope"
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o match:"kept as it was committed" \
	    cat "$(maildir_messages)"
}
an_envelope_not_as_written_is_moved_aside_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case an_abandoned_message_leaves_no_bytes
	atf_add_test_case spool_files_are_reused_and_cut
	atf_add_test_case pool_keeps_each_kind_for_its_own
	atf_add_test_case envelopes_on_disk_are_loaded_and_delivered
	atf_add_test_case a_corrupt_envelope_is_moved_aside
	atf_add_test_case what_was_never_committed_is_removed
	atf_add_test_case a_message_not_as_committed_is_moved_aside
	atf_add_test_case an_envelope_not_as_written_is_moved_aside
}
