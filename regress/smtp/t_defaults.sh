#! /usr/bin/env atf-sh
#
# The security defaults a client meets, byte for byte: a banner that
# names the host and never the software, HELP and EXPN off, VRFY that
# confirms nothing, and the listener options that refuse the null
# sender or a nameless message from it.  Each default is also shown
# switched the other way, so a test cannot pass on a dead option.

. "$(atf_get_srcdir)/../lib.sh"

# config_with "LISTEN OPTIONS" < lines: a configuration of this test's
# own: the lines from stdin (tables, actions, rules, settings), then
# its one listener with the options.
config_with()
{
	free_port > port
	{ echo "queue directory \"$(pwd)/spool\""
	  echo "control socket \"$(pwd)/smtpd.sock\""
	  cat
	  echo "listen on 127.0.0.1 port $(port) $1"; } > smtpd.conf
}

# talk FILE < script: a dialog (see smtpdialog.py) that must go exactly
# as written; the transcript is kept in FILE.
talk()
{
	dialog > "$1" 2> "$1.err" && return 0
	cat "$1" "$1.err" >&2
	atf_fail "dialog: $(tail -n 1 "$1.err")"
}

# no_software_named FILE: no line names an MTA or carries something
# that looks like a version.  Reply codes, enhanced status codes and the
# client's bracketed address are taken off first: they are the only
# dotted numbers a reply may hold.
no_software_named()
{
	atf_check -s exit:1 -o empty \
	    grep -inE "smtpd|opensmtpd|postfix|sendmail|exim" "$1"
	sed -E 's/^[0-9]{3}[ -]([245]\.[0-9]{1,3}\.[0-9]{1,3}( |$))?//;
	    s/\[127\.0\.0\.1\]//g' "$1" > "$1.stripped"
	atf_check -s exit:1 -o empty \
	    grep -nE "[0-9]+\.[0-9]+|(^|[^a-z])v[0-9]" "$1.stripped"
}

# The replies of a dialog transcript, one a line, without the arrows.
replies()
{
	sed -n 's/^<- //p' "$1"
}

# The Received: header of a stored message, its lines joined.
received_header()
{
	awk '/^Received:/ { on = 1; printf "%s", $0; next }
	    on && /^[ \t]/ { sub(/^[ \t]+/, ""); printf " %s", $0; next }
	    on { exit }
	    END { print "" }' "$1"
}

# A whole session: banner, EHLO, HELP, an unknown command, a bad MAIL,
# a message and QUIT, each reply exact.  The banner is the script's
# first step, given as $1 (a regular expression).
whole_session()
{
	talk session <<DIALOG
< $1
> EHLO client.test
<* ^250-mx\.example\.test Hello client\.test \[127\.0\.0\.1\]$
> HELP
< ^502 5\.5\.1 Command not implemented$
> FROB
< ^500 5\.5\.1 Command unrecognized$
> MAIL FROM:nobracket@example.org
< ^501 5\.1\.7 Bad sender address: missing angle brackets$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354 End data with <CR><LF>\.<CR><LF>$
> Subject: defaults
>> b"\r\nhello\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as [0-9a-f]{8}$
> QUIT
< ^221 2\.0\.0 Bye$
eof
DIALOG
	replies session > replies
	no_software_named replies
	wait_log "result=delivered" || atf_fail "not delivered"
	received_header "$(maildir_messages)" > received
	atf_check -s exit:0 -o match:"^Received: from client\.test .* by mx\.example\.test with ESMTP id [0-9a-f]{8}" \
	    cat received
	no_software_named received
}

atf_test_case banner_names_the_host cleanup
banner_names_the_host_head()
{
	atf_set descr "The banner is \"220 <hostname> ESMTP\"; no reply of a" \
	    "whole session nor the Received: header names the software" \
	    "or a version"
}
banner_names_the_host_body()
{
	smtpd_config <<CONF
hostname "mx.example.test"
CONF
	smtpd_start
	whole_session '^220 mx\.example\.test ESMTP$'
	atf_check -s exit:0 -o inline:"220 mx.example.test ESMTP\n" \
	    sed -n 1p replies
}
banner_names_the_host_cleanup()
{
	smtpd_cleanup
}

atf_test_case banner_can_be_set cleanup
banner_can_be_set_head()
{
	atf_set descr "smtp banner \"hello there\" makes the greeting" \
	    "\"220 hello there\", and still nothing names the software"
}
banner_can_be_set_body()
{
	smtpd_config <<CONF
hostname "mx.example.test"
smtp banner "hello there"
CONF
	smtpd_start
	whole_session '^220 hello there$'
	atf_check -s exit:0 -o inline:"220 hello there\n" sed -n 1p replies
}
banner_can_be_set_cleanup()
{
	smtpd_cleanup
}

atf_test_case help_is_off_by_default cleanup
help_is_off_by_default_head()
{
	atf_set descr "HELP gets 502 5.5.1 and EHLO does not offer it"
}
help_is_off_by_default_body()
{
	smtpd_start
	talk session <<'DIALOG'
< ^220
> HELP
< ^502 5\.5\.1 Command not implemented$
> HELP MAIL
< ^502 5\.5\.1 Command not implemented$
> EHLO client.test
< ^250 PIPELINING$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	atf_check -s exit:1 -o empty grep -E "^<- 250.HELP" session
}
help_is_off_by_default_cleanup()
{
	smtpd_cleanup
}

atf_test_case help_on_lists_commands cleanup
help_on_lists_commands_head()
{
	atf_set descr "With smtp help on, HELP answers 214 lines that name" \
	    "the commands and never the software or a version"
}
help_on_lists_commands_body()
{
	smtpd_config <<CONF
hostname "mx.example.test"
smtp help on
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220
> EHLO client.test
<* ^250-HELP$
> HELP
< ^214 
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	# The HELP reply alone: from the line after EHLO's end to QUIT.
	sed -n '/^-> HELP$/,/^-> QUIT$/p' session | sed -n 's/^<- //p' > help
	atf_check -s exit:0 -o not-match:"^[^2]|^2[^1]|^21[^4]" cat help
	for cmd in HELO EHLO MAIL RCPT DATA RSET NOOP QUIT; do
		atf_check -s exit:0 -o ignore grep -w "$cmd" help
	done
	no_software_named help
}
help_on_lists_commands_cleanup()
{
	smtpd_cleanup
}

atf_test_case vrfy_confirms_nothing_by_default cleanup
vrfy_confirms_nothing_by_default_head()
{
	atf_set descr "VRFY answers \"252 2.5.0 Cannot VRFY user\" for an" \
	    "existing and for a made-up user alike"
}
vrfy_confirms_nothing_by_default_body()
{
	smtpd_start
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> VRFY $MAILUSER
< ^252 2\.5\.0 Cannot VRFY user$
> VRFY <$MAILUSER@localhost>
< ^252 2\.5\.0 Cannot VRFY user$
> VRFY no-such-user-here
< ^252 2\.5\.0 Cannot VRFY user$
> VRFY
< ^252 2\.5\.0 Cannot VRFY user$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
vrfy_confirms_nothing_by_default_cleanup()
{
	smtpd_cleanup
}

atf_test_case vrfy_on_answers cleanup
vrfy_on_answers_head()
{
	atf_set descr "With smtp vrfy on, VRFY gets 250 for a local user and" \
	    "550 5.1.1 for an unknown one"
}
vrfy_on_answers_body()
{
	smtpd_config <<CONF
hostname "mx.example.test"
smtp vrfy on
CONF
	smtpd_start
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> VRFY $MAILUSER
< ^250 2\.1\.5 <$MAILUSER@mx\.example\.test>$
> VRFY no-such-user-here
< ^550 5\.1\.1 User unknown$
> VRFY
< ^501 5\.5\.4 VRFY requires an argument$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
vrfy_on_answers_cleanup()
{
	smtpd_cleanup
}

atf_test_case vrfy_auth_needs_auth cleanup
vrfy_auth_needs_auth_head()
{
	atf_set descr "With smtp vrfy auth, a session without AUTH still" \
	    "gets 252; after AUTH the answer is real"
}
vrfy_auth_needs_auth_body()
{
	add_creds creds alice secret
	config_with "auth <creds> auth-plaintext" <<CONF
hostname "mx.example.test"
smtp vrfy auth
table creds file:$(pwd)/creds
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> VRFY $MAILUSER
< ^252 2\.5\.0 Cannot VRFY user$
> VRFY no-such-user-here
< ^252 2\.5\.0 Cannot VRFY user$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	cred=$(printf '\000alice\000secret' | base64)
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> AUTH PLAIN $cred
< ^235 2\.7\.0 Authentication successful$
> VRFY $MAILUSER
< ^250 2\.1\.5 <$MAILUSER@mx\.example\.test>$
> VRFY no-such-user-here
< ^550 5\.1\.1 User unknown$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
vrfy_auth_needs_auth_cleanup()
{
	smtpd_cleanup
}

atf_test_case expn_is_off_by_default cleanup
expn_is_off_by_default_head()
{
	atf_set descr "EXPN gets 502 5.5.1, even for an alias that exists"
}
expn_is_off_by_default_body()
{
	config_with "" <<CONF
table aliases { staff = "$MAILUSER, nobody" }
action "local" maildir "$(pwd)/Maildir" alias <aliases>
match from any for local action "local"
CONF
	smtpd_start
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> EXPN staff
< ^502 5\.5\.1 Command not implemented$
> EXPN no-such-list
< ^502 5\.5\.1 Command not implemented$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
expn_is_off_by_default_cleanup()
{
	smtpd_cleanup
}

atf_test_case expn_on_lists_members cleanup
expn_on_lists_members_head()
{
	atf_set descr "With smtp expn on, EXPN of an alias lists its members" \
	    "in 250 lines; an unknown name gets 550 5.1.1"
}
expn_on_lists_members_body()
{
	config_with "" <<CONF
hostname "mx.example.test"
smtp expn on
table aliases { staff = "$MAILUSER, nobody" }
action "local" maildir "$(pwd)/Maildir" alias <aliases>
match from any for local action "local"
CONF
	smtpd_start
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> EXPN staff
< ^250 2\.1\.5 <nobody@mx\.example\.test>$
> EXPN staff@localhost
< ^250 2\.1\.5 <nobody@mx\.example\.test>$
> EXPN no-such-list
< ^550 5\.1\.1 User unknown$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	sed -n '/^-> EXPN staff$/,/^-> EXPN staff@localhost$/p' session |
	    sed -n 's/^<- //p' > members
	atf_check -s exit:0 -o inline:"250-2.1.5 <$MAILUSER@mx.example.test>\n250 2.1.5 <nobody@mx.example.test>\n" \
	    cat members
}
expn_on_lists_members_cleanup()
{
	smtpd_cleanup
}

atf_test_case null_sender_refused_when_asked cleanup
null_sender_refused_when_asked_head()
{
	atf_set descr "On a listener with reject-null-sender, MAIL FROM:<>" \
	    "gets 550 5.7.1 and a named sender 250"
}
null_sender_refused_when_asked_body()
{
	config_with "reject-null-sender" <<CONF
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<>
< ^550 5\.7\.1 Null sender refused$
> RCPT TO:<root@localhost>
< ^503 5\.5\.1 Need MAIL before RCPT$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
null_sender_refused_when_asked_cleanup()
{
	smtpd_cleanup
}

atf_test_case null_sender_accepted_by_default cleanup
null_sender_accepted_by_default_head()
{
	atf_set descr "On a listener without reject-null-sender, MAIL" \
	    "FROM:<> gets 250"
}
null_sender_accepted_by_default_body()
{
	smtpd_start
	talk session <<'DIALOG'
< ^220
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
null_sender_accepted_by_default_cleanup()
{
	smtpd_cleanup
}

atf_test_case require_sender_needs_a_from cleanup
require_sender_needs_a_from_head()
{
	atf_set descr "On a listener with require-sender, a message from <>" \
	    "without From: or Reply-To: is refused at the end of data and" \
	    "not delivered; one with a From: header is delivered"
}
require_sender_needs_a_from_body()
{
	config_with "require-sender" <<CONF
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	refusal='^550 5\.7\.1 A message from <> must name a From: or Reply-To: sender$'
	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
# No sender header at all.
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: nameless\r\n\r\nbody\r\n.\r\n"
< $refusal
# A From: header with nothing in it names no one.
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"From:  \r\nSubject: empty from\r\n\r\nbody\r\n.\r\n"
< $refusal
# "From:" in the body is no header.
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: body from\r\n\r\nFrom: someone@example.org\r\n.\r\n"
< $refusal
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	atf_check -s exit:0 -o match:"reason=no-sender" cat smtpd.log
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1

	talk session <<DIALOG
< ^220
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"From: Daemon <daemon@example.org>\r\nSubject: named\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: reply-to\r\nReply-To: desk@example.org\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
# A named envelope sender needs no header.
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: enveloped\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "result=delivered" 3 || atf_fail "not delivered"
	atf_check_equal 3 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o inline:"0\n" sh -c \
	    "grep -l -e '^Subject: nameless' -e '^Subject: empty from' \
	    -e '^Subject: body from' Maildir/new/* | wc -l"
	atf_check -s exit:0 -o inline:"1\n" sh -c \
	    "grep -l '^Subject: named' Maildir/new/* | wc -l"
}
require_sender_needs_a_from_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case banner_names_the_host
	atf_add_test_case banner_can_be_set
	atf_add_test_case help_is_off_by_default
	atf_add_test_case help_on_lists_commands
	atf_add_test_case vrfy_confirms_nothing_by_default
	atf_add_test_case vrfy_on_answers
	atf_add_test_case vrfy_auth_needs_auth
	atf_add_test_case expn_is_off_by_default
	atf_add_test_case expn_on_lists_members
	atf_add_test_case null_sender_refused_when_asked
	atf_add_test_case null_sender_accepted_by_default
	atf_add_test_case require_sender_needs_a_from
}
