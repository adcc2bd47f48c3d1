#! /usr/bin/env atf-sh
#
# SMTP smuggling (CVE-2023-51764 and its family): message text holding
# an end-of-data look-alike built from bare CR or LF, followed by a
# second transaction, must neither end the message early nor let that
# second message in.  Only <CR><LF>.<CR><LF> ends the data, a message
# holding a bare CR or LF, or a NUL, is refused whole, dot-stuffing is
# undone exactly once, and command lines must end in CRLF and never hold
# a CR.  Everything goes over the wire byte for byte.

. "$(atf_get_srcdir)/../lib.sh"

# talk < script: a dialog (lib.sh's dialog, see smtpdialog.py) that
# must go exactly as written; its transcript is kept in "transcript".
talk()
{
	atf_check -s exit:0 -o save:transcript -e empty \
	    python3 "$TOP/regress/smtpdialog.py" "$(port)"
}

# smuggle END: a message to $MAILUSER whose text holds END (escapes as
# in a Python bytes literal) where a lenient reader would see its end,
# followed by a whole second transaction from evil@x, then the real
# <CR><LF>.<CR><LF>.  The one reply is 550 5.5.2 for the whole of it;
# the session goes on, and a clean message sent next is the only one
# queued and delivered.
smuggle()
{
	smtpd_start
	talk <<EOF
< ^220 
> EHLO client.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: carrier\r\n\r\ncarrier body$1MAIL FROM:<evil@x>\r\nRCPT TO:<$MAILUSER@localhost>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n"
< ^550 5\.5\.2 
# The next reply must be this NOOP's: no command was read from the text.
> NOOP
< ^250 2\.0\.0 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: clean\r\n\r\nclean body\r\n.\r\n"
< ^250 2\.0\.0 
> QUIT
< ^221 
eof
EOF
	atf_check_equal 1 \
	    "$(grep -c 'result=refused reason=bare-cr-or-lf' smtpd.log)"
	# Every reply is in, so every queued message is logged by now.
	atf_check_equal 1 "$(grep -c 'result=queued' smtpd.log)"
	atf_check -s exit:1 -o empty grep "evil@x" smtpd.log
	wait_log "result=delivered" || atf_fail "the clean message was" \
	    "not delivered"
	atf_check_equal 1 "$(grep -c 'result=delivered' smtpd.log)"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	atf_check -s exit:0 -o match:"^Subject: clean$" cat "$msgs"
	atf_check -s exit:1 -o empty grep -E "smuggled|carrier|evil" "$msgs"
	atf_check -s exit:0 -o empty find spool/queue spool/incoming \
	    -mindepth 1
}

atf_test_case lf_dot_lf_does_not_end_data cleanup
lf_dot_lf_does_not_end_data_head()
{
	atf_set descr "<LF>.<LF> inside the text does not end the data: the" \
	    "message and the transaction after it are refused as one," \
	    "550 5.5.2, and nothing of it is delivered"
}
lf_dot_lf_does_not_end_data_body()
{
	smuggle '\n.\n'
}
lf_dot_lf_does_not_end_data_cleanup()
{
	smtpd_cleanup
}

atf_test_case cr_dot_cr_does_not_end_data cleanup
cr_dot_cr_does_not_end_data_head()
{
	atf_set descr "<CR>.<CR> inside the text does not end the data:" \
	    "550 5.5.2 for the whole, nothing of it delivered"
}
cr_dot_cr_does_not_end_data_body()
{
	smuggle '\r.\r'
}
cr_dot_cr_does_not_end_data_cleanup()
{
	smtpd_cleanup
}

atf_test_case lf_dot_crlf_does_not_end_data cleanup
lf_dot_crlf_does_not_end_data_head()
{
	atf_set descr "<LF>.<CR><LF> inside the text does not end the data:" \
	    "550 5.5.2 for the whole, nothing of it delivered"
}
lf_dot_crlf_does_not_end_data_body()
{
	smuggle '\n.\r\n'
}
lf_dot_crlf_does_not_end_data_cleanup()
{
	smtpd_cleanup
}

atf_test_case crlf_dot_lf_does_not_end_data cleanup
crlf_dot_lf_does_not_end_data_head()
{
	atf_set descr "<CR><LF>.<LF> inside the text does not end the data:" \
	    "550 5.5.2 for the whole, nothing of it delivered"
}
crlf_dot_lf_does_not_end_data_body()
{
	smuggle '\r\n.\n'
}
crlf_dot_lf_does_not_end_data_cleanup()
{
	smtpd_cleanup
}

atf_test_case cr_dot_crlf_does_not_end_data cleanup
cr_dot_crlf_does_not_end_data_head()
{
	atf_set descr "<CR>.<CR><LF> inside the text does not end the data:" \
	    "550 5.5.2 for the whole, nothing of it delivered"
}
cr_dot_crlf_does_not_end_data_body()
{
	smuggle '\r.\r\n'
}
cr_dot_crlf_does_not_end_data_cleanup()
{
	smtpd_cleanup
}

atf_test_case crlf_dot_cr_does_not_end_data cleanup
crlf_dot_cr_does_not_end_data_head()
{
	atf_set descr "<CR><LF>.<CR> inside the text does not end the data:" \
	    "550 5.5.2 for the whole, nothing of it delivered"
}
crlf_dot_cr_does_not_end_data_body()
{
	smuggle '\r\n.\r'
}
crlf_dot_cr_does_not_end_data_cleanup()
{
	smtpd_cleanup
}

atf_test_case dot_stuffing_is_undone_once cleanup
dot_stuffing_is_undone_once_head()
{
	atf_set descr "One leading dot is removed from each line and no" \
	    "more: '..x' arrives as '.x', '.x' as 'x', '...' as '..'"
}
dot_stuffing_is_undone_once_body()
{
	smtpd_start
	talk <<EOF
< ^220 
> EHLO client.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: dots\r\n\r\n..x\r\n.x\r\n...\r\n..\r\nmid.dle\r\n x\r\n.\r\n"
< ^250 2\.0\.0 
> QUIT
< ^221 
eof
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	message_body "$msgs" > got
	printf '.x\nx\n..\n.\nmid.dle\n x\n' > want
	atf_check -s exit:0 cmp want got
}
dot_stuffing_is_undone_once_cleanup()
{
	smtpd_cleanup
}

atf_test_case data_ends_only_on_crlf_dot_crlf cleanup
data_ends_only_on_crlf_dot_crlf_head()
{
	atf_set descr "Lines that merely hold a dot ('x.', ' .', '. ', '.x.')" \
	    "do not end the data; '.' alone on a line after a CRLF does," \
	    "and what follows it in the same write is a command"
}
data_ends_only_on_crlf_dot_crlf_body()
{
	smtpd_start
	talk <<EOF
< ^220 
> EHLO client.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: ends\r\n\r\nline\r\nx.\r\n .\r\n. \r\n.x.\r\nmore\r\n.\r\nNOOP\r\n"
< ^250 2\.0\.0 Ok: queued
< ^250 2\.0\.0 Ok$
> QUIT
< ^221 
eof
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check_equal 1 "$(grep -c 'result=queued' smtpd.log)"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	message_body "$msgs" > got
	printf 'line\nx.\n .\n \nx.\nmore\n' > want
	atf_check -s exit:0 cmp want got
}
data_ends_only_on_crlf_dot_crlf_cleanup()
{
	smtpd_cleanup
}

atf_test_case nul_in_message_is_550 cleanup
nul_in_message_is_550_head()
{
	atf_set descr "A message holding a NUL, in its header or its body," \
	    "is read whole and refused with 550 5.6.0; nothing of it is" \
	    "queued and the session goes on"
}
nul_in_message_is_550_body()
{
	smtpd_start
	talk <<EOF
< ^220 
> EHLO client.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: nul in body\r\n\r\nbefore\x00after\r\n.\r\n"
< ^550 5\.6\.0 Message contains NUL characters$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: nul\x00in header\r\n\r\nbody\r\n.\r\n"
< ^550 5\.6\.0 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: clean\r\n\r\nclean body\r\n.\r\n"
< ^250 2\.0\.0 
> QUIT
< ^221 
eof
EOF
	atf_check_equal 2 "$(grep -c 'result=refused reason=nul' smtpd.log)"
	atf_check_equal 1 "$(grep -c 'result=queued' smtpd.log)"
	wait_log "result=delivered" || atf_fail "the clean message was" \
	    "not delivered"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	atf_check -s exit:0 -o match:"^Subject: clean$" cat "$msgs"
}
nul_in_message_is_550_cleanup()
{
	smtpd_cleanup
}

atf_test_case bare_lf_command_is_500 cleanup
bare_lf_command_is_500_head()
{
	atf_set descr "A command line ending in a bare LF gets 500 5.5.2" \
	    "and is not obeyed: only CRLF ends a command"
}
bare_lf_command_is_500_body()
{
	smtpd_start
	talk <<EOF
< ^220 
>> b"EHLO client.test\n"
< ^500 5\.5\.2 Bad command line$
# The EHLO was not taken: MAIL still needs one.
> MAIL FROM:<sender@example.org>
< ^503 5\.5\.1 
> EHLO client.test
< ^250 
>> b"MAIL FROM:<sender@example.org>\n"
< ^500 5\.5\.2 
# Nor was the MAIL: there is no transaction.
> RCPT TO:<$MAILUSER@localhost>
< ^503 5\.5\.1 
> QUIT
< ^221 
eof
EOF
	atf_check -s exit:1 -o empty grep "result=queued" smtpd.log
}
bare_lf_command_is_500_cleanup()
{
	smtpd_cleanup
}

atf_test_case cr_inside_command_line_is_500 cleanup
cr_inside_command_line_is_500_head()
{
	atf_set descr "A CR inside a command line gets 500 5.5.2 and" \
	    "nothing of the line is obeyed, neither before nor after the CR"
}
cr_inside_command_line_is_500_body()
{
	smtpd_start
	talk <<EOF
< ^220 
> EHLO client.test
< ^250 
>> b"NOOP\rQUIT\r\n"
< ^500 5\.5\.2 
>> b"MAIL FROM:<sender@example.org>\rRCPT TO:<$MAILUSER@localhost>\r\n"
< ^500 5\.5\.2 
# The MAIL was not taken: there is no transaction.
> RCPT TO:<$MAILUSER@localhost>
< ^503 5\.5\.1 
>> b"NO\rOP\r\n"
< ^500 5\.5\.2 
> NOOP
< ^250 2\.0\.0 
> QUIT
< ^221 
eof
EOF
	atf_check -s exit:1 -o empty grep "result=queued" smtpd.log
}
cr_inside_command_line_is_500_cleanup()
{
	smtpd_cleanup
}

atf_test_case bare_lf_normalize_takes_lf_lines cleanup
bare_lf_normalize_takes_lf_lines_head()
{
	atf_set descr "With bare-lf normalize, command and message lines" \
	    "ending in a bare LF are taken as CRLF lines, but <LF>.<LF> never" \
	    "ends the data (a smuggled transaction stays text of the one" \
	    "message) and a bare CR is still refused"
}
bare_lf_normalize_takes_lf_lines_body()
{
	smtpd_config </dev/null
	sed -i 's/^listen on 127.0.0.1 port [0-9]*/& bare-lf normalize/' \
	    smtpd.conf
	smtpd_start
	talk <<EOF
< ^220 
>> b"EHLO client.test\n"
< ^250 
>> b"MAIL FROM:<sender@example.org>\n"
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: lf lines\nX-Test: normalized\n\nfirst line\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<$MAILUSER@localhost>\r\nDATA\r\nSubject: smuggled\r\n\r\nlast line\r\n.\r\n"
< ^250 2\.0\.0 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: bare cr\r\n\r\na\rb\r\n.\r\n"
< ^550 5\.5\.2 
> QUIT
< ^221 
eof
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check_equal 1 "$(grep -c 'result=queued' smtpd.log)"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	atf_check -o match:"^X-Test: normalized$" cat "$msgs"
	# The smuggled transaction is text of the message, the whole of it.
	atf_check -o match:"^MAIL FROM:<evil@x>$" cat "$msgs"
	atf_check -o match:"^last line$" cat "$msgs"
	atf_check -s exit:1 -o empty grep "from=<evil@x>" smtpd.log
	atf_check -s exit:1 -o empty grep -U "$(printf '\r')" "$msgs"
}
bare_lf_normalize_takes_lf_lines_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case lf_dot_lf_does_not_end_data
	atf_add_test_case bare_lf_normalize_takes_lf_lines
	atf_add_test_case cr_dot_cr_does_not_end_data
	atf_add_test_case lf_dot_crlf_does_not_end_data
	atf_add_test_case crlf_dot_lf_does_not_end_data
	atf_add_test_case cr_dot_crlf_does_not_end_data
	atf_add_test_case crlf_dot_cr_does_not_end_data

	atf_add_test_case dot_stuffing_is_undone_once
	atf_add_test_case data_ends_only_on_crlf_dot_crlf
	atf_add_test_case nul_in_message_is_550

	atf_add_test_case bare_lf_command_is_500
	atf_add_test_case cr_inside_command_line_is_500
}
