#! /usr/bin/env atf-sh
#
# Local submission: smtpctl as sendmail reads a message on standard
# input and submits it on the submission socket; the daemon records the
# uid the socket's peer credentials name, never what the client says.

. "$(atf_get_srcdir)/../lib.sh"

# alias_config ALIASES: the default configuration, its local action
# with the inline alias table given.
alias_config()
{
	smtpd_config </dev/null
	grep -v -e '^action ' -e '^match ' smtpd.conf > smtpd.conf.base
	{ cat smtpd.conf.base
	  echo "table aliases { $1 }"
	  echo "action \"local\" maildir \"$(pwd)/Maildir\" alias <aliases>"
	  echo 'match from any for local action "local"'; } > smtpd.conf
}

# The tests run sendmail under its own name, from the work directory.
sendmail_setup()
{
	chmod 0755 .
	ln -s "$SMTPCTL" sendmail
	submit_env
}

atf_test_case lf_only_input_is_delivered cleanup
lf_only_input_is_delivered_head()
{
	atf_set descr "sendmail USER with LF-only lines: delivered with the" \
	    "Date, Message-ID and From fields it lacked, the body intact"
}
lf_only_input_is_delivered_body()
{
	smtpd_start
	sendmail_setup
	printf 'Subject: plain\n\nfirst line\n.leading dot\nlast line\n' |
	    atf_check -s exit:0 ./sendmail "$MAILUSER"
	wait_mail || atf_fail "not delivered"
	m=$(maildir_messages)
	atf_check -s exit:0 -o match:"^Subject: plain" cat "$m"
	atf_check -s exit:0 -o match:"^Date: " cat "$m"
	atf_check -s exit:0 -o match:"^Message-ID: <.*@" cat "$m"
	atf_check -s exit:0 -o match:"^From: .*<$MAILUSER@" cat "$m"
	message_body "$m" > body
	atf_check -s exit:0 -o inline:"first line\n.leading dot\nlast line\n" cat body
	# Stored with LF line ends: no CR survives from the CRLF dialogue.
	atf_check -s exit:1 -o ignore grep -c "$(printf '\r')" "$m"
}
lf_only_input_is_delivered_cleanup()
{
	smtpd_cleanup
}

atf_test_case crlf_input_is_the_same cleanup
crlf_input_is_the_same_head()
{
	atf_set descr "CRLF lines on standard input become the same message"
}
crlf_input_is_the_same_body()
{
	smtpd_start
	sendmail_setup
	printf 'Subject: crlf\r\n\r\none\r\ntwo\r\n' |
	    atf_check -s exit:0 ./sendmail "$MAILUSER"
	wait_mail || atf_fail "not delivered"
	message_body "$(maildir_messages)" > body
	atf_check -s exit:0 -o inline:"one\ntwo\n" cat body
}
crlf_input_is_the_same_cleanup()
{
	smtpd_cleanup
}

atf_test_case lone_dot_ends_input_without_i cleanup
lone_dot_ends_input_without_i_head()
{
	atf_set descr "A line holding a single dot ends the message, unless" \
	    "-i or -oi is given"
}
lone_dot_ends_input_without_i_body()
{
	smtpd_start
	sendmail_setup
	printf 'Subject: dot\n\nbefore\n.\nafter\n' |
	    atf_check -s exit:0 ./sendmail "$MAILUSER"
	wait_mail 1 || atf_fail "not delivered"
	message_body "$(maildir_messages | sed -n 1p)" > body
	atf_check -s exit:0 -o inline:"before\n" cat body
	printf 'Subject: dot\n\nbefore\n.\nafter\n' |
	    atf_check -s exit:0 ./sendmail -i "$MAILUSER"
	wait_mail 2 || atf_fail "not delivered"
	message_body "$(maildir_messages | sed -n 2p)" > body
	atf_check -s exit:0 -o inline:"before\n.\nafter\n" cat body
	printf 'Subject: dot\n\nbefore\n.\nafter\n' |
	    atf_check -s exit:0 ./sendmail -oi "$MAILUSER"
	wait_mail 3 || atf_fail "not delivered"
	message_body "$(maildir_messages | sed -n 3p)" > body
	atf_check -s exit:0 -o inline:"before\n.\nafter\n" cat body
}
lone_dot_ends_input_without_i_cleanup()
{
	smtpd_cleanup
}

atf_test_case t_takes_recipients_and_drops_bcc cleanup
t_takes_recipients_and_drops_bcc_head()
{
	atf_set descr "-t: the recipients of To, Cc and Bcc each get the" \
	    "message, and the Bcc field is gone from it"
}
t_takes_recipients_and_drops_bcc_body()
{
	alias_config "alice = $MAILUSER, bob = $MAILUSER, carol = $MAILUSER"
	smtpd_start
	sendmail_setup
	printf 'To: Alice <alice>\nCc: "Bob, B." <bob@localhost>\nBcc: carol\nSubject: t\n\nhi\n' |
	    atf_check -s exit:0 ./sendmail -t
	wait_mail 3 || atf_fail "not delivered to three"
	for m in $(maildir_messages); do
		atf_check -s exit:0 -o match:"^To: Alice <alice>" cat "$m"
		grep -v "^Delivered-To:" "$m" > visible
		atf_check -s exit:1 grep -i -e "^Bcc:" -e carol visible
	done
	atf_check -s exit:0 -o match:"to=<carol@" cat smtpd.log
}
t_takes_recipients_and_drops_bcc_cleanup()
{
	smtpd_cleanup
}

atf_test_case bs_speaks_smtp cleanup
bs_speaks_smtp_head()
{
	atf_set descr "-bs: SMTP on standard input and output, relayed to" \
	    "the submission socket"
}
bs_speaks_smtp_body()
{
	smtpd_start
	sendmail_setup
	# A client waits for each reply, as SMTP wants.
	cat > client.py <<'PY'
import subprocess, sys
p = subprocess.Popen(["./sendmail", "-bs"], stdin=subprocess.PIPE,
    stdout=subprocess.PIPE)
def reply():
    while True:
        line = p.stdout.readline().decode()
        print(line.rstrip())
        if line[3:4] != "-":
            return
def say(text):
    p.stdin.write(text.encode() + b"\r\n")
    p.stdin.flush()
    reply()
reply()
user = sys.argv[1]
for cmd in ["EHLO client.test", "MAIL FROM:<%s@localhost>" % user,
    "RCPT TO:<%s@localhost>" % user, "DATA"]:
    say(cmd)
p.stdin.write(b"Subject: bs\r\n\r\nvia -bs\r\n")
say(".")
say("QUIT")
p.stdin.close()
sys.exit(p.wait())
PY
	atf_check -s exit:0 -o match:"^220 " -o match:"^250 2.0.0 Ok: queued" \
	    -o match:"^221 " python3 client.py "$MAILUSER"
	wait_mail || atf_fail "not delivered"
	message_body "$(maildir_messages)" > body
	atf_check -s exit:0 -o inline:"via -bs\n" cat body
}
bs_speaks_smtp_cleanup()
{
	smtpd_cleanup
}

atf_test_case exit_codes cleanup
exit_codes_head()
{
	atf_set descr "sysexits(3): unknown user 67, no recipient 64, legacy" \
	    "options accepted, nothing reachable or writable 75"
}
exit_codes_body()
{
	smtpd_start
	sendmail_setup
	echo hi | atf_check -s exit:67 -e match:"nosuchuser" \
	    ./sendmail nosuchuser-xyz
	echo hi | atf_check -s exit:64 -e match:"no recipients" ./sendmail
	echo hi | atf_check -s exit:0 ./sendmail -odq -oem -oee -om \
	    -B8BITMIME -odi -v -N never -R hdrs -V envid1 "$MAILUSER" 2>/dev/null
	wait_mail || atf_fail "not delivered"
	echo hi | atf_check -s exit:64 -e match:"-bt is not supported" \
	    ./sendmail -bt
	# No daemon there, no offline directory to keep the message in.
	SMTPD_SUBMIT_SOCKET="$(pwd)/none.sock" \
	    SMTPD_OFFLINE_DIR="$(pwd)/no-such-dir" \
	    atf_check -s exit:75 -e match:"cannot be kept" \
	    ./sendmail "$MAILUSER" < /dev/null
}
exit_codes_cleanup()
{
	smtpd_cleanup
}

atf_test_case uid_is_the_peers cleanup
uid_is_the_peers_head()
{
	atf_set descr "Another user's submission carries that user's uid," \
	    "from the socket, in the Received field and the envelope"
	atf_set require.user root
	atf_set require.progs setpriv
}
uid_is_the_peers_body()
{
	smtpd_start
	sendmail_setup
	atf_check -s exit:0 -o match:"smtp paused|mda paused" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" pause mda
	printf 'Subject: from nobody\n\nhi\n' | atf_check -s exit:0 \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    ./sendmail "$MAILUSER"
	wait_log "result=queued" || atf_fail "not queued"
	id=$("$SMTPCTL" -s "$(pwd)/smtpd.sock" show queue | cut -f1)
	atf_check -s exit:0 -o match:"^client local uid=65534 user=nobody$" \
	    -o match:"^sender nobody@" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" show envelope "$id"
	atf_check -s exit:0 -o ignore \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" resume mda
	wait_mail || atf_fail "not delivered"
	atf_check -s exit:0 \
	    -o match:"^Received: by .* \(from userid 65534, user nobody\)" \
	    cat "$(maildir_messages)"
	atf_check -s exit:1 grep "X-Authentication-Warning" \
	    "$(maildir_messages)"
}
uid_is_the_peers_cleanup()
{
	smtpd_cleanup
}

atf_test_case other_sender_is_marked cleanup
other_sender_is_marked_head()
{
	atf_set descr "-f with another's address: kept but marked for a user," \
	    "unmarked for root and the trusted group"
	atf_set require.user root
	atf_set require.progs setpriv
}
other_sender_is_marked_body()
{
	smtpd_config <<CONF
listen on socket trusted-group "daemon"
CONF
	smtpd_start
	sendmail_setup
	printf 'Subject: 1\n\nhi\n' | atf_check -s exit:0 \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    ./sendmail -f boss@example.org "$MAILUSER"
	wait_mail 1 || atf_fail "not delivered"
	m=$(maildir_messages | sed -n 1p)
	atf_check -s exit:0 -o match:"^Return-Path: <boss@example.org>" \
	    -o match:"^X-Authentication-Warning: .*: nobody set sender to <boss@example.org>" \
	    cat "$m"
	printf 'Subject: 2\n\nhi\n' | atf_check -s exit:0 \
	    setpriv --reuid=nobody --regid=nogroup --groups=daemon \
	    ./sendmail -f boss@example.org "$MAILUSER"
	printf 'Subject: 3\n\nhi\n' | atf_check -s exit:0 \
	    ./sendmail -f boss@example.org "$MAILUSER"
	wait_mail 3 || atf_fail "not delivered"
	for m in $(maildir_messages | sed 1d); do
		atf_check -s exit:0 -o match:"^Return-Path: <boss@example.org>" \
		    cat "$m"
		atf_check -s exit:1 grep X-Authentication-Warning "$m"
	done
}
other_sender_is_marked_cleanup()
{
	smtpd_cleanup
}

atf_test_case mailq_lists_the_queue cleanup
mailq_lists_the_queue_head()
{
	atf_set descr "mailq: one entry per message for root, a clear" \
	    "refusal for other users; newaliases reloads the aliases table"
	atf_set require.user root
	atf_set require.progs setpriv
}
mailq_lists_the_queue_body()
{
	smtpd_config </dev/null
	echo "postmaster: $MAILUSER" > aliases
	grep -v -e '^action ' -e '^match ' smtpd.conf > smtpd.conf.base
	{ cat smtpd.conf.base
	  echo "table aliases \"$(pwd)/aliases\""
	  echo "action \"local\" maildir \"$(pwd)/Maildir\" alias <aliases>"
	  echo 'match from any for local action "local"'; } > smtpd.conf
	smtpd_start
	sendmail_setup
	ln -s "$SMTPCTL" mailq
	ln -s "$SMTPCTL" newaliases
	atf_check -s exit:0 -o inline:"Mail queue is empty\n" ./mailq
	"$SMTPCTL" -s "$(pwd)/smtpd.sock" pause mda >/dev/null
	echo hi | atf_check -s exit:0 ./sendmail "$MAILUSER" postmaster
	wait_log "result=queued" || atf_fail "not queued"
	atf_check -s exit:0 -o match:"^[0-9a-f]{8}  waiting .*<$MAILUSER@" \
	    -o match:"^          $MAILUSER@" -o match:"^          postmaster@" \
	    ./mailq
	atf_check -s exit:0 -o match:"^[0-9a-f]{8}  waiting" ./sendmail -bp
	atf_check -s exit:77 -e match:"shown to root only" \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups ./mailq
	echo "abuse: $MAILUSER" >> aliases
	atf_check -s exit:0 -o match:"table aliases: 2 entries" ./newaliases
}
mailq_lists_the_queue_cleanup()
{
	smtpd_cleanup
}

atf_test_case socket_grammar cleanup
socket_grammar_head()
{
	atf_set descr "listen on socket takes an absolute path once;" \
	    "offline directory an absolute path; the socket defaults to" \
	    "the control socket's directory"
}
socket_grammar_body()
{
	printf 'listen on 127.0.0.1\nlisten on socket "rel.sock"\n' > a.conf
	atf_check -s exit:1 -e match:"^a.conf:2: submission socket must be an absolute path" \
	    "$SMTPD" -n -f a.conf
	printf 'listen on socket\nlisten on socket\n' > b.conf
	atf_check -s exit:1 -e match:"^b.conf:2: listen on socket given twice" \
	    "$SMTPD" -n -f b.conf
	printf 'offline directory "spool"\nlisten on socket\n' > c.conf
	atf_check -s exit:1 -e match:"^c.conf:1: offline directory must be an absolute path" \
	    "$SMTPD" -n -f c.conf
	printf 'listen on socket "/tmp/x.sock" trusted-group "daemon" reject-null-sender\nmatch from local for local reject\n' > d.conf
	atf_check -s exit:0 -e match:"configuration OK" "$SMTPD" -n -f d.conf
	printf 'listen on socket trusted-group "no-such-group-here"\n' > e.conf
	atf_check -s exit:1 -e match:"trusted-group no-such-group-here: no such group" \
	    "$SMTPD" -n -f e.conf
	smtpd_start
	atf_check -s exit:0 -o inline:"666\n" stat -c %a smtpd-submit.sock
	smtpd_cleanup
	atf_check -s exit:1 test -e smtpd-submit.sock
}
socket_grammar_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case socket_grammar
	atf_add_test_case lf_only_input_is_delivered
	atf_add_test_case crlf_input_is_the_same
	atf_add_test_case lone_dot_ends_input_without_i
	atf_add_test_case t_takes_recipients_and_drops_bcc
	atf_add_test_case bs_speaks_smtp
	atf_add_test_case exit_codes
	atf_add_test_case uid_is_the_peers
	atf_add_test_case other_sender_is_marked
	atf_add_test_case mailq_lists_the_queue
}
