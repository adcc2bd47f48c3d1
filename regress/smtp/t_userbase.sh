#! /usr/bin/env atf-sh
#
# Virtual users: an action's userbase table maps a user name to
# "UID:GID:HOME", and its recipients are those names, not the system's
# users; the delivery runs with the table's ids in the table's home.

. "$(atf_get_srcdir)/../lib.sh"

# The ids a table user gets: nobody's and nogroup's as root (a table
# may not give 0), our own otherwise (smtpd without root delivers only
# to the user running it).
vuid()
{
	if [ "$(id -u)" -eq 0 ]; then id -u nobody; else id -u; fi
}
vgid()
{
	if [ "$(id -u)" -eq 0 ]; then
		getent group nogroup | cut -d: -f3
	else
		id -g
	fi
}

# userbase_config: the table "vusers" (written by the test) as the
# userbase of a maildir action in ~/Maildir for local domains.  The
# home of a table user, vhome, is made writable by that user, and the
# work directory reachable.
userbase_config()
{
	W=$(pwd)
	free_port > port
	chmod 0755 "$W"
	mkdir -p vhome
	chown "$(vuid):$(vgid)" vhome
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $(port)
table vusers file:$W/vusers
action "virt" maildir "~/Maildir" userbase <vusers>
match from any for local action "virt"
CONF
}

rcpt_reply()
{
	python3 - "$(port)" "$1" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    s.ehlo("client.test")
    s.mail("a@example.org")
    code, text = s.rcpt(sys.argv[2])
    print(code, text.decode())
PY
}

# expect_rcpt RCPT REGEX: the RCPT reply matches.
expect_rcpt()
{
	_got=$(rcpt_reply "$1")
	echo "$_got" | grep -qE "$2" ||
	    atf_fail "RCPT TO:<$1> got \"$_got\", wanted $2"
}

# send RCPT: one message from sender@example.org.
send()
{
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --from sender@example.org --to "$1" \
	    --body "for $1"
}

# The messages in a table user's maildir, oldest first.
vhome_messages()
{
	ls -tr "$(pwd)/vhome/Maildir/new" 2>/dev/null |
	    sed "s|^|$(pwd)/vhome/Maildir/new/|"
}

_vhome_count_is()
{
	[ "$(vhome_messages | grep -c .)" -ge "$1" ]
}

atf_test_case only_table_users_are_recipients cleanup
only_table_users_are_recipients_head()
{
	atf_set descr "A name in the userbase is accepted, with or without a" \
	    "sub-address; a system user it does not hold is unknown"
}
only_table_users_are_recipients_body()
{
	userbase_config
	echo "vuser $(vuid):$(vgid):$(pwd)/vhome" > vusers
	smtpd_start
	expect_rcpt "vuser@localhost" "^250 2.1.5"
	expect_rcpt "VUser@localhost" "^250 2.1.5"
	expect_rcpt "vuser+lists@localhost" "^250 2.1.5"
	expect_rcpt "root@localhost" "^550 5.1.1"
	expect_rcpt "$MAILUSER@localhost" "^550 5.1.1"
	expect_rcpt "nobody@localhost" "^550 5.1.1"
}
only_table_users_are_recipients_cleanup()
{
	smtpd_cleanup
}

atf_test_case delivered_as_the_table_says cleanup
delivered_as_the_table_says_head()
{
	atf_set descr "Mail for a table user lands in ~/Maildir under the" \
	    "table's home, owned by the table's uid; a ~/.forward there" \
	    "is not read; a user added at run time gets mail too"
	atf_set require.user root
}
delivered_as_the_table_says_body()
{
	W=$(pwd)
	userbase_config
	echo "vuser $(vuid):$(vgid):$W/vhome" > vusers
	# A ~/.forward the user could have written: no account, not read.
	echo "$W/forwarded" > vhome/.forward
	chown "$(vuid):$(vgid)" vhome/.forward
	chmod 0600 vhome/.forward
	smtpd_start
	send "vuser+tag@localhost"
	wait_until _vhome_count_is 1 ||
	    atf_fail "not delivered: $(cat smtpd.log)"
	atf_check -s exit:0 -o inline:"nobody\n" stat -c %U "$(vhome_messages)"
	atf_check -s exit:0 -o inline:"nobody\n" stat -c %U vhome/Maildir/new
	atf_check -s exit:0 -o match:"^Delivered-To: vuser\+tag@localhost$" \
	    cat "$(vhome_messages)"
	atf_check -s exit:1 test -e forwarded
	atf_check -s exit:1 -o ignore grep -F ".forward" smtpd.log

	# Added to the file, announced to lookup: the parent knows it too.
	mkdir vhome2
	chown "$(vuid):$(vgid)" vhome2
	echo "vuser2 $(vuid):$(vgid):$W/vhome2" >> vusers
	atf_check -s exit:0 -o ignore \
	    "$SMTPCTL" -s "$W/smtpd.sock" update table vusers
	send "vuser2@localhost"
	wait_log "result=delivered" 2 ||
	    atf_fail "not delivered: $(cat smtpd.log)"
	atf_check -s exit:0 -o match:"^1$" \
	    sh -c "ls $W/vhome2/Maildir/new | wc -l"
}
delivered_as_the_table_says_cleanup()
{
	smtpd_cleanup
}

atf_test_case mda_runs_with_the_table_ids cleanup
mda_runs_with_the_table_ids_head()
{
	atf_set descr "An mda command for a table user runs with its uid," \
	    "its gid as the only group, HOME from the table, in that home"
	atf_set require.user root
}
mda_runs_with_the_table_ids_body()
{
	W=$(pwd)
	userbase_config
	echo "vuser $(vuid):$(vgid):$W/vhome" > vusers
	cat >> smtpd.conf <<CONF
action "cmd" mda "(id -u; id -G; echo \$HOME; pwd) >ids" userbase <vusers>
match from any for domain "cmd.example" action "cmd"
CONF
	smtpd_start
	send "vuser@cmd.example"
	wait_log "result=delivered" ||
	    atf_fail "not delivered: $(cat smtpd.log)"
	atf_check -s exit:0 -o inline:"$(vuid)\n$(vgid)\n$W/vhome\n$W/vhome\n" \
	    cat vhome/ids
}
mda_runs_with_the_table_ids_cleanup()
{
	smtpd_cleanup
}

atf_test_case bad_entries_are_refused_by_n
bad_entries_are_refused_by_n_head()
{
	atf_set descr "smtpd -n refuses a userbase entry with uid or gid 0," \
	    "a relative home or a malformed line, naming file and line"
}
bad_entries_are_refused_by_n_body()
{
	userbase_config
	W=$(pwd)
	printf '%s\n' "# virtual users" "good 2000:2000:/var/vmail/good" \
	    "evil 0:2000:/var/vmail/evil" > vusers
	# The table's line in smtpd.conf, then the entry's in its file.
	atf_check -s exit:1 -o empty \
	    -e match:"^smtpd.conf:4: table vusers: $W/vusers:3: user evil: " \
	    -e match:"user evil: uid 0 is not allowed$" \
	    "$SMTPD" -n -f smtpd.conf
	printf '%s\n' "good 2000:2000:/var/vmail/good" "broken 2000" > vusers
	atf_check -s exit:1 -o empty \
	    -e match:"^smtpd.conf:4: table vusers: $W/vusers:2: user broken: " \
	    -e match:"user broken: not UID:GID:HOME$" \
	    "$SMTPD" -n -f smtpd.conf
	printf '%s\n' "wheel 2000:0:/var/vmail/w" "rel 2000:2000:vmail/rel" \
	    > vusers
	atf_check -s exit:1 -o empty \
	    -e match:"vusers:1: user wheel: gid 0 is not allowed" \
	    -e match:"vusers:2: user rel: home must be an absolute path" \
	    "$SMTPD" -n -f smtpd.conf
	printf '%s\n' "good 2000:2000:/var/vmail/good" > vusers
	atf_check -s exit:0 -o empty -e match:"configuration OK" \
	    "$SMTPD" -n -f smtpd.conf
}

atf_test_case bad_entry_loaded_at_run_time_is_unused cleanup
bad_entry_loaded_at_run_time_is_unused_head()
{
	atf_set descr "An entry smtpd -n would refuse, brought in by" \
	    "smtpctl update table, is no recipient"
}
bad_entry_loaded_at_run_time_is_unused_body()
{
	userbase_config
	echo "vuser $(vuid):$(vgid):$(pwd)/vhome" > vusers
	smtpd_start
	echo "evil 0:0:/root" >> vusers
	atf_check -s exit:0 -o ignore \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" update table vusers
	expect_rcpt "evil@localhost" "^550 5.1.1"
	expect_rcpt "vuser@localhost" "^250 2.1.5"
	atf_check -s exit:0 -o ignore grep \
	    "userbase vusers: user evil: uid 0 is not allowed: entry refused" \
	    smtpd.log
}
bad_entry_loaded_at_run_time_is_unused_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case only_table_users_are_recipients
	atf_add_test_case delivered_as_the_table_says
	atf_add_test_case mda_runs_with_the_table_ids
	atf_add_test_case bad_entries_are_refused_by_n
	atf_add_test_case bad_entry_loaded_at_run_time_is_unused
}
