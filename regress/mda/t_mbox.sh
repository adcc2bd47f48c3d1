#! /usr/bin/env atf-sh
#
# mbox delivery: messages are appended to one file, each after a
# "From " line and quoted the mboxrd way, under a dot-lock and an fcntl
# lock that other writers of the mailbox honour too.

. "$(atf_get_srcdir)/../lib.sh"

# mda_config ACTION: smtpd.conf whose action "local" is ACTION.
mda_config()
{
	smtpd_config </dev/null
	grep -v -e '^action ' -e '^match ' smtpd.conf > smtpd.conf.base
	{ cat smtpd.conf.base
	  echo "action \"local\" $1"
	  echo 'match from any for local action "local"'; } > smtpd.conf
}

# Body lines an mbox must quote, and some it must leave alone.
write_body()
{
	printf '%s\n' "From here" ">From there" ">>From far away" \
	    "Fromage" "From" " From indented" ".dot" "" "last line" > body
}

# check_mbox FILE COUNT: FILE holds COUNT messages in mboxrd form, each
# with "From " line, Return-Path, and the body of the file "body"
# restored exactly once the quoting is undone; an empty line ends each.
check_mbox()
{
	atf_check -s exit:0 python3 - "$1" "$2" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
want = int(sys.argv[2])
body = open("body", "rb").read()
assert data.endswith(b"\n\n"), "no empty line at the end"
date = rb"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}"
# A message starts at a "From " line at the top or after an empty line.
msgs = re.split(rb"(?:^|\n\n)(?=From )", data)
msgs = [m for m in msgs if m]
assert len(msgs) == want, "%d messages, wanted %d" % (len(msgs), want)
for m in msgs:
    lines = m.rstrip(b"\n").split(b"\n")
    assert re.fullmatch(rb"From \S+ " + date, lines[0]), lines[0]
    if not lines[0].startswith(b"From other@writer"):
        assert lines[1].startswith(b"Return-Path: <"), lines[1]
        assert lines[2].startswith(b"Delivered-To: "), lines[2]
    for l in lines[1:]:
        assert not l.startswith(b"From "), "unquoted From line"
    text = b"".join(re.sub(rb"^>(>*From )", rb"\1", l) + b"\n"
        for l in lines[1:])
    if b"Message-ID: <" in text:
        got = text.split(b"\n\n", 1)[1]
        assert got == body, (got, body)
PY
}

atf_test_case two_messages_mboxrd cleanup
two_messages_mboxrd_head()
{
	atf_set descr "Two messages land in one mbox, each with its From" \
	    "line, ^>*From quoted, an empty line after it, in a file of the" \
	    "recipient's with mode 0600"
}
two_messages_mboxrd_body()
{
	mda_config "mbox \"$(pwd)/mail/mbox\""
	mkdir mail
	smtpd_start
	write_body
	send_body "sender@example.org" "one@test"
	wait_log "result=delivered" || atf_fail "first not delivered"
	send_body "" "two@test"
	wait_log "result=delivered" 2 || atf_fail "second not delivered"
	check_mbox mail/mbox 2
	atf_check -s exit:0 -o match:"^From sender@example.org " \
	    sed -n 1p mail/mbox
	atf_check -s exit:0 -o inline:"1\n" grep -c "^From MAILER-DAEMON " \
	    mail/mbox
	atf_check -s exit:0 -o inline:"2\n" grep -cx ">From here" mail/mbox
	atf_check -s exit:0 -o inline:"2\n" grep -cx ">>From there" mail/mbox
	atf_check -s exit:0 -o inline:"2\n" grep -cx ">>>From far away" \
	    mail/mbox
	atf_check -s exit:0 -o inline:"2\n" grep -cx "Fromage" mail/mbox
	atf_check -s exit:0 -o inline:"2\n" grep -cx "From" mail/mbox
	atf_check -s exit:0 -o inline:"$MAILUSER 600\n" stat -c "%U %a" \
	    mail/mbox
	atf_check -s exit:1 test -e mail/mbox.lock
}
two_messages_mboxrd_cleanup()
{
	smtpd_cleanup
}

# hold_lock KIND: in the background, take the mailbox's lock of KIND
# (fcntl or dot), say so in the file "holding", write a message of its
# own once smtpd logs that a delivery waits, then let go.
hold_lock()
{
	python3 - "$1" <<'PY' &
import fcntl, os, sys, time
kind = sys.argv[1]
fd = os.open("mail/mbox", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
if kind == "fcntl":
    fcntl.lockf(fd, fcntl.LOCK_EX)
else:
    os.close(os.open("mail/mbox.lock", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
        0o600))
open("holding", "w").close()
# Until the delivery has found the mailbox locked, at most 20 seconds.
for _ in range(400):
    if b"result=waiting" in open("smtpd.log", "rb").read():
        break
    time.sleep(0.05)
os.write(fd, b"From other@writer Thu Nov 26 12:00:00 2026\n"
    b"Subject: other\n\nthe other writer's text\n\n")
os.fsync(fd)
if kind == "fcntl":
    fcntl.lockf(fd, fcntl.LOCK_UN)
else:
    os.unlink("mail/mbox.lock")
os.close(fd)
PY
	echo $! > holder.pid
	wait_until test -e holding || atf_fail "the lock holder did not start"
}

holder_cleanup()
{
	[ -f holder.pid ] && kill "$(cat holder.pid)" 2>/dev/null
	smtpd_cleanup
}

# The delivery waited for the holder: its text is first, the message
# after it, whole.
check_waited()
{
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"mbox=.*result=waiting reason=locked" \
	    cat smtpd.log
	atf_check -s exit:0 -o match:"^From other@writer " sed -n 1p mail/mbox
	check_mbox mail/mbox 2
	atf_check -s exit:1 test -e mail/mbox.lock
}

atf_test_case waits_for_fcntl_lock cleanup
waits_for_fcntl_lock_head()
{
	atf_set descr "A delivery waits while another process holds an" \
	    "fcntl lock on the mailbox, then appends after its text"
}
waits_for_fcntl_lock_body()
{
	mda_config "mbox \"$(pwd)/mail/mbox\""
	mkdir mail
	smtpd_start
	write_body
	hold_lock fcntl
	send_body "sender@example.org" "one@test"
	check_waited
}
waits_for_fcntl_lock_cleanup()
{
	holder_cleanup
}

atf_test_case waits_for_dot_lock cleanup
waits_for_dot_lock_head()
{
	atf_set descr "A delivery waits while another process holds the" \
	    "mailbox's dot-lock, then appends after its text"
}
waits_for_dot_lock_body()
{
	mda_config "mbox \"$(pwd)/mail/mbox\""
	mkdir mail
	smtpd_start
	write_body
	hold_lock dot
	send_body "sender@example.org" "one@test"
	check_waited
}
waits_for_dot_lock_cleanup()
{
	holder_cleanup
}

atf_test_case stale_dot_lock_is_removed cleanup
stale_dot_lock_is_removed_head()
{
	atf_set descr "A dot-lock older than five minutes is taken for one" \
	    "left by a dead writer and removed"
}
stale_dot_lock_is_removed_body()
{
	mda_config "mbox \"$(pwd)/mail/mbox\""
	mkdir mail
	touch -d "10 minutes ago" mail/mbox.lock
	smtpd_start
	write_body
	send_body "sender@example.org" "one@test"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"removed stale dot-lock" cat smtpd.log
	atf_check -s exit:1 test -e mail/mbox.lock
	check_mbox mail/mbox 1
}
stale_dot_lock_is_removed_cleanup()
{
	smtpd_cleanup
}

atf_test_case symlink_is_not_followed cleanup
symlink_is_not_followed_head()
{
	atf_set descr "A mailbox that is a symbolic link is not written" \
	    "through: the delivery fails for now"
}
symlink_is_not_followed_body()
{
	mda_config "mbox \"$(pwd)/mail/mbox\""
	mkdir mail
	: > target
	ln -s "$(pwd)/target" mail/mbox
	smtpd_start
	write_body
	send_body "sender@example.org" "one@test"
	wait_log "result=tempfail" || atf_fail "no temporary failure"
	atf_check -s exit:0 -o empty cat target
	atf_check -s exit:1 test -e mail/mbox.lock
}
symlink_is_not_followed_cleanup()
{
	smtpd_cleanup
}

atf_test_case fifo_does_not_hold_the_agent cleanup
fifo_does_not_hold_the_agent_head()
{
	atf_set descr "A mailbox that is a FIFO nobody reads is refused at" \
	    "once: the delivery fails for now instead of waiting forever"
}
fifo_does_not_hold_the_agent_body()
{
	mda_config "mbox \"$(pwd)/mail/mbox\""
	mkdir mail
	mkfifo mail/mbox
	smtpd_start
	write_body
	send_body "sender@example.org" "one@test"
	wait_log "result=tempfail .*mail/mbox" ||
	    atf_fail "the agent did not give up on the FIFO"
	atf_check -s exit:1 test -e mail/mbox.lock
}
fifo_does_not_hold_the_agent_cleanup()
{
	smtpd_cleanup
}

atf_test_case created_for_user_in_root_directory cleanup
created_for_user_in_root_directory_head()
{
	atf_set descr "A missing mailbox in a directory only root may write" \
	    "to, as /var/mail, is created for the recipient, who then" \
	    "appends to it without a dot-lock"
	atf_set require.user root
}
created_for_user_in_root_directory_body()
{
	user=nobody
	getent passwd "$user" >/dev/null || atf_skip "no user $user"
	mda_config "mbox \"$(pwd)/spool.mail/%{user.username}\""
	mkdir -m 0755 spool.mail
	smtpd_start
	write_body
	atf_check -s exit:0 python3 - "$(port)" "$user@localhost" <<'PY'
import smtplib, sys
msg = b"Message-ID: <root@test>\n\n" + open("body", "rb").read()
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    assert s.sendmail("a@example.org", [sys.argv[2]],
        msg.replace(b"\n", b"\r\n")) == {}
PY
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o inline:"$user 600\n" stat -c "%U %a" \
	    "spool.mail/$user"
	check_mbox "spool.mail/$user" 1
	atf_check -s exit:0 -o inline:"$user\n" ls spool.mail
}
created_for_user_in_root_directory_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case two_messages_mboxrd
	atf_add_test_case waits_for_fcntl_lock
	atf_add_test_case waits_for_dot_lock
	atf_add_test_case stale_dot_lock_is_removed
	atf_add_test_case symlink_is_not_followed
	atf_add_test_case fifo_does_not_hold_the_agent
	atf_add_test_case created_for_user_in_root_directory
}
