#! /usr/bin/env atf-sh
#
# Tables at run time: smtpctl update table reloads a file table or the
# kill file without a restart; a file that cannot be read makes every
# decision that needs the table a temporary failure until it is read
# well, never "not in the table"; and the client's confirmed reverse
# name, which rules and the kill file can name.

. "$(atf_get_srcdir)/../lib.sh"

atf_test_case update_table_reloads_the_kill_file cleanup
update_table_reloads_the_kill_file_head()
{
	atf_set descr "A sender added to the kill file is refused after" \
	    "smtpctl update table, with no restart"
}
update_table_reloads_the_kill_file_body()
{
	echo "@first.example" > kill
	smtpd_config <<CONF
table kill file:$(pwd)/kill
killfile <kill>
CONF
	smtpd_start
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@second.example>
< ^250 2.1.0
> QUIT
< ^221
EOF2
	printf '@first.example\n@second.example\n' > kill
	atf_check -s exit:0 -o inline:"table kill: 2 entries\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table kill
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@second.example>
< ^550 5.7.1 Sender address rejected
> QUIT
< ^221
EOF2
}
update_table_reloads_the_kill_file_cleanup()
{
	smtpd_cleanup
}

atf_test_case update_table_added_by_reload cleanup
update_table_added_by_reload_head()
{
	atf_set descr "A kill file that a reload added, in a directory the" \
	    "running lookup process was never given, is read at the reload" \
	    "and again by smtpctl update table: the parent reads it"
}
update_table_added_by_reload_body()
{
	smtpd_config </dev/null
	smtpd_start
	mkdir newdir
	echo "@first.example" > newdir/kill
	printf 'table kill file:%s/newdir/kill\nkillfile <kill>\n' \
	    "$(pwd)" >> smtpd.conf
	atf_check -s exit:0 -o match:"generation 2" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" reload
	printf '@first.example\n@second.example\n' > newdir/kill
	atf_check -s exit:0 -o inline:"table kill: 2 entries\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table kill
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@second.example>
< ^550 5.7.1 Sender address rejected
> QUIT
< ^221
EOF2
}
update_table_added_by_reload_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_bad_kill_file_fails_until_fixed cleanup
a_bad_kill_file_fails_until_fixed_head()
{
	atf_set descr "update table with a malformed kill file fails and" \
	    "names the line; clients are then told to come back (421 4.3.0)" \
	    "until a good file is read"
}
a_bad_kill_file_fails_until_fixed_body()
{
	echo "@first.example" > kill
	smtpd_config <<CONF
table kill file:$(pwd)/kill
killfile <kill>
CONF
	smtpd_start
	printf '@first.example\nnot an entry\n' > kill
	atf_check -s exit:1 -e match:"kill:2: bad entry" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table kill
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^421 4.3.0 Temporary lookup failure
eof
EOF2
	atf_check -s exit:0 -o ignore grep -E \
	    "result=tempfail table=kill error=\".*kill:2: bad entry" smtpd.log
	printf '@first.example\n@second.example\n' > kill
	atf_check -s exit:0 -o inline:"table kill: 2 entries\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table kill
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@second.example>
< ^550 5.7.1
> MAIL FROM:<a@third.example>
< ^250
> QUIT
< ^221
EOF2
	atf_check -s exit:1 -e match:"no such table: nothere" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table nothere
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
a_bad_kill_file_fails_until_fixed_cleanup()
{
	smtpd_cleanup
}

atf_test_case negated_rule_never_matches_a_failed_table cleanup
negated_rule_never_matches_a_failed_table_head()
{
	atf_set descr "A rule with !from src <t> does not match when t" \
	    "cannot be read: the recipient gets 451 4.3.0 and no message" \
	    "is taken, until the table is read well again"
}
negated_rule_never_matches_a_failed_table_body()
{
	echo "192.0.2.1" > blocked
	smtpd_config <<CONF
table blocked file:$(pwd)/blocked
match !from src <blocked> for domain "remote.example" action "local"
CONF
	smtpd_start
	dialog >dialog.out 2>&1 <<EOF2 || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<$MAILUSER@remote.example>
< ^250 2.1.5
> QUIT
< ^221
EOF2
	# The file goes: the table no longer says whom it blocks.
	rm blocked
	atf_check -s exit:1 -e match:"blocked: No such file" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table blocked
	dialog >dialog.out 2>&1 <<EOF2 || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<$MAILUSER@remote.example>
< ^451 4.3.0 Temporary lookup failure
> DATA
< ^503
> QUIT
< ^221
EOF2
	atf_check -s exit:0 -o ignore grep -E "rcpt=<$MAILUSER@remote.example> result=tempfail rule=[0-9]+ table=blocked error=\".*No such file" smtpd.log
	echo "192.0.2.1" > blocked
	atf_check -s exit:0 -o inline:"table blocked: 1 entries\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table blocked
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --ehlo client.test \
	    --to "$MAILUSER@remote.example" --header "Subject: after the fix"
	wait_mail || atf_fail "not delivered"
	# Only the message sent once the table was read again came in.
	atf_check -s exit:0 -o inline:"1\n" sh -c "ls Maildir/new | wc -l"
	atf_check -s exit:0 -o ignore grep "^Subject: after the fix" \
	    "$(maildir_messages)"
}
negated_rule_never_matches_a_failed_table_cleanup()
{
	smtpd_cleanup
}

atf_test_case reject_rule_with_a_failed_table_stops_the_rules cleanup
reject_rule_with_a_failed_table_stops_the_rules_head()
{
	atf_set descr "A reject rule whose table cannot be read is not" \
	    "passed over for a later rule that accepts: 451 4.3.0"
}
reject_rule_with_a_failed_table_stops_the_rules_body()
{
	echo "127.0.0.1" > spammers
	smtpd_config <<CONF
table spammers file:$(pwd)/spammers
match from src <spammers> for domain "remote.example" reject "Go away"
match from any for domain "remote.example" action "local"
CONF
	smtpd_start
	rm spammers
	atf_check -s exit:1 -e match:"spammers: No such file" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table spammers
	dialog >dialog.out 2>&1 <<EOF2 || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<$MAILUSER@remote.example>
< ^451 4.3.0 Temporary lookup failure
> QUIT
< ^221
EOF2
	atf_check -s exit:0 -o ignore grep -E "result=tempfail rule=[0-9]+ table=spammers" smtpd.log
	echo "127.0.0.1" > spammers
	atf_check -s exit:0 -o ignore \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table spammers
	dialog >dialog.out 2>&1 <<EOF2 || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<$MAILUSER@remote.example>
< ^550 5.7.1 Go away
> QUIT
< ^221
EOF2
}
reject_rule_with_a_failed_table_stops_the_rules_cleanup()
{
	smtpd_cleanup
}

atf_test_case failed_alias_table_tempfails_the_recipient cleanup
failed_alias_table_tempfails_the_recipient_head()
{
	atf_set descr "An alias table that cannot be read makes a local" \
	    "recipient 451 4.3.0, not an unknown user"
}
failed_alias_table_tempfails_the_recipient_body()
{
	echo "info: $MAILUSER" > aliases
	W=$(pwd)
	PORT=$(free_port)
	echo "$PORT" > port
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $PORT
table aliases file:$W/aliases
action "local" maildir "$W/Maildir" alias <aliases>
match from any for local action "local"
CONF
	smtpd_start
	rm aliases
	atf_check -s exit:1 -e match:"aliases: No such file" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table aliases
	dialog >dialog.out 2>&1 <<EOF2 || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<info@localhost>
< ^451 4.3.0 Temporary lookup failure
> QUIT
< ^221
EOF2
	atf_check -s exit:0 -o ignore grep -E "rcpt=<info@localhost> result=tempfail action=local table=aliases" smtpd.log
}
failed_alias_table_tempfails_the_recipient_cleanup()
{
	smtpd_cleanup
}

atf_test_case update_table_reloads_a_rule_table cleanup
update_table_reloads_a_rule_table_head()
{
	atf_set descr "A domain added to a file table that a match rule" \
	    "names is accepted after smtpctl update table"
}
update_table_reloads_a_rule_table_body()
{
	echo "one.example" > domains
	smtpd_config <<CONF
table domains file:$(pwd)/domains
action "out" relay
match from any for domain <domains> action "out"
CONF
	smtpd_start
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<x@two.example>
< ^550 5.7.1 Relaying denied
> QUIT
< ^221
EOF2
	printf 'one.example\ntwo.example\n' > domains
	atf_check -s exit:0 -o inline:"table domains: 2 entries\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table domains
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<x@two.example>
< ^250 2.1.5
> QUIT
< ^221
EOF2
}
update_table_reloads_a_rule_table_cleanup()
{
	smtpd_cleanup
}

atf_test_case confirmed_reverse_name_is_used cleanup
confirmed_reverse_name_is_used_head()
{
	atf_set descr "The client's forward-confirmed name (localhost for" \
	    "127.0.0.1, from /etc/hosts) reaches the Received: header and" \
	    "matches a from rdns rule"
	atf_set require.files /etc/hosts
}
confirmed_reverse_name_is_used_body()
{
	grep -qE '^127\.0\.0\.1[[:space:]]+localhost' /etc/hosts ||
	    atf_fail "this test needs 127.0.0.1 localhost in /etc/hosts"
	echo "localhost" > rdnsok
	smtpd_config <<CONF
table rdnsok file:$(pwd)/rdnsok
action "out" relay
match from rdns <rdnsok> for domain "remote.example" action "out"
CONF
	smtpd_start
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@b.example>
< ^250
> RCPT TO:<x@remote.example>
< ^250 2.1.5
> QUIT
< ^221
EOF2
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --ehlo client.test --to "$MAILUSER@localhost"
	wait_mail || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"from client.test \(localhost \[127.0.0.1\]\)" \
	    cat "$(maildir_messages)"
}
confirmed_reverse_name_is_used_cleanup()
{
	smtpd_cleanup
}

atf_test_case kill_file_host_name_refuses_at_connect cleanup
kill_file_host_name_refuses_at_connect_head()
{
	atf_set descr "A host name in the kill file refuses a client whose" \
	    "confirmed name it is, before the banner"
}
kill_file_host_name_refuses_at_connect_body()
{
	grep -qE '^127\.0\.0\.1[[:space:]]+localhost' /etc/hosts ||
	    atf_fail "this test needs 127.0.0.1 localhost in /etc/hosts"
	smtpd_config <<CONF
table kill { localhost }
killfile <kill>
CONF
	smtpd_start
	dialog >dialog.out 2>&1 <<'EOF2' || atf_fail "$(cat dialog.out)"
< ^554 5.7.1 Connection refused
eof
EOF2
	atf_check -s exit:0 -o ignore grep "host=localhost result=refused reason=killfile" smtpd.log
}
kill_file_host_name_refuses_at_connect_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case update_table_reloads_the_kill_file
	atf_add_test_case update_table_added_by_reload
	atf_add_test_case a_bad_kill_file_fails_until_fixed
	atf_add_test_case negated_rule_never_matches_a_failed_table
	atf_add_test_case reject_rule_with_a_failed_table_stops_the_rules
	atf_add_test_case failed_alias_table_tempfails_the_recipient
	atf_add_test_case update_table_reloads_a_rule_table
	atf_add_test_case confirmed_reverse_name_is_used
	atf_add_test_case kill_file_host_name_refuses_at_connect
}
