#! /usr/bin/env atf-sh
#
# What an alias may lead to beyond local users: a file, a command, the
# members of an included file, an address elsewhere; loops through
# them; and a user's own ~/.forward.

. "$(atf_get_srcdir)/../lib.sh"

# aliases_config: smtpd.conf delivering local mail into the test's
# maildir through the alias file "aliases" (written by the test), and
# relaying mail for remote.example to a host that refuses connections,
# so that it waits in the queue.
aliases_config()
{
	W=$(pwd)
	free_port > port
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $(port)
table aliases file:$W/aliases
action "local" maildir "$W/Maildir" alias <aliases>
action "out" relay host smtp://127.0.0.1:$DEAD_PORT
match from any for local action "local"
match from local for domain "remote.example" action "out"
CONF
	[ -t 0 ] || cat >> smtpd.conf
}

# out_dir: a directory the alias user (nobody when run as root) may
# write to, for the files and commands of aliases.
out_dir()
{
	mkdir -p out
	[ "$(id -u)" -ne 0 ] || chown nobody out
}

# send FROM RCPT...: one message with a From-quoted body line.
send()
{
	python3 - "$(port)" "$@" <<'PY'
import smtplib, sys
port, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
msg = b"Subject: alias test\r\n\r\nFrom the start of a line\r\nbody\r\n"
with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
    s.ehlo("client.test")
    s.mail(sender)
    for r in rcpts:
        code, text = s.rcpt(r)
        if code != 250:
            sys.exit("RCPT %s: %d %s" % (r, code, text.decode()))
    s.data(msg)
PY
	[ $? -eq 0 ] || atf_fail "message not accepted"
}

# rcpt_reply RCPT: the reply to RCPT TO:<RCPT> after a MAIL.
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

expect_rcpt()
{
	_got=$(rcpt_reply "$1")
	echo "$_got" | grep -qE "$2" ||
	    atf_fail "RCPT TO:<$1> got \"$_got\", wanted $2"
}

# The user files and commands of aliases run as.
alias_user()
{
	if [ "$(id -u)" -eq 0 ]; then echo nobody; else id -un; fi
}

# A command for aliases and ~/.forward: it keeps its input, the sender,
# its arguments and who ran it in the directory it is given.
write_deliver_script()
{
	cat > deliver.sh <<'SH'
cat > "$1/stdin.out"
printf '%s\n' "$SENDER" > "$1/sender.out"
printf '%s\n' "$2" > "$1/args.out"
id -un > "$1/user.out"
SH
	chmod 644 deliver.sh
}

atf_test_case alias_to_a_file cleanup
alias_to_a_file_head()
{
	atf_set descr "An alias member /path appends the message to that" \
	    "file in mbox format, as nobody when smtpd runs as root"
}
alias_to_a_file_body()
{
	out_dir
	echo "archive: $(pwd)/out/archive.mbox" > aliases
	aliases_config </dev/null
	smtpd_start
	send "sender@example.org" "archive@localhost"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^From sender@example.org " \
	    head -n 1 out/archive.mbox
	atf_check -s exit:0 -o match:"^Delivered-To: archive@localhost$" \
	    cat out/archive.mbox
	atf_check -s exit:0 -o match:"^>From the start of a line$" \
	    cat out/archive.mbox
	atf_check -s exit:0 -o inline:"$(alias_user)\n" \
	    stat -c %U out/archive.mbox
	# Twice: appended, not replaced.
	send "other@example.org" "archive@localhost"
	wait_log "result=delivered" 2 || atf_fail "not delivered twice"
	atf_check_equal 2 "$(grep -c '^From ' out/archive.mbox)"
	atf_check_equal 0 "$(maildir_messages | grep -c .)"
}
alias_to_a_file_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_with_more_members_than_allowed cleanup
alias_with_more_members_than_allowed_head()
{
	atf_set descr "An alias with more than 64 members delivers to the" \
	    "first 64, once each, and logs each member dropped"
}
alias_with_more_members_than_allowed_body()
{
	out_dir
	_m=""
	for i in $(seq 1 70); do
		_m="$_m${_m:+, }$(pwd)/out/m$i"
	done
	echo "many: $_m" > aliases
	aliases_config </dev/null
	smtpd_start
	send "sender@example.org" "many@localhost"
	wait_log "result=delivered" 64 || atf_fail "not delivered 64 times"
	atf_check_equal 6 "$(grep -c 'too many destinations' smtpd.log)"
	for i in $(seq 1 64); do
		[ "$(grep -c '^From ' out/m$i)" -eq 1 ] ||
		    atf_fail "out/m$i does not hold the message once"
	done
	for i in $(seq 65 70); do
		[ ! -e out/m$i ] || atf_fail "out/m$i was written"
	done
}
alias_with_more_members_than_allowed_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_to_a_command cleanup
alias_to_a_command_head()
{
	atf_set descr "An alias member \"|command\" runs the command as" \
	    "nobody with the message on stdin and the sender in \$SENDER;" \
	    "shell syntax in the sender is never run"
}
alias_to_a_command_body()
{
	W=$(pwd)
	out_dir
	write_deliver_script
	# Quoted: the comma is part of the command.
	echo "cmd: \"|/bin/sh $W/deliver.sh $W/out a,b\"" > aliases
	aliases_config </dev/null
	smtpd_start
	sender='"$(touch pwned1)`touch pwned2`;touch pwned3"@example.org'
	send "$sender" "cmd@localhost"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o inline:"$sender\n" cat out/sender.out
	atf_check -s exit:0 -o inline:"a,b\n" cat out/args.out
	atf_check -s exit:0 -o inline:"$(alias_user)\n" cat out/user.out
	atf_check -s exit:0 -o match:"^Delivered-To: cmd@localhost$" \
	    cat out/stdin.out
	atf_check -s exit:0 -o match:"^From the start of a line$" \
	    cat out/stdin.out
	atf_check -s exit:0 -o empty find . out / -maxdepth 1 -name 'pwned*'
}
alias_to_a_command_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_includes_a_file cleanup
alias_includes_a_file_head()
{
	atf_set descr ":include:/path takes the members of a file next to" \
	    "the alias table; a file elsewhere is refused and logged"
}
alias_includes_a_file_body()
{
	W=$(pwd)
	out_dir
	cat > staff.list <<LIST
# the staff, one or more a line
$MAILUSER
$W/out/staff.mbox
LIST
	cat > aliases <<ALIASES
staff: :include:$W/staff.list
outside: :include:/etc/hostname
ALIASES
	aliases_config </dev/null
	smtpd_start
	send "sender@example.org" "staff@localhost"
	wait_log "result=delivered" 2 || atf_fail "not delivered to both"
	wait_mail || atf_fail "no mail in the maildir"
	atf_check -s exit:0 -o match:"^Delivered-To: staff@localhost$" \
	    cat "$(maildir_messages)"
	atf_check -s exit:0 -o match:"^Delivered-To: staff@localhost$" \
	    cat out/staff.mbox
	expect_rcpt "outside@localhost" "^550 5\.1\.1"
	atf_check -s exit:0 -o ignore \
	    grep "include /etc/hostname refused" smtpd.log
}
alias_includes_a_file_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_member_elsewhere_is_sent_on cleanup
alias_member_elsewhere_is_sent_on_head()
{
	atf_set descr "A member in another domain is routed as a new" \
	    "recipient: its envelope is queued for that address and waits" \
	    "while the relay host is down; the local member gets the mail"
}
alias_member_elsewhere_is_sent_on_body()
{
	echo "team: someone@remote.example, $MAILUSER" > aliases
	aliases_config </dev/null
	smtpd_start
	send "sender@example.org" "team@localhost"
	wait_log "result=delivered" || atf_fail "local member not served"
	wait_log "to=<someone@remote.example> result=tempfail" ||
	    atf_fail "no waiting envelope for the member"
	"$SMTPCTL" -s smtpd.sock show queue > queue ||
	    atf_fail "show queue failed"
	atf_check_equal 1 "$(grep -c . queue)"
	atf_check -s exit:0 -o inline:"someone@remote.example\twaiting\n" \
	    awk -F '\t' '{ print $3 "\t" $4 }' queue
	evp=$(cut -f 1 queue)
	"$SMTPCTL" -s smtpd.sock show envelope "$evp" > envelope ||
	    atf_fail "show envelope failed"
	atf_check -s exit:0 -o match:"^rcpt someone@remote.example$" \
	    -o match:"^target someone@remote.example$" \
	    -o match:"^action out$" cat envelope
	atf_check -s exit:0 -o match:"^Delivered-To: team@localhost$" \
	    cat "$(maildir_messages)"
}
alias_member_elsewhere_is_sent_on_cleanup()
{
	smtpd_cleanup
}

atf_test_case alias_loops_are_cut cleanup
alias_loops_are_cut_head()
{
	atf_set descr "A loop through an include, or through addresses" \
	    "routed back here, is cut and logged; what leads to nobody is" \
	    "refused as an unknown user and the daemon keeps running"
}
alias_loops_are_cut_body()
{
	W=$(pwd)
	echo "ring" > loop.list
	cat > aliases <<ALIASES
inc: :include:$W/loop.list
ring: inc
self: :include:$W/self.list
r1: r2@loop.example
r2: r1@loop.example
ALIASES
	echo ":include:$W/self.list" > self.list
	aliases_config <<CONF
match from local for domain "loop.example" action "local"
CONF
	smtpd_start
	expect_rcpt "inc@localhost" "^550 5\.1\.1 Recipient address rejected"
	expect_rcpt "self@localhost" "^550 5\.1\.1 Recipient address rejected"
	expect_rcpt "r1@localhost" "^550 5\.1\.1 Recipient address rejected"
	atf_check -s exit:0 -o ignore grep "alias inc nests too deep" smtpd.log
	atf_check -s exit:0 -o ignore grep "alias self nests too deep" \
	    smtpd.log
	atf_check -s exit:0 -o ignore grep "nests too deep" smtpd.log
	atf_check -s exit:0 kill -0 "$(smtpd_pid)"
	for role in smtp lookup queue; do
		[ -n "$(child_pid "$role")" ] ||
		    atf_fail "no $role process: $(smtpd_children)"
	done
	expect_rcpt "$MAILUSER@localhost" "^250 2\.1\.5"
}
alias_loops_are_cut_cleanup()
{
	smtpd_cleanup
}

# --- ~/.forward ------------------------------------------------------
#
# There is no test user: the tests use the user running them, who must
# be root (whose files and commands run as root), and put a ~/.forward
# in root's home for the time of the test, keeping any that was there.

forward_home()
{
	getent passwd "$MAILUSER" | cut -d: -f6
}

# put_forward MODE < text
put_forward()
{
	_f="$(forward_home)/.forward"
	if [ -e "$_f" ] && [ ! -e forward.saved ]; then
		mv "$_f" forward.saved || atf_fail "cannot keep $_f"
	fi
	touch forward.ours
	cat > "$_f" && chmod "$1" "$_f" || atf_fail "cannot write $_f"
}

forward_cleanup()
{
	smtpd_cleanup
	[ -e forward.ours ] || return 0
	rm -f "$(forward_home)/.forward"
	[ ! -e forward.saved ] || mv forward.saved "$(forward_home)/.forward"
}

atf_test_case forward_replaces_the_mailbox cleanup
forward_replaces_the_mailbox_head()
{
	atf_set descr "A user's ~/.forward with a command, a file and the" \
	    "user itself delivers to all three, as that user"
	atf_set require.user root
}
forward_replaces_the_mailbox_body()
{
	W=$(pwd)
	mkdir out
	write_deliver_script
	: > aliases
	put_forward 0644 <<FORWARD
# kept by the test
"|/bin/sh $W/deliver.sh $W/out", $W/out/forward.mbox
$MAILUSER
FORWARD
	aliases_config </dev/null
	smtpd_start
	send "sender@example.org" "$MAILUSER@localhost"
	wait_log "result=delivered" 3 || atf_fail "not delivered three times"
	atf_check -s exit:0 -o ignore \
	    grep "rcpt=<$MAILUSER@localhost> user=$MAILUSER forward=used" \
	    smtpd.log
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
	atf_check -s exit:0 -o match:"^From sender@example.org " \
	    head -n 1 out/forward.mbox
	atf_check -s exit:0 -o inline:"$MAILUSER\n" \
	    stat -c %U out/forward.mbox
	atf_check -s exit:0 -o inline:"$MAILUSER\n" cat out/user.out
	atf_check -s exit:0 -o inline:"sender@example.org\n" \
	    cat out/sender.out
	atf_check -s exit:0 -o match:"^Delivered-To: $MAILUSER@localhost$" \
	    cat out/stdin.out
}
forward_replaces_the_mailbox_cleanup()
{
	forward_cleanup
}

atf_test_case unsafe_forward_is_ignored cleanup
unsafe_forward_is_ignored_head()
{
	atf_set descr "A ~/.forward that others may write to is ignored" \
	    "and logged: the mail goes to the mailbox"
	atf_set require.user root
}
unsafe_forward_is_ignored_body()
{
	W=$(pwd)
	mkdir out
	: > aliases
	echo "$W/out/unsafe.mbox" | put_forward 0666
	aliases_config </dev/null
	smtpd_start
	send "sender@example.org" "$MAILUSER@localhost"
	wait_log "result=delivered" || atf_fail "not delivered"
	wait_mail || atf_fail "not in the mailbox"
	atf_check -s exit:0 -o ignore \
	    grep "\.forward ignored: writable by group or others" smtpd.log
	atf_check -s exit:1 test -e out/unsafe.mbox
}
unsafe_forward_is_ignored_cleanup()
{
	forward_cleanup
}

atf_test_case forged_command_target_is_refused cleanup
forged_command_target_is_refused_head()
{
	atf_set descr "An envelope whose command target is in no ~/.forward" \
	    "of its user is not run: delivery fails for good"
	atf_set require.user root
}
forged_command_target_is_refused_body()
{
	W=$(pwd)
	: > aliases
	aliases_config </dev/null
	mkdir -p spool/queue
	printf 'Subject: forged\n\nbody\n' > spool/queue/0000f00d
	cat > spool/queue/0000f00d00000001 <<ENV
version 1
id 0000f00d00000001
sender sender@example.org
rcpt $MAILUSER@localhost
action local
user $MAILUSER
target |touch $W/pwned
helo client.test
client 127.0.0.1
created $(date +%s)
tries 0
lasterr 
dsn-ret 
dsn-envid 
dsn-notify NEVER
dsn-orcpt 
warned 0
ENV
	chown -R _smtpq:_smtpq spool
	smtpd_start
	wait_log "result=permfail" || atf_fail "no permanent failure"
	atf_check -s exit:0 -o ignore \
	    grep "not in the user's ~/.forward" smtpd.log
	atf_check -s exit:1 test -e pwned
}
forged_command_target_is_refused_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case alias_to_a_file
	atf_add_test_case alias_with_more_members_than_allowed
	atf_add_test_case alias_to_a_command
	atf_add_test_case alias_includes_a_file
	atf_add_test_case alias_member_elsewhere_is_sent_on
	atf_add_test_case alias_loops_are_cut
	atf_add_test_case forward_replaces_the_mailbox
	atf_add_test_case unsafe_forward_is_ignored
	atf_add_test_case forged_command_target_is_refused
}
