#! /usr/bin/env atf-sh
#
# Policy as a client meets it: the kill file at connect and at MAIL
# FROM, the relay rules in order with their negations and tables, the
# open-relay tricks, aliases and internal aliases, and what smtpd -n
# says about a configuration.
#
# Every client here connects from 127.0.0.1, which is local.  What an
# outside client gets is shown by running smtpd in a network namespace
# of its own, with 192.0.2.10 on its loopback interface: a client that
# connects to that address comes from it, and 192.0.2.10 is no
# loopback address.

. "$(atf_get_srcdir)/../lib.sh"

OUTSIDE=192.0.2.10

# policy_config [LISTEN-OPTIONS] < lines: a configuration of this test's
# own: the lines from stdin (tables, actions, rules), then the listener.
# Sessions here collect many refusals on purpose, so the error limit is
# raised out of their way.
policy_config()
{
	free_port > port
	{ echo "queue directory \"$(pwd)/spool\""
	  echo "control socket \"$(pwd)/smtpd.sock\""
	  echo "smtp limit max-errors 100"
	  cat
	  echo "listen on 127.0.0.1 port $(port) $1"; } > smtpd.conf
}

# talk FILE < script: a dialog (see smtpdialog.py) that must go exactly
# as written; the transcript is kept in FILE.  TALK names the client
# (dialog unless set).
talk()
{
	${TALK:-dialog} > "$1" 2> "$1.err" && return 0
	cat "$1" "$1.err" >&2
	atf_fail "dialog: $(tail -n 1 "$1.err")"
}

# The kill file of N generated entries, in four kinds taken in turn:
# sender addresses, domains, domains with their subdomains, and IPv4
# hosts in 10/8, each entry distinct.  A comment and a blank line are
# no entries.
generate_killfile()
{
	awk -v n="$1" 'BEGIN {
		print "# generated"
		print ""
		for (i = 1; i <= n; i++) {
			k = i % 4
			if (k == 1)
				printf "user%d@example.net\n", i
			else if (k == 2)
				printf "@d%d.example\n", i
			else if (k == 3)
				printf "@.s%d.example\n", i
			else
				printf "10.%d.%d.%d\n", int(i / 65536),
				    int(i / 256) % 256, i % 256
		}
	}'
}

# A dialog from inside the namespace, from 127.0.0.1: a local client.
inside_dialog()
{
	nsenter --net=/proc/"$(smtpd_pid)"/ns/net \
	    python3 "$TOP/regress/smtpdialog.py" "$(port)"
}

# A dialog from inside the namespace to $OUTSIDE, which it then comes
# from: a client that is not local.
outside_dialog()
{
	nsenter --net=/proc/"$(smtpd_pid)"/ns/net python3 -c '
import runpy, socket, sys
outside, script = sys.argv[1], sys.argv[2]
connect = socket.create_connection
def from_outside(address, *args, **kwargs):
    return connect((outside, address[1]), *args, **kwargs)
socket.create_connection = from_outside
sys.argv = sys.argv[2:]
runpy.run_path(script, run_name="__main__")
' "$OUTSIDE" "$TOP/regress/smtpdialog.py" "$(port)"
}

# --- the kill file at connect ---------------------------------------

# killed_at_connect: the client is told 554 instead of a banner, and the
# connection is closed.
killed_at_connect()
{
	smtpd_start
	talk session <<'DIALOG'
< ^554 5\.7\.1 Connection refused$
eof
DIALOG
	atf_check_equal 1 "$(grep -c '^<- [0-9]' session)"
	atf_check -s exit:0 -o ignore grep -E \
	    "lookup address=127\.0\.0\.1 result=refused reason=killfile" \
	    smtpd.log
}

atf_test_case killfile_address_refused_at_connect cleanup
killfile_address_refused_at_connect_head()
{
	atf_set descr "A client whose address is in the kill file gets" \
	    "554 5.7.1 Connection refused instead of a banner"
}
killfile_address_refused_at_connect_body()
{
	policy_config <<CONF
table kill { 127.0.0.1 }
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	killed_at_connect
}
killfile_address_refused_at_connect_cleanup()
{
	smtpd_cleanup
}

atf_test_case killfile_network_refused_at_connect cleanup
killfile_network_refused_at_connect_head()
{
	atf_set descr "A client in a network of the kill file (127.0.0.0/8)" \
	    "gets 554 5.7.1 Connection refused instead of a banner"
}
killfile_network_refused_at_connect_body()
{
	policy_config <<CONF
table kill { 192.0.2.0/24, 127.0.0.0/8, 2001:db8::/32 }
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	killed_at_connect
}
killfile_network_refused_at_connect_cleanup()
{
	smtpd_cleanup
}

atf_test_case killfile_other_network_greeted cleanup
killfile_other_network_greeted_head()
{
	atf_set descr "A client in no network of the kill file gets the" \
	    "banner and may go on"
}
killfile_other_network_greeted_body()
{
	policy_config <<CONF
table kill { 192.0.2.0/24, 127.0.0.2, 128.0.0.0/1, 2001:db8::/32, ::1 }
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "lookup: killfile kill holds 5 entries" ||
	    atf_fail "kill file not loaded: $(tail -n 5 smtpd.log)"
	atf_check -s exit:1 -o empty grep "reason=killfile" smtpd.log
}
killfile_other_network_greeted_cleanup()
{
	smtpd_cleanup
}

# --- the kill file at MAIL FROM -------------------------------------

atf_test_case killfile_senders_refused cleanup
killfile_senders_refused_head()
{
	atf_set descr "Senders in a kill file (an address, @domain and" \
	    "@.domain with its subdomains) get 550 5.7.1 at MAIL FROM;" \
	    "others 250"
}
killfile_senders_refused_body()
{
	printf '%s\n' "spammer@example.com" "@bad.example" "@.worse.example" \
	    > kill
	policy_config <<CONF
table kill file:$(pwd)/kill
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<spammer@example.com>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<SPAMMER@Example.COM>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<anyone@bad.example>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<anyone@worse.example>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<anyone@sub.worse.example>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<anyone@a.b.worse.example>
< ^550 5\.7\.1 Sender address rejected$
# Not listed: a neighbour of each entry.
> MAIL FROM:<other@example.com>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<anyone@sub.bad.example>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<anyone@notbad.example>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<anyone@worse.example.org>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "lookup: killfile kill holds 3 entries" ||
	    atf_fail "kill file not loaded: $(tail -n 5 smtpd.log)"
	for sender in spammer@example.com SPAMMER@Example.COM \
	    anyone@bad.example anyone@worse.example anyone@sub.worse.example \
	    anyone@a.b.worse.example; do
		atf_check -s exit:0 -o ignore grep -F \
		    "from=<$sender> result=refused reason=killfile" smtpd.log
	done
	atf_check_equal 6 "$(grep -c 'reason=killfile' smtpd.log)"
}
killfile_senders_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case killfile_large_loads_and_answers cleanup
killfile_large_loads_and_answers_head()
{
	atf_set descr "A kill file of 200000 lines loads whole and refuses" \
	    "its first, middle and last entries and nothing else"
}
killfile_large_loads_and_answers_body()
{
	generate_killfile 200000 > kill
	policy_config <<CONF
table kill file:$(pwd)/kill
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	# smtp-in may be ready before lookup has read the whole file.
	wait_log "lookup: killfile kill holds 200000 entries" ||
	    atf_fail "kill file not loaded: $(tail -n 5 smtpd.log)"
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<user1@example.net>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<user100001@example.net>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<user199997@example.net>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<x@d150002.example>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<x@s199999.example>
< ^550 5\.7\.1 Sender address rejected$
> MAIL FROM:<x@deep.sub.s3.example>
< ^550 5\.7\.1 Sender address rejected$
# Close to entries, but none.
> MAIL FROM:<user2@example.net>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<user200001@example.net>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<x@sub.d150002.example>
< ^250 2\.1\.0 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<x@d150003.example>
< ^250 2\.1\.0 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
killfile_large_loads_and_answers_cleanup()
{
	smtpd_cleanup
}

atf_test_case killfile_large_refuses_listed_client cleanup
killfile_large_refuses_listed_client_head()
{
	atf_set descr "127.0.0.1 in the middle of a kill file of 200000" \
	    "lines refuses the client at connect"
}
killfile_large_refuses_listed_client_body()
{
	generate_killfile 200000 > gen
	{ sed -n '1,100000p' gen; echo 127.0.0.1; sed '1,100000d' gen; } > kill
	policy_config <<CONF
table kill file:$(pwd)/kill
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	killed_at_connect
	wait_log "lookup: killfile kill holds 200001 entries" ||
	    atf_fail "kill file not loaded: $(tail -n 5 smtpd.log)"
}
killfile_large_refuses_listed_client_cleanup()
{
	smtpd_cleanup
}

# --- relaying -------------------------------------------------------

atf_test_case relaying_denied_by_local_rules cleanup
relaying_denied_by_local_rules_head()
{
	atf_set descr "With only \"match from local for local\", a remote" \
	    "recipient gets 550 5.7.1 Relaying denied"
}
relaying_denied_by_local_rules_body()
{
	policy_config <<CONF
action "local" maildir "$(pwd)/Maildir"
match from local for local action "local"
CONF
	smtpd_start
	talk session <<DIALOG
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<someone@example.com>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<$MAILUSER@localhost>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1
}
relaying_denied_by_local_rules_cleanup()
{
	smtpd_cleanup
}

atf_test_case relaying_for_listed_network cleanup
relaying_for_listed_network_head()
{
	atf_set descr "A client in the network table of a relay rule may" \
	    "send to a remote recipient; the envelope is queued and" \
	    "tried, and waits as the remote host cannot be found"
}
relaying_for_listed_network_body()
{
	policy_config <<CONF
table mynets { 192.0.2.0/24, 127.0.0.1, 2001:db8::/32 }
action "local" maildir "$(pwd)/Maildir"
action "out" relay
match from local for local action "local"
match from src <mynets> for any action "out"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<someone@example.com>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: relayed\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as [0-9a-f]{8}$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "to=<someone@example\.com> result=tempfail" ||
	    atf_fail "not tried: $(cat smtpd.log)"
	atf_check_equal 0 "$(maildir_messages | grep -c .)"
}
relaying_for_listed_network_cleanup()
{
	smtpd_cleanup
}

atf_test_case relaying_denied_for_unlisted_network cleanup
relaying_denied_for_unlisted_network_head()
{
	atf_set descr "A client outside the network table of a relay rule" \
	    "gets 550 5.7.1 Relaying denied"
}
relaying_denied_for_unlisted_network_body()
{
	policy_config <<CONF
table mynets { 192.0.2.0/24, 127.0.0.2, 2001:db8::/32 }
action "local" maildir "$(pwd)/Maildir"
action "out" relay
match from local for local action "local"
match from src <mynets> for any action "out"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<someone@example.com>
< ^550 5\.7\.1 Relaying denied$
> DATA
< ^503 5\.5\.1 Need RCPT before DATA$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1
}
relaying_denied_for_unlisted_network_cleanup()
{
	smtpd_cleanup
}

atf_test_case open_relay_tricks_refused cleanup
open_relay_tricks_refused_head()
{
	atf_set descr "With \"match from any for local\" only, the classic" \
	    "open-relay addresses are all refused and nothing is queued"
}
open_relay_tricks_refused_body()
{
	policy_config <<CONF
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start
	# % and ! are plain local-part characters and a quoted @ stays in
	# the quotes: each is a local part no user has.  A source route is
	# dropped, leaving the remote mailbox it leads to.
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<user%other.example@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<other.example!user@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<"user@other.example"@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<@localhost:user@other.example>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<@localhost,@localhost:user@other.example>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<user@other.example>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<user@[192.0.2.1]>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<user>
< ^501 5\.1\.3 Bad recipient address: missing domain$
> RCPT TO:<user%other.example>
< ^501 5\.1\.3 Bad recipient address: missing domain$
> DATA
< ^503 5\.5\.1 Need RCPT before DATA$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	atf_check -s exit:0 -o empty find spool/queue -mindepth 1
	atf_check -s exit:1 -o empty grep "result=accepted" smtpd.log
	atf_check_equal 0 "$(maildir_messages | grep -c .)"
}
open_relay_tricks_refused_cleanup()
{
	smtpd_cleanup
}

# --- rule order, negation, tables -----------------------------------

atf_test_case reject_rule_before_catch_all cleanup
reject_rule_before_catch_all_head()
{
	atf_set descr "A reject rule before a catch-all refuses its domain" \
	    "with its own text; other domains reach the catch-all"
}
reject_rule_before_catch_all_body()
{
	policy_config <<CONF
action "out" relay
match from any for domain "a.example" reject "no thanks"
match from any for domain "b.example" reject
match from any for any action "out"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@a.example>
< ^550 5\.7\.1 no thanks$
> RCPT TO:<x@A.Example>
< ^550 5\.7\.1 no thanks$
> RCPT TO:<x@b.example>
< ^550 5\.7\.1 Rejected$
> RCPT TO:<x@sub.a.example>
< ^250 2\.1\.5 Ok$
> RCPT TO:<x@c.example>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
reject_rule_before_catch_all_cleanup()
{
	smtpd_cleanup
}

atf_test_case first_matching_rule_wins cleanup
first_matching_rule_wins_head()
{
	atf_set descr "A reject rule after a catch-all never applies, and" \
	    "smtpd -n says so"
}
first_matching_rule_wins_body()
{
	policy_config <<CONF
action "out" relay
match from any for any action "out"
match from any for domain "a.example" reject "no thanks"
CONF
	atf_check -s exit:0 -e save:check "$SMTPD" -n -f smtpd.conf
	atf_check -s exit:0 -o ignore grep -Fx "smtpd.conf:6: match rule can never match: the rule on line 5 always matches first" check
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@a.example>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
first_matching_rule_wins_cleanup()
{
	smtpd_cleanup
}

atf_test_case negated_criteria cleanup
negated_criteria_head()
{
	atf_set descr "! before from src or for domain inverts it: a rule" \
	    "applies exactly when the plain criterion would not"
}
negated_criteria_body()
{
	policy_config <<CONF
table inx { 127.0.0.1 }
table notx { 192.0.2.0/24 }
action "out" relay
match !from src <inx> for domain "a.example" reject "not from inx"
match !from src <notx> for domain "b.example" reject "not from notx"
match from any !for domain "ok.example" reject "only ok.example"
match from any for any action "out"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
# 127.0.0.1 is in inx: the first rule does not apply, the third does.
> RCPT TO:<x@a.example>
< ^550 5\.7\.1 only ok\.example$
# 127.0.0.1 is not in notx: the second rule applies.
> RCPT TO:<x@b.example>
< ^550 5\.7\.1 not from notx$
> RCPT TO:<x@ok.example>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
negated_criteria_cleanup()
{
	smtpd_cleanup
}

atf_test_case mail_from_table_rule cleanup
mail_from_table_rule_head()
{
	atf_set descr "match from mail-from <table> applies to senders in the" \
	    "table, by whole address or by @domain"
}
mail_from_table_rule_body()
{
	policy_config <<CONF
table senders { boss@example.org, @friends.example }
action "out" relay
match from mail-from <senders> for any action "out"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<boss@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@remote.example>
< ^250 2\.1\.5 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<Boss@Example.ORG>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@remote.example>
< ^250 2\.1\.5 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<pal@friends.example>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@remote.example>
< ^250 2\.1\.5 Ok$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<stranger@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@remote.example>
< ^550 5\.7\.1 Relaying denied$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<pal@sub.friends.example>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@remote.example>
< ^550 5\.7\.1 Relaying denied$
> RSET
< ^250 2\.0\.0 Ok$
> MAIL FROM:<>
< ^250 2\.1\.0 Ok$
> RCPT TO:<x@remote.example>
< ^550 5\.7\.1 Relaying denied$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
mail_from_table_rule_cleanup()
{
	smtpd_cleanup
}

atf_test_case rcpt_to_table_rule cleanup
rcpt_to_table_rule_head()
{
	atf_set descr "match for rcpt-to <table> applies to recipients in" \
	    "the table, by whole address or by @domain"
}
rcpt_to_table_rule_body()
{
	policy_config <<CONF
table rcpts { someone@example.com, @partner.example }
table blocked { $MAILUSER@localhost }
action "local" maildir "$(pwd)/Maildir"
action "out" relay
match from any for rcpt-to <blocked> reject "blocked"
match for rcpt-to <rcpts> action "out"
match from any for local action "local"
CONF
	smtpd_start
	talk session <<DIALOG
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<someone@example.com>
< ^250 2\.1\.5 Ok$
> RCPT TO:<anyone@partner.example>
< ^250 2\.1\.5 Ok$
> RCPT TO:<other@example.com>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<anyone@sub.partner.example>
< ^550 5\.7\.1 Relaying denied$
> RCPT TO:<$MAILUSER@localhost>
< ^550 5\.7\.1 blocked$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
rcpt_to_table_rule_cleanup()
{
	smtpd_cleanup
}

# --- aliases --------------------------------------------------------

# An alias file in "name: members" lines, with a loop (a, b) and a loop
# that also names a user (c, d).
write_aliases()
{
	cat > aliases <<ALIASES
# aliases for the test
staff: $MAILUSER
a: b
b: a
c: d, $MAILUSER
d: c
ALIASES
}

atf_test_case alias_delivered_to_member cleanup
alias_delivered_to_member_head()
{
	atf_set descr "Mail to an alias of an alias file is delivered to its" \
	    "member with Delivered-To: naming the alias"
}
alias_delivered_to_member_body()
{
	write_aliases
	policy_config <<CONF
table aliases file:$(pwd)/aliases
action "local" maildir "$(pwd)/Maildir" alias <aliases>
match from any for local action "local"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<staff@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: to staff\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"to=<staff@localhost> user=$MAILUSER result=delivered" \
	    cat smtpd.log
	msg=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msg" | grep -c .)"
	atf_check -s exit:0 -o match:"^Delivered-To: staff@localhost$" cat "$msg"
	atf_check -s exit:0 -o match:"^Subject: to staff$" cat "$msg"
}
alias_delivered_to_member_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_loop_survived cleanup
alias_loop_survived_head()
{
	atf_set descr "An alias loop that names no user is refused as an" \
	    "unknown user; one that also names a user delivers to it once;" \
	    "the daemon keeps running"
}
alias_loop_survived_body()
{
	write_aliases
	policy_config <<CONF
table aliases file:$(pwd)/aliases
action "local" maildir "$(pwd)/Maildir" alias <aliases>
match from any for local action "local"
CONF
	smtpd_start
	talk session <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<a@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<b@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<c@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: loop\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"nests too deep" cat smtpd.log
	# Every process is still there, and a new client is served.
	atf_check -s exit:0 kill -0 "$(smtpd_pid)"
	for role in smtp lookup queue; do
		[ -n "$(child_pid "$role")" ] ||
		    atf_fail "no $role process: $(smtpd_children)"
	done
	talk again <<'DIALOG'
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<a@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<staff@localhost>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	msg=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msg" | grep -c .)"
	atf_check -s exit:0 -o match:"^Delivered-To: c@localhost$" cat "$msg"
	atf_check_equal 1 "$(grep -c 'result=delivered' smtpd.log)"
}
alias_loop_survived_cleanup()
{
	smtpd_cleanup
}

# --- internal aliases -----------------------------------------------

# Table and action for the internal alias tests: ops is internal,
# staff public.
internal_config()
{
	policy_config <<CONF
hostname "mx.example.test"
smtp expn on
table aliases { staff = $MAILUSER }
table internals { ops = $MAILUSER }
action "local" maildir "$(pwd)/Maildir" alias <aliases> internal <internals>
match from any for local action "local"
$1
CONF
}

atf_test_case internal_alias_for_local_client cleanup
internal_alias_for_local_client_head()
{
	atf_set descr "A local client (127.0.0.1) may send to an internal" \
	    "alias, and EXPN shows its members"
}
internal_alias_for_local_client_body()
{
	internal_config
	smtpd_start
	talk session <<DIALOG
< ^220 
> EHLO client.test
< ^250 PIPELINING$
> EXPN ops
< ^250 2\.1\.5 <$MAILUSER@mx\.example\.test>$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<ops@localhost>
< ^250 2\.1\.5 Ok$
> DATA
< ^354
>> b"Subject: to ops\r\n\r\nbody\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^Delivered-To: ops@localhost$" \
	    cat "$(maildir_messages)"
}
internal_alias_for_local_client_cleanup()
{
	smtpd_cleanup
}

atf_test_case internal_alias_hidden_from_outside cleanup
internal_alias_hidden_from_outside_head()
{
	atf_set descr "A client that is not local gets for an internal alias" \
	    "the very reply an unknown user gets, at RCPT and at EXPN," \
	    "while a public alias works for it"
	atf_set require.progs "unshare nsenter ip"
}
internal_alias_hidden_from_outside_body()
{
	internal_config "listen on $OUTSIDE port \$port"
	# The second listener, on the address outside clients come from.
	sed -i "s/\\\$port/$(port)/" smtpd.conf
	smtpd_start_isolated
	TALK=outside_dialog talk outside <<DIALOG
< ^220 
> EHLO client.test
<* ^250-mx\.example\.test Hello client\.test \[192\.0\.2\.10\]$
> EXPN ops
< ^550 5\.1\.1 User unknown$
> EXPN no-such-list
< ^550 5\.1\.1 User unknown$
> EXPN staff
< ^250 2\.1\.5 <$MAILUSER@mx\.example\.test>$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<ops@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<no-such-user-here@localhost>
< ^550 5\.1\.1 Recipient address rejected: User unknown$
> RCPT TO:<staff@localhost>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
	# The same daemon, from 127.0.0.1 in the namespace: allowed.
	TALK=inside_dialog talk inside <<DIALOG
< ^220 
> EHLO client.test
<* ^250-mx\.example\.test Hello client\.test \[127\.0\.0\.1\]$
> EXPN ops
< ^250 2\.1\.5 <$MAILUSER@mx\.example\.test>$
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<ops@localhost>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 2\.0\.0 Bye$
DIALOG
}
internal_alias_hidden_from_outside_cleanup()
{
	smtpd_cleanup
}

# rdns_config < rules: a listener on $OUTSIDE, the rules from stdin,
# then one that takes any mail for any.example.
rdns_config()
{
	free_port > port
	{ cat <<CONF
queue directory "$(pwd)/spool"
control socket "$(pwd)/smtpd.sock"
listen on $OUTSIDE port $(port)
action "local" maildir "$(pwd)/Maildir"
CONF
	  cat
	  echo 'match from any for domain "any.example" action "local"'
	} > smtpd.conf
}

atf_test_case rdns_failure_is_no_answer cleanup
rdns_failure_is_no_answer_head()
{
	atf_set descr "When the reverse DNS gives no answer (no name server" \
	    "can be reached in the namespace), a rule with from rdns or" \
	    "!from rdns gets 451 4.3.0 instead of taking the client for" \
	    "one without a name; a rule without it is judged as usual"
	atf_set require.progs "unshare nsenter ip"
}
rdns_failure_is_no_answer_body()
{
	rdns_config <<RULES
match from rdns for domain "named.example" action "local"
match !from rdns for domain "unnamed.example" action "local"
RULES
	smtpd_start_isolated
	TALK=outside_dialog talk outside <<DIALOG
< ^220 
> EHLO client.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@named.example>
< ^451 4\.3\.0 Temporary lookup failure$
> RCPT TO:<$MAILUSER@unnamed.example>
< ^451 4\.3\.0 Temporary lookup failure$
> RCPT TO:<$MAILUSER@any.example>
< ^250 2\.1\.5 Ok$
> QUIT
< ^221 
DIALOG
	atf_check -s exit:0 -o ignore grep -E \
	    "lookup address=$OUTSIDE rdns=failed query=reverse" smtpd.log
	atf_check -s exit:0 -o match:"^2\$" sh -c "grep -cE \
	    'result=tempfail rule=[0-9]+ reason=\"reverse DNS failed\"' \
	    smtpd.log"
}
rdns_failure_is_no_answer_cleanup()
{
	smtpd_cleanup
}

atf_test_case rdns_failure_with_host_names_in_kill_file cleanup
rdns_failure_with_host_names_in_kill_file_head()
{
	atf_set descr "When the reverse DNS gives no answer and the kill" \
	    "file lists host names, the client is told 421 4.3.0 at" \
	    "connect: the kill file cannot tell whether it lists it"
	atf_set require.progs "unshare nsenter ip"
}
rdns_failure_with_host_names_in_kill_file_body()
{
	free_port > port
	cat > smtpd.conf <<CONF
queue directory "$(pwd)/spool"
control socket "$(pwd)/smtpd.sock"
listen on $OUTSIDE port $(port)
table kill { ".spam.example", "@spam.example" }
killfile <kill>
action "local" maildir "$(pwd)/Maildir"
match from any for local action "local"
CONF
	smtpd_start_isolated
	TALK=outside_dialog talk outside <<DIALOG
< ^421 4\.3\.0 Temporary lookup failure$
eof
DIALOG
	atf_check -s exit:0 -o ignore grep -E "address=$OUTSIDE result=tempfail table=kill error=\"reverse DNS failed\"" smtpd.log
}
rdns_failure_with_host_names_in_kill_file_cleanup()
{
	smtpd_cleanup
}

# rdns_message FILE NAME: one message from $OUTSIDE, its transcript
# kept in FILE, whose Subject: is NAME.
rdns_message()
{
	TALK=outside_dialog talk "$1" <<DIALOG
< ^220 
> EHLO client.test
< ^250 
> MAIL FROM:<sender@example.org>
< ^250 2\.1\.0 Ok$
> RCPT TO:<$MAILUSER@any.example>
< ^250 2\.1\.5 Ok$
> DATA
< ^354 
> Subject: $2
>> b"\r\nhello\r\n.\r\n"
< ^250 2\.0\.0 Ok: queued as
> QUIT
< ^221 
DIALOG
}

atf_test_case rdns_name_is_remembered cleanup
rdns_name_is_remembered_head()
{
	atf_set descr "The confirmed name of a client's address is" \
	    "remembered: a second connection within the minute gets the" \
	    "same name though the hosts file now says another"
	atf_set require.progs "unshare nsenter ip mount"
}
rdns_name_is_remembered_body()
{
	rdns_config </dev/null
	echo "$OUTSIDE first-name.test" > hosts
	HOSTS="$(pwd)/hosts" smtpd_start_isolated
	rdns_message one first
	wait_mail 1 || atf_fail "the first message was not delivered"
	# Written in place: the bind mount shows the new contents.
	echo "$OUTSIDE second-name.test" > hosts
	rdns_message two second
	wait_mail 2 || atf_fail "the second message was not delivered"
	for m in $(maildir_messages); do
		atf_check -s exit:0 -o ignore grep -q \
		    "^Received: from client\.test (first-name\.test " "$m"
	done
}
rdns_name_is_remembered_cleanup()
{
	smtpd_cleanup
}

atf_test_case rdns_failure_is_not_remembered cleanup
rdns_failure_is_not_remembered_head()
{
	atf_set descr "A reverse DNS that gives no answer is not" \
	    "remembered: each connection asks again"
	atf_set require.progs "unshare nsenter ip"
}
rdns_failure_is_not_remembered_body()
{
	rdns_config </dev/null
	smtpd_start_isolated
	rdns_message one first
	rdns_message two second
	atf_check -s exit:0 -o match:"^2\$" sh -c "grep -cE \
	    'lookup address=$OUTSIDE rdns=failed query=reverse' smtpd.log"
}
rdns_failure_is_not_remembered_cleanup()
{
	smtpd_cleanup
}

# --- smtpd -n -------------------------------------------------------

# The grammar example with every file it names in the work directory;
# $1 and $2 name the tables of internal aliases and of the kill file.
write_example()
{
	: > aliases
	: > "$1"
	: > "$2"
	add_creds creds alice secret
	[ -f mx.crt ] || make_pki mx
	cat > example.conf <<CONF
queue directory "$(pwd)/spool"
control socket "$(pwd)/smtpd.sock"
smtp banner "mx.example.test"
smtp max-message-size 35M
smtp help off
smtp vrfy auth
smtp expn auth
table aliases file:$(pwd)/aliases
table $1 file:$(pwd)/$1
table $2 file:$(pwd)/$2
table creds file:$(pwd)/creds
table mynets { 192.0.2.0/24, 2001:db8::/32 }
killfile <$2>
pki mx.example.test cert "$(pwd)/mx.crt"
pki mx.example.test key "$(pwd)/mx.key"
listen on 127.0.0.1 port $(free_port)
listen on 0.0.0.0 port $(free_port) tls-require pki mx.example.test auth <creds>
listen on 0.0.0.0 port $(free_port) smtps pki mx.example.test auth <creds>
listen on ::1 port $(free_port) reject-null-sender
action "local" maildir "~/Maildir" alias <aliases> internal <$1>
action "out" relay
match from local for local action "local"
match from any for domain "example.org" action "local"
match auth from any for any action "out"
match from src <mynets> for any action "out"
CONF
}

atf_test_case grammar_example_is_ok
grammar_example_is_ok_head()
{
	atf_set descr "The grammar example, tables named internal and" \
	    "killfile as written there: configuration OK"
}
grammar_example_is_ok_body()
{
	write_example internal killfile
	atf_check -s exit:0 -e inline:"configuration OK\n" \
	    "$SMTPD" -n -f example.conf
}

atf_test_case grammar_example_other_table_names_is_ok
grammar_example_other_table_names_is_ok_head()
{
	atf_set descr "The grammar example with tables whose names are no" \
	    "keywords: configuration OK, with no warning"
}
grammar_example_other_table_names_is_ok_body()
{
	write_example internals kills
	atf_check -s exit:0 -e inline:"configuration OK\n" \
	    "$SMTPD" -n -f example.conf
}

atf_test_case rule_that_can_never_match_reported
rule_that_can_never_match_reported_head()
{
	atf_set descr "smtpd -n names a rule that an earlier one always" \
	    "matches first, with both lines, and not a narrower rule" \
	    "before a broader one"
}
rule_that_can_never_match_reported_body()
{
	cat > shadow.conf <<CONF
queue directory "$(pwd)/spool"
listen on 127.0.0.1 port 2525
action "a" maildir "$(pwd)/Maildir"

match from any for any action "a"
match from local for local action "a"
CONF
	atf_check -s exit:0 -e save:err "$SMTPD" -n -f shadow.conf
	atf_check -s exit:0 -o inline:"shadow.conf:6: match rule can never match: the rule on line 5 always matches first\n" \
	    grep "can never match" err

	cat > fine.conf <<CONF
queue directory "$(pwd)/spool"
listen on 127.0.0.1 port 2525
action "a" maildir "$(pwd)/Maildir"
match from local for local action "a"
match from any for any action "a"
CONF
	atf_check -s exit:0 -e inline:"configuration OK\n" \
	    "$SMTPD" -n -f fine.conf
}

atf_init_test_cases()
{
	atf_add_test_case killfile_address_refused_at_connect
	atf_add_test_case killfile_network_refused_at_connect
	atf_add_test_case killfile_other_network_greeted
	atf_add_test_case killfile_senders_refused
	atf_add_test_case killfile_large_loads_and_answers
	atf_add_test_case killfile_large_refuses_listed_client
	atf_add_test_case relaying_denied_by_local_rules
	atf_add_test_case relaying_for_listed_network
	atf_add_test_case relaying_denied_for_unlisted_network
	atf_add_test_case open_relay_tricks_refused
	atf_add_test_case reject_rule_before_catch_all
	atf_add_test_case first_matching_rule_wins
	atf_add_test_case negated_criteria
	atf_add_test_case mail_from_table_rule
	atf_add_test_case rcpt_to_table_rule
	atf_add_test_case alias_delivered_to_member
	atf_add_test_case alias_loop_survived
	atf_add_test_case internal_alias_for_local_client
	atf_add_test_case internal_alias_hidden_from_outside
	atf_add_test_case rdns_failure_is_no_answer
	atf_add_test_case rdns_failure_with_host_names_in_kill_file
	atf_add_test_case rdns_name_is_remembered
	atf_add_test_case rdns_failure_is_not_remembered
	atf_add_test_case grammar_example_is_ok
	atf_add_test_case grammar_example_other_table_names_is_ok
	atf_add_test_case rule_that_can_never_match_reported
}
