#! /usr/bin/env atf-sh
#
# The ESMTP listener, one behaviour per test: what EHLO advertises, the
# order of commands, MAIL and RCPT syntax with their parameters (SIZE,
# DSN, SMTPUTF8), address forms that must never open a relay, the
# limits (recipients, errors, line length, sessions, idle time) and
# pipelining.  Every reply is asserted by its code and enhanced code.

. "$(atf_get_srcdir)/../lib.sh"

# talk < script: a dialog (lib.sh's dialog, see smtpdialog.py) that
# must go exactly as written; its transcript is kept in "transcript".
talk()
{
	atf_check -s exit:0 -o save:transcript -e empty \
	    python3 "$TOP/regress/smtpdialog.py" "$(port)"
}

# talk_ehlo < script: the same after the banner and an EHLO.
talk_ehlo()
{
	{ printf '< ^220 \n> EHLO client.test\n< ^250 \n'; cat; } > script
	talk < script
}

# reply_to COMMAND: the lines of the reply the transcript shows after
# the line that sent COMMAND, without the "<- " marks.
reply_to()
{
	awk -v cmd="-> $1" '
	    $0 == cmd { on = 1; next }
	    on && /^-> / { exit }
	    on { sub(/^<- /, ""); print }' transcript
}

# repeat CHAR COUNT: CHAR written COUNT times, no newline.
repeat()
{
	printf "%$2s" "" | tr ' ' "$1"
}

# Nothing was queued: no queued line in the log, an empty queue.
assert_nothing_queued()
{
	atf_check -s exit:1 -o empty grep "result=queued" smtpd.log
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1
}

# ---------------------------------------------------------------- EHLO

atf_test_case ehlo_advertises_exactly_the_extensions cleanup
ehlo_advertises_exactly_the_extensions_head()
{
	atf_set descr "EHLO on a plain listener advertises exactly" \
	    "PIPELINING, SIZE with the configured limit, 8BITMIME," \
	    "ENHANCEDSTATUSCODES, DSN and SMTPUTF8: no STARTTLS, no AUTH"
}
ehlo_advertises_exactly_the_extensions_body()
{
	smtpd_config <<CONF
smtp max-message-size 10K
CONF
	smtpd_start
	talk <<'EOF'
< ^220 
> EHLO client.test
< ^250 
> QUIT
< ^221 
eof
EOF
	reply_to "EHLO client.test" > reply
	atf_check -s exit:0 -o match:"^250-[^ ]+ Hello client.test " \
	    head -n 1 reply
	sed -e 1d -e 's/^250[- ]//' reply | sort > got
	printf '%s\n' 8BITMIME DSN ENHANCEDSTATUSCODES PIPELINING \
	    "SIZE 10240" SMTPUTF8 | sort > want
	atf_check -s exit:0 diff -u want got
	# Every line but the last says it goes on.
	atf_check -s exit:0 -o inline:"250 PIPELINING\n" \
	    sh -c "grep -v '^250-' reply"
	atf_check -s exit:1 -o empty grep -iE "STARTTLS|AUTH" reply
}
ehlo_advertises_exactly_the_extensions_cleanup()
{
	smtpd_cleanup
}

atf_test_case helo_gets_a_single_250 cleanup
helo_gets_a_single_250_head()
{
	atf_set descr "HELO is answered by one 250 line and no extensions"
}
helo_gets_a_single_250_body()
{
	smtpd_start
	talk <<'EOF'
< ^220 
> HELO client.test
< ^250 
> QUIT
< ^221 
eof
EOF
	reply_to "HELO client.test" > reply
	atf_check_equal 1 "$(wc -l < reply)"
	atf_check -s exit:0 -o match:"^250 [^ ]+ Hello client.test " cat reply
}
helo_gets_a_single_250_cleanup()
{
	smtpd_cleanup
}

atf_test_case ehlo_with_control_characters_is_501 cleanup
ehlo_with_control_characters_is_501_head()
{
	atf_set descr "An EHLO or HELO name holding an escape, a tab, a bell," \
	    "a parenthesis or a malformed literal gets 501 5.5.4 and is" \
	    "not kept: MAIL still needs a greeting"
}
ehlo_with_control_characters_is_501_body()
{
	echo "smtp limit max-errors 20" | smtpd_config
	smtpd_start
	talk <<'EOF'
< ^220 
>> b"EHLO evil\x1b[2J.test\r\n"
< ^501 5\.5\.4 Invalid domain name$
>> b"EHLO evil\t(forged.test [192.0.2.1])\r\n"
< ^501 5\.5\.4 
>> b"HELO bell\x07.test\r\n"
< ^501 5\.5\.4 
>> b"EHLO del\x7f.test\r\n"
< ^501 5\.5\.4 
> EHLO host(x).test
< ^501 5\.5\.4 
> EHLO a..b
< ^501 5\.5\.4 
> EHLO [192.0.2.300]
< ^501 5\.5\.4 
> EHLO [IPv6:nonsense]
< ^501 5\.5\.4 
> MAIL FROM:<sender@example.org>
< ^503 5\.5\.1 
> QUIT
< ^221 
eof
EOF
	atf_check -s exit:1 -o empty grep -F "$(printf '\033')" smtpd.log
	atf_check -s exit:1 -o empty grep -F "$(printf '\007')" smtpd.log
}
ehlo_with_control_characters_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case ehlo_names_in_the_wild_are_accepted cleanup
ehlo_names_in_the_wild_are_accepted_head()
{
	atf_set descr "EHLO accepts a domain, address literals, and the" \
	    "underscores and bare IPv4 addresses real clients send; the" \
	    "last one given goes into the Received: header"
}
ehlo_names_in_the_wild_are_accepted_body()
{
	smtpd_start
	talk <<EOF
< ^220 
> EHLO mail.example.org
< ^250 
> EHLO [192.0.2.1]
< ^250 
> EHLO [IPv6:2001:db8::1]
< ^250 
> EHLO 192.0.2.1
< ^250 
> HELO localhost
< ^250 
> EHLO host_name.example-1.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: helo\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 
> QUIT
< ^221 
eof
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 \
	    -o match:"^Received: from host_name\.example-1\.test \(" \
	    cat "$(maildir_messages)"
}
ehlo_names_in_the_wild_are_accepted_cleanup()
{
	smtpd_cleanup
}

atf_test_case client_control_characters_are_escaped_in_the_log cleanup
client_control_characters_are_escaped_in_the_log_head()
{
	atf_set descr "A control character a client sends reaches the log" \
	    "as a backslash and three octal digits: no escape sequence and" \
	    "no line or field of the client's own"
}
client_control_characters_are_escaped_in_the_log_body()
{
	smtpd_start
	talk <<'EOF'
< ^220 
> EHLO client.test
< ^250 
>> b"NOOP\x1b]0;owned\x07 x\tresult=forged\r\n"
< ^500 5\.5\.1 
> QUIT
< ^221 
eof
EOF
	wait_log 'command="NOOP\\033]0;owned\\007 x\\011result=forged"' ||
	    atf_fail "the command was not logged escaped"
	atf_check -s exit:1 -o empty grep -F "$(printf '\033')" smtpd.log
	atf_check -s exit:1 -o empty grep -F "$(printf '\007')" smtpd.log
	atf_check -s exit:1 -o empty grep -F "$(printf '\t')" smtpd.log
}
client_control_characters_are_escaped_in_the_log_cleanup()
{
	smtpd_cleanup
}

# ---------------------------------------------------------- sequencing

atf_test_case rcpt_before_mail_is_503 cleanup
rcpt_before_mail_is_503_head()
{
	atf_set descr "RCPT before MAIL gets 503 5.5.1"
}
rcpt_before_mail_is_503_body()
{
	smtpd_start
	talk_ehlo <<EOF
> RCPT TO:<$MAILUSER@localhost>
< ^503 5\.5\.1 
> QUIT
< ^221 
EOF
}
rcpt_before_mail_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case data_before_mail_is_503 cleanup
data_before_mail_is_503_head()
{
	atf_set descr "DATA before MAIL gets 503 5.5.1"
}
data_before_mail_is_503_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> DATA
< ^503 5\.5\.1 
> QUIT
< ^221 
EOF
	assert_nothing_queued
}
data_before_mail_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case data_before_rcpt_is_503 cleanup
data_before_rcpt_is_503_head()
{
	atf_set descr "DATA after MAIL but before any accepted RCPT gets" \
	    "503 5.5.1"
}
data_before_rcpt_is_503_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> DATA
< ^503 5\.5\.1 
> RCPT TO:<no-such-user-here@localhost>
< ^550 5\.1\.1 
> DATA
< ^503 5\.5\.1 
> QUIT
< ^221 
EOF
	assert_nothing_queued
}
data_before_rcpt_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_before_helo_is_503 cleanup
mail_before_helo_is_503_head()
{
	atf_set descr "MAIL before HELO or EHLO gets 503 5.5.1"
}
mail_before_helo_is_503_body()
{
	smtpd_start
	talk <<'EOF'
< ^220 
> MAIL FROM:<a@b.example>
< ^503 5\.5\.1 
> QUIT
< ^221 
eof
EOF
}
mail_before_helo_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case second_mail_is_503 cleanup
second_mail_is_503_head()
{
	atf_set descr "A second MAIL inside a transaction gets 503 5.5.1"
}
second_mail_is_503_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> MAIL FROM:<c@d.example>
< ^503 5\.5\.1 
> QUIT
< ^221 
EOF
}
second_mail_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case rset_clears_the_transaction cleanup
rset_clears_the_transaction_head()
{
	atf_set descr "RSET ends the transaction: RCPT after it gets 503," \
	    "a new MAIL is accepted"
}
rset_clears_the_transaction_body()
{
	smtpd_start
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> RSET
< ^250 2\.0\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^503 5\.5\.1 
> DATA
< ^503 5\.5\.1 
> MAIL FROM:<c@d.example>
< ^250 2\.1\.0 
> QUIT
< ^221 
EOF
	assert_nothing_queued
}
rset_clears_the_transaction_cleanup()
{
	smtpd_cleanup
}

atf_test_case noop_is_250 cleanup
noop_is_250_head()
{
	atf_set descr "NOOP gets 250 2.0.0, before and after EHLO and" \
	    "inside a transaction"
}
noop_is_250_body()
{
	smtpd_start
	talk <<'EOF'
< ^220 
> NOOP
< ^250 2\.0\.0 
> EHLO client.test
< ^250 
> NOOP
< ^250 2\.0\.0 
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> NOOP
< ^250 2\.0\.0 
> QUIT
< ^221 
EOF
}
noop_is_250_cleanup()
{
	smtpd_cleanup
}

atf_test_case unknown_command_is_500 cleanup
unknown_command_is_500_head()
{
	atf_set descr "An unknown command gets 500 5.5.1"
}
unknown_command_is_500_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> FOOBAR something
< ^500 5\.5\.1 
> XEXCH50 1 2
< ^500 5\.5\.1 
> NOOP
< ^250 2\.0\.0 
EOF
}
unknown_command_is_500_cleanup()
{
	smtpd_cleanup
}

atf_test_case quit_is_221_and_closes cleanup
quit_is_221_and_closes_head()
{
	atf_set descr "QUIT gets 221 2.0.0 and the server closes the" \
	    "connection"
}
quit_is_221_and_closes_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> QUIT
< ^221 2\.0\.0 
eof
EOF
	wait_log "result=closed reason=quit" || atf_fail "no close logged"
}
quit_is_221_and_closes_cleanup()
{
	smtpd_cleanup
}

# --------------------------------------------------------- MAIL syntax

atf_test_case mail_without_angle_brackets_is_501 cleanup
mail_without_angle_brackets_is_501_head()
{
	atf_set descr "MAIL FROM:a@b without angle brackets gets 501 5.1.7"
}
mail_without_angle_brackets_is_501_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:a@b.example
< ^501 5\.1\.7 
> MAIL FROM:<a@b.example
< ^501 5\.1\.7 
> MAIL FROM:a@b.example>
< ^501 5\.1\.7 
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
EOF
}
mail_without_angle_brackets_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_with_bad_domain_is_501 cleanup
mail_with_bad_domain_is_501_head()
{
	atf_set descr "MAIL with a malformed domain gets 501 5.1.7: a" \
	    "leading hyphen, an empty label, an all-digit last label, a" \
	    "missing domain"
}
mail_with_bad_domain_is_501_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@-b.example>
< ^501 5\.1\.7 
> MAIL FROM:<a@b..example>
< ^501 5\.1\.7 
> MAIL FROM:<a@host.123>
< ^501 5\.1\.7 
> MAIL FROM:<a@>
< ^501 5\.1\.7 
> MAIL FROM:<a>
< ^501 5\.1\.7 
EOF
}
mail_with_bad_domain_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_null_sender_is_accepted cleanup
mail_null_sender_is_accepted_head()
{
	atf_set descr "MAIL FROM:<> (the null reverse-path) gets 250 2.1.0"
}
mail_null_sender_is_accepted_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<>
< ^250 2\.1\.0 
EOF
}
mail_null_sender_is_accepted_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_space_before_path_is_accepted cleanup
mail_space_before_path_is_accepted_head()
{
	atf_set descr "MAIL FROM: <a@b.example> with a space after the" \
	    "colon gets 250 2.1.0"
}
mail_space_before_path_is_accepted_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM: <a@b.example>
< ^250 2\.1\.0 
EOF
}
mail_space_before_path_is_accepted_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_unknown_parameter_is_555 cleanup
mail_unknown_parameter_is_555_head()
{
	atf_set descr "MAIL with a parameter the server does not know," \
	    "or a known one with a bad value, gets 555 5.5.4"
}
mail_unknown_parameter_is_555_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example> FOO=bar
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> XYZZY
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> BODY=BINARYMIME
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> BODY=8BITMIME
< ^250 2\.1\.0 
EOF
}
mail_unknown_parameter_is_555_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_parameters_after_helo_are_555 cleanup
mail_parameters_after_helo_are_555_head()
{
	atf_set descr "After HELO (not EHLO) a MAIL or RCPT parameter gets" \
	    "555 5.5.4; the same command without it is accepted"
}
mail_parameters_after_helo_are_555_body()
{
	smtpd_start
	talk <<EOF
< ^220 
> HELO client.test
< ^250 
> MAIL FROM:<a@b.example> SIZE=100
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> BODY=8BITMIME
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost> NOTIFY=NEVER
< ^555 5\.5\.4 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
> QUIT
< ^221 
EOF
}
mail_parameters_after_helo_are_555_cleanup()
{
	smtpd_cleanup
}

# ---------------------------------------------------------------- SIZE

atf_test_case size_over_limit_is_552 cleanup
size_over_limit_is_552_head()
{
	atf_set descr "MAIL with SIZE one octet over max-message-size gets" \
	    "552 5.3.4"
}
size_over_limit_is_552_body()
{
	smtpd_config <<CONF
smtp max-message-size 10K
CONF
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example> SIZE=10241
< ^552 5\.3\.4 
> MAIL FROM:<a@b.example> SIZE=99999999999999999999
< ^552 5\.3\.4 
> MAIL FROM:<a@b.example> SIZE=12x
< ^501 5\.5\.4 
EOF
}
size_over_limit_is_552_cleanup()
{
	smtpd_cleanup
}

atf_test_case size_within_limit_is_accepted cleanup
size_within_limit_is_accepted_head()
{
	atf_set descr "MAIL with SIZE equal to max-message-size, or below," \
	    "gets 250 2.1.0"
}
size_within_limit_is_accepted_body()
{
	smtpd_config <<CONF
smtp max-message-size 10K
CONF
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example> SIZE=10240
< ^250 2\.1\.0 
> RSET
< ^250 
> MAIL FROM:<a@b.example> SIZE=1
< ^250 2\.1\.0 
EOF
}
size_within_limit_is_accepted_cleanup()
{
	smtpd_cleanup
}

# hops_message HEADER BODY: a message script from DATA's 354 to its
# final dot, its header holding HEADER Received: lines (one of them
# folded over two) and its body BODY more.
hops_message()
{
	printf '> DATA\n< ^354 \n'
	i=0
	while [ $i -lt "$1" ]; do
		if [ $i -eq 0 ]; then
			printf '> Received: from h%d.test\n' $i
			printf '> \tby x.test; Mon, 1 Jan 2024 00:00:00 +0000\n'
		else
			printf '> Received: from h%d.test by x.test; %s\n' $i \
			    "Mon, 1 Jan 2024 00:00:00 +0000"
		fi
		i=$((i + 1))
	done
	printf '> Subject: hops\n>> b"\\r\\n"\n'
	i=0
	while [ $i -lt "$2" ]; do
		printf '> Received: in the body %d\n' $i
		i=$((i + 1))
	done
	printf '> .\n'
}

# hops_transaction FROM HEADER BODY REPLY
hops_transaction()
{
	printf '> MAIL FROM:<%s>\n< ^250 2\\.1\\.0 \n' "$1"
	printf '> RCPT TO:<%s@localhost>\n< ^250 2\\.1\\.5 \n' "$MAILUSER"
	hops_message "$2" "$3"
	printf '< %s\n' "$4"
}

atf_test_case looping_message_is_554 cleanup
looping_message_is_554_head()
{
	atf_set descr "A message whose header holds 300 Received: lines is" \
	    "read whole, then refused with 554 5.4.6 and not queued; the" \
	    "session goes on"
}
looping_message_is_554_body()
{
	smtpd_start
	{
		printf '< ^220 \n> EHLO client.test\n< ^250 \n'
		hops_transaction loop@b.example 300 0 '^554 5\.4\.6 Too many hops$'
		printf '> NOOP\n< ^250 2\\.0\\.0 \n'
		printf '> QUIT\n< ^221 \neof\n'
	} > script
	talk < script
	atf_check -s exit:0 \
	    -o match:"from=<loop@b.example> result=refused reason=too-many-hops" \
	    cat smtpd.log
	assert_nothing_queued
}
looping_message_is_554_cleanup()
{
	smtpd_cleanup
}

atf_test_case max_hops_counts_header_lines_only cleanup
max_hops_counts_header_lines_only_head()
{
	atf_set descr "With max-hops 3 a message with 2 Received: lines in" \
	    "its header (one folded) and more in its body is queued, one" \
	    "with 3 in its header gets 554 5.4.6; ours makes the third hop"
}
max_hops_counts_header_lines_only_body()
{
	echo "smtp limit max-hops 3" | smtpd_config
	smtpd_start
	{
		printf '< ^220 \n> EHLO client.test\n< ^250 \n'
		hops_transaction three@b.example 3 0 '^554 5\.4\.6 '
		hops_transaction two@b.example 2 5 '^250 2\.0\.0 '
		printf '> QUIT\n< ^221 \neof\n'
	} > script
	talk < script
	atf_check -s exit:0 -o match:"from=<three@b.example> .*too-many-hops" \
	    cat smtpd.log
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check_equal 1 "$(grep -c 'result=queued' smtpd.log)"
	atf_check_equal 3 \
	    "$(sed '/^$/q' "$(maildir_messages)" | grep -c '^Received:')"
}
max_hops_counts_header_lines_only_cleanup()
{
	smtpd_cleanup
}

atf_test_case oversize_data_is_552_and_not_queued cleanup
oversize_data_is_552_and_not_queued_head()
{
	atf_set descr "A message over max-message-size without SIZE is" \
	    "read to its end, then refused 552 5.3.4; nothing of it is" \
	    "queued or delivered, and the session goes on to accept the" \
	    "next message"
}
oversize_data_is_552_and_not_queued_body()
{
	smtpd_config <<CONF
smtp max-message-size 10K
CONF
	smtpd_start
	line=$(repeat x 100)
	{
		printf '< ^220 \n> EHLO client.test\n< ^250 \n'
		printf '> MAIL FROM:<big@b.example>\n< ^250 2\\.1\\.0 \n'
		printf '> RCPT TO:<%s@localhost>\n< ^250 2\\.1\\.5 \n' \
		    "$MAILUSER"
		printf '> DATA\n< ^354 \n'
		printf '> Subject: too big\n'
		printf '>> b"\\r\\n"\n'
		i=0
		while [ $i -lt 110 ]; do
			printf '> %s\n' "$line"
			i=$((i + 1))
		done
		printf '> .\n< ^552 5\\.3\\.4 \n'
		printf '> MAIL FROM:<small@b.example>\n< ^250 2\\.1\\.0 \n'
		printf '> RCPT TO:<%s@localhost>\n< ^250 2\\.1\\.5 \n' \
		    "$MAILUSER"
		printf '> DATA\n< ^354 \n'
		printf '>> b"Subject: small\\r\\n\\r\\nsmall one\\r\\n.\\r\\n"\n'
		printf '< ^250 2\\.0\\.0 \n'
		printf '> QUIT\n< ^221 \neof\n'
	} > script
	talk < script
	atf_check -s exit:0 \
	    -o match:"from=<big@b.example> result=refused reason=too-big" \
	    cat smtpd.log
	wait_log "result=delivered" || atf_fail "the second message was" \
	    "not delivered"
	atf_check_equal 1 "$(grep -c 'result=queued' smtpd.log)"
	atf_check -s exit:0 -o match:"from=<small@b.example>" \
	    grep "result=queued" smtpd.log
	atf_check_equal 1 "$(grep -c 'result=delivered' smtpd.log)"
	msgs=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msgs" | grep -c .)"
	atf_check -s exit:0 -o match:"^Subject: small$" cat "$msgs"
	atf_check -s exit:0 -o empty find spool/queue spool/incoming \
	    -mindepth 1
}
oversize_data_is_552_and_not_queued_cleanup()
{
	smtpd_cleanup
}

# ----------------------------------------------------------------- DSN

atf_test_case dsn_parameters_are_accepted_and_stored cleanup
dsn_parameters_are_accepted_and_stored_head()
{
	atf_set descr "RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT are" \
	    "accepted and stored in the envelope"
}
dsn_parameters_are_accepted_and_stored_body()
{
	smtpd_config <<CONF
action "out" relay host smtp://127.0.0.1:$DEAD_PORT
match from any for domain "remote.example" action "out"
CONF
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example> RET=HDRS ENVID=xyz
< ^250 2\.1\.0 
> RCPT TO:<someone@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b
< ^250 2\.1\.5 
> DATA
< ^354 
>> b"Subject: dsn\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 
> QUIT
< ^221 
eof
EOF
	wait_log "result=tempfail" ||
	    atf_fail "the relayed envelope did not wait"
	# Envelopes are the 16-hex-digit files, messages the 8-digit ones.
	find spool/queue -type f -regextype posix-extended \
	    -regex '.*/[0-9a-f]{16}' > envelopes
	atf_check_equal 1 "$(wc -l < envelopes)"
	env=$(cat envelopes)
	atf_check -s exit:0 -o match:"^rcpt someone@remote.example$" cat "$env"
	atf_check -s exit:0 -o match:"^dsn-ret HDRS$" cat "$env"
	atf_check -s exit:0 -o match:"^dsn-envid xyz$" cat "$env"
	atf_check -s exit:0 -o match:"^dsn-notify SUCCESS,FAILURE$" cat "$env"
	atf_check -s exit:0 -o match:"^dsn-orcpt rfc822;a@b$" cat "$env"
}
dsn_parameters_are_accepted_and_stored_cleanup()
{
	smtpd_cleanup
}

atf_test_case dsn_notify_never_with_others_is_555 cleanup
dsn_notify_never_with_others_is_555_head()
{
	atf_set descr "NOTIFY=NEVER combined with another value, or an" \
	    "unknown value, gets 555 5.5.4; NOTIFY=NEVER alone is accepted"
}
dsn_notify_never_with_others_is_555_body()
{
	smtpd_start
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost> NOTIFY=NEVER,SUCCESS
< ^555 5\.5\.4 
> RCPT TO:<$MAILUSER@localhost> NOTIFY=SUCCESS,NEVER
< ^555 5\.5\.4 
> RCPT TO:<$MAILUSER@localhost> NOTIFY=NEVER,NEVER
< ^555 5\.5\.4 
> RCPT TO:<$MAILUSER@localhost> NOTIFY=SOMETIMES
< ^555 5\.5\.4 
> RCPT TO:<$MAILUSER@localhost> NOTIFY=NEVER
< ^250 2\.1\.5 
EOF
}
dsn_notify_never_with_others_is_555_cleanup()
{
	smtpd_cleanup
}

atf_test_case dsn_bad_xtext_envid_is_555 cleanup
dsn_bad_xtext_envid_is_555_head()
{
	atf_set descr "ENVID that is not valid xtext, RET with an unknown" \
	    "value and ORCPT without a type get 555 5.5.4"
}
dsn_bad_xtext_envid_is_555_body()
{
	smtpd_start
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example> ENVID=a+zz
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> ENVID=a+2
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> ENVID=a+2b
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> RET=SOME
< ^555 5\.5\.4 
> MAIL FROM:<a@b.example> ENVID=a+2Bb
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost> ORCPT=a@b
< ^555 5\.5\.4 
EOF
}
dsn_bad_xtext_envid_is_555_cleanup()
{
	smtpd_cleanup
}

# ------------------------------------------------------------ SMTPUTF8

atf_test_case smtputf8_sender_is_accepted cleanup
smtputf8_sender_is_accepted_head()
{
	atf_set descr "MAIL with a UTF-8 local part and SMTPUTF8 gets" \
	    "250 2.1.0"
}
smtputf8_sender_is_accepted_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<δοκιμή@example.org> SMTPUTF8
< ^250 2\.1\.0 
EOF
}
smtputf8_sender_is_accepted_cleanup()
{
	smtpd_cleanup
}

atf_test_case utf8_sender_without_smtputf8_is_501 cleanup
utf8_sender_without_smtputf8_is_501_head()
{
	atf_set descr "MAIL with a UTF-8 local part but no SMTPUTF8" \
	    "parameter gets 501 5.1.7"
}
utf8_sender_without_smtputf8_is_501_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<δοκιμή@example.org>
< ^501 5\.1\.7 .*SMTPUTF8
> MAIL FROM:<a@δοκιμή.example>
< ^501 5\.1\.7 .*SMTPUTF8
EOF
}
utf8_sender_without_smtputf8_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case utf8_recipient_reaches_lookup cleanup
utf8_recipient_reaches_lookup_head()
{
	atf_set descr "In an SMTPUTF8 transaction a RCPT with a UTF-8 local" \
	    "part is parsed and looked up (550 5.1.1, no such user)"
}
utf8_recipient_reaches_lookup_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<δοκιμή@example.org> SMTPUTF8
< ^250 2\.1\.0 
> RCPT TO:<δοκιμή@localhost>
< ^550 5\.1\.1 
EOF
	atf_check -s exit:0 -o match:"to=<δοκιμή@localhost> result=refused" \
	    cat smtpd.log
}
utf8_recipient_reaches_lookup_cleanup()
{
	smtpd_cleanup
}

atf_test_case utf8_recipient_without_smtputf8_is_501 cleanup
utf8_recipient_without_smtputf8_is_501_head()
{
	atf_set descr "Without SMTPUTF8 on MAIL a RCPT with a UTF-8 local" \
	    "part gets 501 5.1.3"
}
utf8_recipient_without_smtputf8_is_501_body()
{
	smtpd_start
	talk_ehlo <<'EOF'
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<δοκιμή@localhost>
< ^501 5\.1\.3 
EOF
}
utf8_recipient_without_smtputf8_is_501_cleanup()
{
	smtpd_cleanup
}

# ---------------------------------------------- addresses never relayed

# rcpt_gets ADDRESS PATTERN: in a fresh transaction RCPT TO:<ADDRESS>
# gets a reply matching PATTERN, and nothing is queued.
rcpt_gets()
{
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<$1>
< $2
> DATA
< ^503 5\.5\.1 
> QUIT
< ^221 
EOF
	assert_nothing_queued
}

atf_test_case percent_hack_is_no_route cleanup
percent_hack_is_no_route_head()
{
	atf_set descr "user%other@localhost is a local part with a '%'," \
	    "not a route: 550 5.1.1 no such user"
}
percent_hack_is_no_route_body()
{
	smtpd_start
	rcpt_gets "user%other@localhost" '^550 5\.1\.1 '
	rcpt_gets "$MAILUSER%example.com@localhost" '^550 5\.1\.1 '
}
percent_hack_is_no_route_cleanup()
{
	smtpd_cleanup
}

atf_test_case bang_path_is_no_route cleanup
bang_path_is_no_route_head()
{
	atf_set descr "other!user@localhost is a local part with a '!'," \
	    "not a UUCP path: 550 5.1.1 no such user"
}
bang_path_is_no_route_body()
{
	smtpd_start
	rcpt_gets "other!user@localhost" '^550 5\.1\.1 '
	rcpt_gets "example.com!$MAILUSER@localhost" '^550 5\.1\.1 '
}
bang_path_is_no_route_cleanup()
{
	smtpd_cleanup
}

atf_test_case quoted_at_stays_in_local_part cleanup
quoted_at_stays_in_local_part_head()
{
	atf_set descr "\"user@other\"@localhost keeps its '@' inside the" \
	    "local part: 550 5.1.1 no such user"
}
quoted_at_stays_in_local_part_body()
{
	smtpd_start
	rcpt_gets '"user@other"@localhost' '^550 5\.1\.1 '
	rcpt_gets "\"$MAILUSER@example.com\"@localhost" '^550 5\.1\.1 '
}
quoted_at_stays_in_local_part_cleanup()
{
	smtpd_cleanup
}

atf_test_case source_route_to_remote_is_relaying cleanup
source_route_to_remote_is_relaying_head()
{
	atf_set descr "A source route through localhost to a remote" \
	    "mailbox is judged by the mailbox: 550 5.7.1 Relaying denied"
}
source_route_to_remote_is_relaying_body()
{
	smtpd_start
	rcpt_gets "@localhost:user@example.com" \
	    '^550 5\.7\.1 Relaying denied'
	rcpt_gets "@localhost,@other.example:user@example.com" \
	    '^550 5\.7\.1 Relaying denied'
}
source_route_to_remote_is_relaying_cleanup()
{
	smtpd_cleanup
}

atf_test_case address_literal_is_relaying cleanup
address_literal_is_relaying_head()
{
	atf_set descr "user@[192.0.2.1] is a remote address literal:" \
	    "550 5.7.1 Relaying denied"
}
address_literal_is_relaying_body()
{
	smtpd_start
	rcpt_gets "user@[192.0.2.1]" '^550 5\.7\.1 Relaying denied'
	rcpt_gets "user@[IPv6:2001:db8::1]" '^550 5\.7\.1 Relaying denied'
}
address_literal_is_relaying_cleanup()
{
	smtpd_cleanup
}

atf_test_case bare_postmaster_reaches_lookup cleanup
bare_postmaster_reaches_lookup_head()
{
	atf_set descr "RCPT TO:<postmaster> without a domain parses and is" \
	    "looked up as a local user (550 5.1.1 when there is none), it" \
	    "is no syntax error"
}
bare_postmaster_reaches_lookup_body()
{
	smtpd_start
	if getent passwd postmaster >/dev/null; then
		want='^250 2\.1\.5 '
	else
		want='^550 5\.1\.1 '
	fi
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<postmaster>
< $want
> RCPT TO:<PostMaster>
< $want
EOF
	atf_check -s exit:0 -o match:"to=<postmaster> result=" cat smtpd.log
}
bare_postmaster_reaches_lookup_cleanup()
{
	smtpd_cleanup
}

atf_test_case missing_domain_is_501 cleanup
missing_domain_is_501_head()
{
	atf_set descr "RCPT TO:<user> without a domain (other than" \
	    "postmaster) gets 501 5.1.3"
}
missing_domain_is_501_body()
{
	smtpd_start
	rcpt_gets "user" '^501 5\.1\.3 '
	rcpt_gets "$MAILUSER" '^501 5\.1\.3 '
	rcpt_gets '"postmaster"' '^501 5\.1\.3 '
}
missing_domain_is_501_cleanup()
{
	smtpd_cleanup
}

# --------------------------------------------------------------- limits

atf_test_case fourth_recipient_over_max_rcpt_is_452 cleanup
fourth_recipient_over_max_rcpt_is_452_head()
{
	atf_set descr "With max-rcpt 3 the fourth RCPT gets 452 4.5.3; the" \
	    "message goes to the three accepted recipients only"
}
fourth_recipient_over_max_rcpt_is_452_body()
{
	# Four distinct recipients, all delivered to the one local user.
	W=$(pwd)
	free_port > port
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $(port)
smtp limit max-rcpt 3
table aliases { one = $MAILUSER, two = $MAILUSER, three = $MAILUSER, four = $MAILUSER }
action "local" maildir "$W/Maildir" alias <aliases>
match from any for local action "local"
CONF
	smtpd_start
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<one@localhost>
< ^250 2\.1\.5 
> RCPT TO:<nobody-here@localhost>
< ^550 5\.1\.1 
> RCPT TO:<two@localhost>
< ^250 2\.1\.5 
> RCPT TO:<one@LOCALHOST>
< ^250 2\.1\.5 
> RCPT TO:<three@localhost>
< ^250 2\.1\.5 
> RCPT TO:<four@localhost>
< ^452 4\.5\.3 
> DATA
< ^354 
>> b"Subject: three\r\n\r\nfor three\r\n.\r\n"
< ^250 2\.0\.0 
> QUIT
< ^221 
EOF
	atf_check -s exit:0 -o match:"rcpts=3 " grep "result=queued" smtpd.log
	wait_log "result=delivered" 3 || atf_fail "not delivered to three"
	for r in one two three; do
		atf_check -s exit:0 -o ignore \
		    grep "to=<$r@localhost> user=$MAILUSER result=delivered" \
		    smtpd.log
	done
	atf_check -s exit:1 grep -q "to=<four@localhost>" smtpd.log
	atf_check_equal 3 "$(maildir_messages | grep -c .)"
}
fourth_recipient_over_max_rcpt_is_452_cleanup()
{
	smtpd_cleanup
}

# ----------------------------------------------------------- pipelining

atf_test_case pipelined_transaction_is_answered_in_order cleanup
pipelined_transaction_is_answered_in_order_head()
{
	atf_set descr "MAIL, RCPT, RCPT and DATA sent in one write get" \
	    "their replies in order, and the message is queued"
}
pipelined_transaction_is_answered_in_order_body()
{
	smtpd_start
	talk_ehlo <<EOF
>> b"MAIL FROM:<a@b.example>\r\nRCPT TO:<no-such-user-here@localhost>\r\nRCPT TO:<$MAILUSER@localhost>\r\nDATA\r\n"
< ^250 2\.1\.0 
< ^550 5\.1\.1 
< ^250 2\.1\.5 
< ^354 
>> b"Subject: pipelined\r\n\r\nin one go\r\n.\r\nQUIT\r\n"
< ^250 2\.0\.0 
< ^221 
eof
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o match:"^Subject: pipelined$" \
	    cat "$(maildir_messages)"
}
pipelined_transaction_is_answered_in_order_cleanup()
{
	smtpd_cleanup
}

atf_test_case command_pipelined_after_ehlo_is_554 cleanup
command_pipelined_after_ehlo_is_554_head()
{
	atf_set descr "A command sent with EHLO before its reply gets" \
	    "554 5.5.0 and the connection is closed"
}
command_pipelined_after_ehlo_is_554_body()
{
	smtpd_start
	talk <<'EOF'
< ^220 
>> b"EHLO client.test\r\nNOOP\r\n"
< ^554 5\.5\.0 
eof
EOF
	atf_check -s exit:0 -o match:"reason=pipelined-after-EHLO" cat smtpd.log
}
command_pipelined_after_ehlo_is_554_cleanup()
{
	smtpd_cleanup
}

atf_test_case text_pipelined_after_data_is_554 cleanup
text_pipelined_after_data_is_554_head()
{
	atf_set descr "Message text sent with DATA before the 354 gets" \
	    "554 5.5.0, the connection is closed and nothing is queued"
}
text_pipelined_after_data_is_554_body()
{
	smtpd_start
	talk_ehlo <<EOF
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 
>> b"DATA\r\nSubject: early\r\n\r\ntoo early\r\n.\r\n"
< ^554 5\.5\.0 
eof
EOF
	atf_check -s exit:0 -o match:"reason=pipelined-after-DATA" cat smtpd.log
	wait_log "result=closed" || atf_fail "session not closed"
	assert_nothing_queued
	atf_check -s exit:0 -o empty find spool/incoming -mindepth 1
	atf_check_equal 0 "$(maildir_messages | grep -c .)"
}
text_pipelined_after_data_is_554_cleanup()
{
	smtpd_cleanup
}

# --------------------------------------------------------------- errors

atf_test_case max_errors_closes_with_421 cleanup
max_errors_closes_with_421_head()
{
	atf_set descr "With max-errors 3, after three 5xx replies the" \
	    "session ends with 421 4.7.0 and the connection is closed"
}
max_errors_closes_with_421_body()
{
	smtpd_config <<CONF
smtp limit max-errors 3
CONF
	smtpd_start
	talk_ehlo <<'EOF'
> FOO
< ^500 5\.5\.1 
> MAIL FROM:<a@-b.example>
< ^501 5\.1\.7 
> NOOP
< ^250 2\.0\.0 
> RCPT TO:<a@b.example>
< ^503 5\.5\.1 
> NOOP
< ^421 4\.7\.0 
eof
EOF
	atf_check -s exit:0 -o match:"reason=too-many-errors" cat smtpd.log
}
max_errors_closes_with_421_cleanup()
{
	smtpd_cleanup
}

# ---------------------------------------------------------- line length

atf_test_case line_of_512_octets_is_served cleanup
line_of_512_octets_is_served_head()
{
	atf_set descr "A command line of exactly 512 octets, CRLF" \
	    "included, is served"
}
line_of_512_octets_is_served_body()
{
	smtpd_start
	line="NOOP $(repeat x 505)"
	atf_check_equal 510 "${#line}"
	talk_ehlo <<EOF
>> b"$line\r\n"
< ^250 2\.0\.0 
EOF
}
line_of_512_octets_is_served_cleanup()
{
	smtpd_cleanup
}

atf_test_case line_of_513_octets_is_500 cleanup
line_of_513_octets_is_500_head()
{
	atf_set descr "A command line of 513 octets, CRLF included, gets" \
	    "500 5.5.2 Line too long"
}
line_of_513_octets_is_500_body()
{
	smtpd_start
	line="NOOP $(repeat x 506)"
	atf_check_equal 511 "${#line}"
	talk_ehlo <<EOF
>> b"$line\r\n"
< ^500 5\.5\.2 Line too long
EOF
}
line_of_513_octets_is_500_cleanup()
{
	smtpd_cleanup
}

atf_test_case three_overlong_lines_close_with_421 cleanup
three_overlong_lines_close_with_421_head()
{
	atf_set descr "The third overlong command line gets 500 5.5.2, then" \
	    "421 4.7.0, and the connection is closed"
}
three_overlong_lines_close_with_421_body()
{
	smtpd_start
	line="NOOP $(repeat x 600)"
	talk_ehlo <<EOF
> $line
< ^500 5\.5\.2 Line too long
> $line
< ^500 5\.5\.2 Line too long
> $line
< ^500 5\.5\.2 Line too long
< ^421 4\.7\.0 
eof
EOF
}
three_overlong_lines_close_with_421_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_line_of_600_octets_is_served cleanup
mail_line_of_600_octets_is_served_head()
{
	atf_set descr "A MAIL line of 600 octets, longer than 512 but within" \
	    "what its parameters allow, is served (250 2.1.0)"
}
mail_line_of_600_octets_is_served_body()
{
	smtpd_start
	line="MAIL FROM:<a@b.example> AUTH=$(repeat a 453)"
	line="$line ENVID=$(repeat e 90) RET=HDRS SIZE=1000"
	atf_check_equal 598 "${#line}"
	talk_ehlo <<EOF
> $line
< ^250 2\.1\.0 
EOF
}
mail_line_of_600_octets_is_served_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_line_of_2000_octets_is_500 cleanup
mail_line_of_2000_octets_is_500_head()
{
	atf_set descr "A MAIL line of 2000 octets, beyond any extension's" \
	    "allowance, gets 500 5.5.2 Line too long"
}
mail_line_of_2000_octets_is_500_body()
{
	smtpd_start
	line="MAIL FROM:<a@b.example> AUTH=$(repeat a 1969)"
	atf_check_equal 1998 "${#line}"
	talk_ehlo <<EOF
> $line
< ^500 5\.5\.2 Line too long
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
EOF
}
mail_line_of_2000_octets_is_500_cleanup()
{
	smtpd_cleanup
}

atf_test_case session_goes_on_after_overlong_line cleanup
session_goes_on_after_overlong_line_head()
{
	atf_set descr "After an overlong line is refused, nothing of it is" \
	    "read as a command and the next command is served"
}
session_goes_on_after_overlong_line_body()
{
	smtpd_start
	# The overlong line ends in text that would be a command of its own.
	long="NOOP $(repeat x 600)QUIT"
	talk_ehlo <<EOF
>> b"$long\r\n"
< ^500 5\.5\.2 Line too long
> NOOP
< ^250 2\.0\.0 
> MAIL FROM:<a@b.example>
< ^250 2\.1\.0 
> QUIT
< ^221 
eof
EOF
}
session_goes_on_after_overlong_line_cleanup()
{
	smtpd_cleanup
}

# ------------------------------------------------------------- sessions

# sessions_from ADDRESS COUNT: COUNT connections at once from inside
# the isolated smtpd's namespace to ADDRESS (and so from it); prints the
# first reply of each, then checks the ones greeted still work.
sessions_from()
{
	in_netns python3 - "$1" "$(port)" "$2" "${3:-}" <<'PY'
import socket, sys

addr, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = (sys.argv[4], 0) if sys.argv[4] else None
conns = []
for i in range(count):
    s = socket.create_connection((addr, port), timeout=20,
                                 source_address=src)
    f = s.makefile("rb")
    line = f.readline()
    print(line.decode().strip())
    conns.append((s, f, line))
for s, f, line in conns:
    if line.startswith(b"220 "):
        s.sendall(b"NOOP\r\n")
        assert f.readline().startswith(b"250 "), "a greeted session broke"
        s.sendall(b"QUIT\r\n")
        f.readline()
    else:
        assert f.read() == b"", "a refused connection stayed open"
    s.close()
PY
}

atf_test_case third_session_per_address_is_421 cleanup
third_session_per_address_is_421_head()
{
	atf_set descr "With max-sessions-per-address 2 a third concurrent" \
	    "connection from one address gets 421 4.7.0 and is closed, while" \
	    "the first two go on working; loopback clients and the table after" \
	    "except have no such limit"
	atf_set require.progs "unshare nsenter ip"
}
third_session_per_address_is_421_body()
{
	OUTSIDE=192.0.2.10
	smtpd_config <<CONF
table exempt { 192.0.2.11 }
smtp limit max-sessions-per-address 2 except <exempt>
CONF
	sed -i "s/^listen on 127.0.0.1 port \(.*\)/&\\
listen on $OUTSIDE port \1\\
listen on 192.0.2.11 port \1/" smtpd.conf
	unshare -n true 2>/dev/null ||
	    atf_skip "cannot make a network namespace here"
	unshare -n sh -c "ip link set lo up &&
	    ip addr add $OUTSIDE/32 dev lo && ip addr add 192.0.2.11/32 dev lo &&
	    exec \"\$@\"" sh "$SMTPD" -d -v -f smtpd.conf >smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" || atf_fail "smtpd did not start: $(cat smtpd.log)"

	sessions_from "$OUTSIDE" 3 > outside || atf_fail "$(cat outside)"
	atf_check -o inline:"2\n" grep -c "^220 " outside
	atf_check -o match:"^421 4\.7\.0 " sed -n 3p outside
	atf_check_equal 1 "$(grep -c \
	    'address=192.0.2.10 result=refused reason=max-sessions-per-address' \
	    smtpd.log)"
	# Their places are free again.
	sessions_from "$OUTSIDE" 1 > again || atf_fail "$(cat again)"
	atf_check -o match:"^220 " cat again
	# Loopback clients and the exempt network are not limited.
	sessions_from 127.0.0.1 4 > loopback || atf_fail "$(cat loopback)"
	atf_check -o inline:"4\n" grep -c "^220 " loopback
	sessions_from 192.0.2.11 4 > exempt || atf_fail "$(cat exempt)"
	atf_check -o inline:"4\n" grep -c "^220 " exempt
}
third_session_per_address_is_421_cleanup()
{
	smtpd_cleanup
}

atf_test_case sessions_per_address_count_an_ipv6_64 cleanup
sessions_per_address_count_an_ipv6_64_head()
{
	atf_set descr "max-sessions-per-address counts an IPv6 client's /64:" \
	    "a client cannot pass the limit by using more of its addresses," \
	    "while another /64 has its own count"
	atf_set require.progs "unshare nsenter ip"
}
sessions_per_address_count_an_ipv6_64_body()
{
	NET=2001:db8:1:2
	smtpd_config <<CONF
smtp limit max-sessions-per-address 2
CONF
	sed -i "s/^listen on 127.0.0.1 port \(.*\)/&\\
listen on $NET::10 port \1/" smtpd.conf
	unshare -n true 2>/dev/null ||
	    atf_skip "cannot make a network namespace here"
	unshare -n sh -c "ip link set lo up &&
	    ip addr add $NET::10/128 dev lo nodad &&
	    ip addr add $NET::11/128 dev lo nodad &&
	    ip addr add 2001:db8:1:3::10/128 dev lo nodad &&
	    exec \"\$@\"" sh "$SMTPD" -d -v -f smtpd.conf >smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" || atf_fail "smtpd did not start: $(cat smtpd.log)"

	# Two from ::10 and two from ::11 hold four sessions at once: the
	# /64's limit of two lets two in.
	in_netns python3 - "$NET::10" "$(port)" "$NET" <<'PY' > mixed ||
import socket, sys

dst, port, net = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns = []
for src in (net + "::10", net + "::11", net + "::11", net + "::10"):
    s = socket.create_connection((dst, port), timeout=20,
                                 source_address=(src, 0))
    f = s.makefile("rb")
    print(f.readline().decode().strip())
    conns.append(s)
for s in conns:
    s.close()
PY
	    atf_fail "$(cat mixed)"
	atf_check -o inline:"2\n" grep -c "^220 " mixed
	atf_check -o inline:"2\n" grep -c "^421 4\.7\.0 " mixed
	grep -q "address=$NET::11 result=refused reason=max-sessions-per-address" \
	    smtpd.log || atf_fail "the second address was not counted with the first"
	# Another /64 counts on its own.
	sessions_from "$NET::10" 2 2001:db8:1:3::10 > other ||
	    atf_fail "$(cat other)"
	atf_check -o inline:"2\n" grep -c "^220 " other
}
sessions_per_address_count_an_ipv6_64_cleanup()
{
	smtpd_cleanup
}

atf_test_case idle_session_times_out_with_421 cleanup
idle_session_times_out_with_421_head()
{
	atf_set descr "With command-timeout 1s an idle session gets" \
	    "421 4.4.2 and the connection is closed"
}
idle_session_times_out_with_421_body()
{
	smtpd_config <<CONF
smtp limit command-timeout 1s
CONF
	smtpd_start
	talk_ehlo <<'EOF'
< ^421 4\.4\.2 
eof
EOF
	wait_log "result=closed reason=timeout" || atf_fail "no timeout logged"
}
idle_session_times_out_with_421_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case ehlo_advertises_exactly_the_extensions
	atf_add_test_case helo_gets_a_single_250
	atf_add_test_case ehlo_with_control_characters_is_501
	atf_add_test_case ehlo_names_in_the_wild_are_accepted
	atf_add_test_case client_control_characters_are_escaped_in_the_log

	atf_add_test_case rcpt_before_mail_is_503
	atf_add_test_case data_before_mail_is_503
	atf_add_test_case data_before_rcpt_is_503
	atf_add_test_case mail_before_helo_is_503
	atf_add_test_case second_mail_is_503
	atf_add_test_case rset_clears_the_transaction
	atf_add_test_case noop_is_250
	atf_add_test_case unknown_command_is_500
	atf_add_test_case quit_is_221_and_closes

	atf_add_test_case mail_without_angle_brackets_is_501
	atf_add_test_case mail_with_bad_domain_is_501
	atf_add_test_case mail_null_sender_is_accepted
	atf_add_test_case mail_space_before_path_is_accepted
	atf_add_test_case mail_unknown_parameter_is_555
	atf_add_test_case mail_parameters_after_helo_are_555

	atf_add_test_case size_over_limit_is_552
	atf_add_test_case size_within_limit_is_accepted
	atf_add_test_case oversize_data_is_552_and_not_queued
	atf_add_test_case looping_message_is_554
	atf_add_test_case max_hops_counts_header_lines_only

	atf_add_test_case dsn_parameters_are_accepted_and_stored
	atf_add_test_case dsn_notify_never_with_others_is_555
	atf_add_test_case dsn_bad_xtext_envid_is_555

	atf_add_test_case smtputf8_sender_is_accepted
	atf_add_test_case utf8_sender_without_smtputf8_is_501
	atf_add_test_case utf8_recipient_reaches_lookup
	atf_add_test_case utf8_recipient_without_smtputf8_is_501

	atf_add_test_case percent_hack_is_no_route
	atf_add_test_case bang_path_is_no_route
	atf_add_test_case quoted_at_stays_in_local_part
	atf_add_test_case source_route_to_remote_is_relaying
	atf_add_test_case address_literal_is_relaying
	atf_add_test_case bare_postmaster_reaches_lookup
	atf_add_test_case missing_domain_is_501

	atf_add_test_case fourth_recipient_over_max_rcpt_is_452

	atf_add_test_case pipelined_transaction_is_answered_in_order
	atf_add_test_case command_pipelined_after_ehlo_is_554
	atf_add_test_case text_pipelined_after_data_is_554

	atf_add_test_case max_errors_closes_with_421

	atf_add_test_case line_of_512_octets_is_served
	atf_add_test_case line_of_513_octets_is_500
	atf_add_test_case three_overlong_lines_close_with_421
	atf_add_test_case mail_line_of_600_octets_is_served
	atf_add_test_case mail_line_of_2000_octets_is_500
	atf_add_test_case session_goes_on_after_overlong_line

	atf_add_test_case third_session_per_address_is_421
	atf_add_test_case sessions_per_address_count_an_ipv6_64
	atf_add_test_case idle_session_times_out_with_421
}
