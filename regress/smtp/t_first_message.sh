#! /usr/bin/env atf-sh
#
# The first message end to end: received over SMTP by real clients,
# committed to the queue, delivered into a maildir, byte for byte.

. "$(atf_get_srcdir)/../lib.sh"

# A body that breaks naive handling: leading dots (dot-stuffing), a line
# that is only a dot, "From " at a line start, trailing white space,
# tabs, 8-bit text, an empty line at the end and a long line.
write_body()
{
	python3 - > body <<'PY'
import sys
lines = [
    "First line of the body.",
    ".a line that starts with a dot",
    "..two dots",
    ".",
    "From the start of a line",
    "trailing spaces   ",
    "\ttab\tseparated\t",
    "caf\u00e9 na\u00efve \u65e5\u672c\u8a9e",
    "x" * 900,
    "",
    "last line",
]
sys.stdout.buffer.write(("\n".join(lines) + "\n").encode("utf-8"))
PY
}

# one_message_with_body: once delivered, the maildir holds one message,
# in msgs, whose body is the file "body" byte for byte.
one_message_with_body()
{
	wait_log "result=delivered" || atf_fail "not delivered"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	message_body "$msgs" > got
	atf_check -s exit:0 cmp body got
}

atf_test_case swaks_message_lands_byte_exact cleanup
swaks_message_lands_byte_exact_head()
{
	atf_set descr "A message sent with swaks is queued, then delivered" \
	    "into the maildir with its body unchanged"
}
swaks_message_lands_byte_exact_body()
{
	smtpd_start
	write_body
	# swaks ends the data with CRLF . CRLF itself: no final newline here.
	{ printf 'Subject: swaks test\nMessage-ID: <swaks-1@test>\n\n'
	  printf '%s' "$(cat body)"; } > message
	atf_check -s exit:0 -o match:"250 2.0.0 Ok: queued as" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" \
	    --from sender@example.org --to "$MAILUSER@localhost" \
	    --data @message
	one_message_with_body
	atf_check -s exit:0 -o match:"^Message-ID: <swaks-1@test>" cat "$msgs"
	atf_check -s exit:0 -o match:"^Return-Path: <sender@example.org>" \
	    cat "$msgs"
}
swaks_message_lands_byte_exact_cleanup()
{
	smtpd_cleanup
}

atf_test_case smtplib_message_lands_byte_exact cleanup
smtplib_message_lands_byte_exact_head()
{
	atf_set descr "A message sent with Python's smtplib is delivered" \
	    "into the maildir with its body unchanged"
}
smtplib_message_lands_byte_exact_body()
{
	smtpd_start
	write_body
	send_body sender@example.org smtplib-1@test "smtplib test"
	one_message_with_body
}
smtplib_message_lands_byte_exact_cleanup()
{
	smtpd_cleanup
}

atf_test_case large_message_lands_byte_exact cleanup
large_message_lands_byte_exact_head()
{
	atf_set descr "A message many times the delivery agent's 64 KiB" \
	    "buffer lands in the maildir whole: header lines once, at the" \
	    "top, and the body unchanged across every buffer boundary"
}
large_message_lands_byte_exact_body()
{
	smtpd_start
	# 300 KiB of lines of every length from 0 to 996 octets, each
	# numbered, so that a piece lost, doubled or moved shows.
	python3 - > body <<'PY'
import sys
out, n = [], 0
while sum(len(l) + 1 for l in out) < 300 * 1024:
    out.append(("%06d " % n + "y" * (n * 37 % 990))[: n * 37 % 997])
    n += 1
sys.stdout.write("\n".join(out) + "\n")
PY
	send_body sender@example.org large-1@test large
	one_message_with_body
	atf_check -s exit:0 -o inline:"Return-Path: <sender@example.org>\n" \
	    head -n 1 "$msgs"
	atf_check -s exit:0 -o inline:"1\n" grep -c "^Return-Path:" "$msgs"
	atf_check -s exit:0 -o inline:"1\n" grep -c "^Delivered-To:" "$msgs"
}
large_message_lands_byte_exact_cleanup()
{
	smtpd_cleanup
}

atf_test_case both_clients_both_messages cleanup
both_clients_both_messages_head()
{
	atf_set descr "Messages from swaks and smtplib to one mailbox both" \
	    "arrive, each once, and the queue is empty afterwards"
}
both_clients_both_messages_body()
{
	smtpd_start
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --to "$MAILUSER@localhost" \
	    --header "Message-ID: <one@test>" --body "one"
	atf_check -s exit:0 python3 -c "
import smtplib
with smtplib.SMTP('127.0.0.1', $(port)) as s:
    s.sendmail('a@example.org', ['$MAILUSER@localhost'],
        'Message-ID: <two@test>\r\n\r\ntwo\r\n')
"
	wait_log "result=delivered" 2 || atf_fail "not delivered"
	atf_check_equal 2 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o inline:"1\n" sh -c \
	    "grep -l '^Message-ID: <one@test>' Maildir/new/* | wc -l"
	atf_check -s exit:0 -o inline:"1\n" sh -c \
	    "grep -l '^Message-ID: <two@test>' Maildir/new/* | wc -l"
	atf_check -s exit:0 -o empty find spool/queue spool/incoming \
	    -mindepth 1
}
both_clients_both_messages_cleanup()
{
	smtpd_cleanup
}

atf_test_case received_header_names_the_host_not_the_software cleanup
received_header_names_the_host_not_the_software_head()
{
	atf_set descr "The banner, EHLO reply and Received: header name the" \
	    "configured host and never the software"
}
received_header_names_the_host_not_the_software_body()
{
	smtpd_config <<CONF
hostname "mx.example.test"
CONF
	smtpd_start
	atf_check -s exit:0 -o save:session -e ignore swaks \
	    --server 127.0.0.1 --port "$(port)" --to "$MAILUSER@localhost" \
	    --body "hello"
	atf_check -s exit:0 -o match:"^<-  220 mx.example.test ESMTP$" \
	    cat session
	atf_check -s exit:1 -o empty grep -iE "smtpd|opensmtpd|postfix" session
	wait_log "result=delivered" || atf_fail "not delivered"
	msg=$(maildir_messages)
	atf_check -s exit:0 -o match:"by mx.example.test with ESMTP" cat "$msg"
	atf_check -s exit:1 -o empty grep -iE "^Received:.*smtpd" "$msg"
}
received_header_names_the_host_not_the_software_cleanup()
{
	smtpd_cleanup
}

atf_test_case unknown_user_and_relaying_are_refused cleanup
unknown_user_and_relaying_are_refused_head()
{
	atf_set descr "A recipient who is no local user gets 550 5.1.1; a" \
	    "remote domain no rule covers gets 550 5.7.1"
}
unknown_user_and_relaying_are_refused_body()
{
	smtpd_start
	atf_check -s not-exit:0 -o match:"<\*\* 550 5.1.1" -e ignore swaks \
	    --server 127.0.0.1 --port "$(port)" \
	    --to "no-such-user-here@localhost"
	atf_check -s not-exit:0 -o match:"<\*\* 550 5.7.1 Relaying denied" \
	    -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --to "someone@example.com"
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1
}
unknown_user_and_relaying_are_refused_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case swaks_message_lands_byte_exact
	atf_add_test_case smtplib_message_lands_byte_exact
	atf_add_test_case large_message_lands_byte_exact
	atf_add_test_case both_clients_both_messages
	atf_add_test_case received_header_names_the_host_not_the_software
	atf_add_test_case unknown_user_and_relaying_are_refused
}
