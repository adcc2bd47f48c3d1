#! /usr/bin/env atf-sh
#
# Tables at run time: smtpctl update table reloads a file table or the
# kill file without a restart, keeping the old contents when the new
# file is bad; and the client's confirmed reverse name, which rules and
# the kill file can name.

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

atf_test_case a_bad_file_keeps_the_old_table cleanup
a_bad_file_keeps_the_old_table_head()
{
	atf_set descr "update table with a malformed file fails, names the" \
	    "line, and the table keeps its old contents"
}
a_bad_file_keeps_the_old_table_body()
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
< ^220
> EHLO client.test
< ^250
> MAIL FROM:<a@first.example>
< ^550 5.7.1
> QUIT
< ^221
EOF2
	atf_check -s exit:1 -e match:"no such table: nothere" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table nothere
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
a_bad_file_keeps_the_old_table_cleanup()
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
	atf_add_test_case a_bad_file_keeps_the_old_table
	atf_add_test_case update_table_reloads_a_rule_table
	atf_add_test_case confirmed_reverse_name_is_used
	atf_add_test_case kill_file_host_name_refuses_at_connect
}
