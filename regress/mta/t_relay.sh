#! /usr/bin/env atf-sh
#
# Relaying to other hosts: routing by MX through a real DNS server
# (nsd) to real receivers (Postfix's smtp-sink, a second smtpd, a
# scripted server), per-recipient results, bounces with the remote
# reply, TLS and login to a relay host, connection reuse, and hostile
# servers that must leave the daemon up.

. "$(atf_get_srcdir)/../lib.sh"

# relay_config [DOMAIN...]: this test's smtpd, relaying mail for each
# DOMAIN by MX through the test's nsd; receivers listen on MXPORT.
# More lines come from stdin.
relay_config()
{
	MXPORT=$(free_port)
	echo "$MXPORT" > mxport
	{
		echo "mta resolver 127.0.0.1 port $(dns_port)"
		echo "mta mx-port $MXPORT"
		echo "queue retry 1s"
		echo "action \"out\" relay"
		for d in "$@"; do
			echo "match from any for domain \"$d\" action \"out\""
		done
		[ -t 0 ] || cat
	} | smtpd_config
}

mxport()
{
	cat mxport
}

# send FROM RCPT...: one message through this test's smtpd.
send()
{
	python3 - "$(port)" "$@" <<'PY' || atf_fail "the message was not accepted"
import smtplib, sys
port, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = smtplib.SMTP("127.0.0.1", port)
s.sendmail(sender, rcpts, "Subject: relayed\r\n\r\nfirst line\r\n"
    ".a line that starts with a dot\r\n")
s.quit()
PY
}

# send_many N FROM RCPT: N messages over one connection.
send_many()
{
	python3 - "$(port)" "$@" <<'PY' || atf_fail "the messages were not accepted"
import smtplib, sys
port, n, sender, rcpt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port)
for i in range(n):
    s.sendmail(sender, [rcpt], "Subject: %d\r\n\r\nbody %d\r\n" % (i, i))
s.quit()
PY
}

atf_test_case first_mx_down_second_gets_it cleanup
first_mx_down_second_gets_it_head()
{
	atf_set descr "The most preferred MX refuses connections: it is" \
	    "backed off and the next MX gets the message, dot-stuffed"
}
first_mx_down_second_gets_it_body()
{
	dns_start <<'ZONE'
two IN MX 10 mx1.two
two IN MX 20 mx2.two
mx1.two IN A 127.0.0.2
mx2.two IN A 127.0.0.3
ZONE
	relay_config two.test </dev/null
	mkdir dump
	[ "$(id -u)" -ne 0 ] || chown nobody dump
	sink_start 127.0.0.3 "$(mxport)" -d "$(pwd)/dump/msg-"
	smtpd_start
	send "$MAILUSER@localhost" "someone@two.test"
	wait_log "to=<someone@two.test> relay=mx2.two.test result=delivered" ||
	    atf_fail "not delivered to the second MX"
	atf_check -s exit:0 -o ignore grep -E \
	    "mta host=mx1.two.test address=127.0.0.2 result=backoff" smtpd.log
	atf_check -s exit:0 -o ignore grep "RCPT TO:<someone@two.test>" \
	    sink-127.0.0.3.log
	wait_until test -n "$(ls dump 2>/dev/null)" || atf_fail "no dump"
	# The receiver takes the stuffed dot off again: the line as written.
	atf_check -s exit:0 -o ignore grep -x ".a line that starts with a dot" \
	    dump/*
}
first_mx_down_second_gets_it_cleanup()
{
	relay_cleanup
}

atf_test_case opensmtpd_relay_line_works_unchanged cleanup
opensmtpd_relay_line_works_unchanged_head()
{
	atf_set descr "action \"relay\" relay helo mail.example.org, as" \
	    "written for OpenSMTPD: relayed by MX (whose name is a CNAME)," \
	    "greeting with that name"
}
opensmtpd_relay_line_works_unchanged_body()
{
	dns_start <<'ZONE'
o IN MX 10 mx.o
mx.o IN CNAME real.o
real.o IN A 127.0.0.2
ZONE
	relay_config <<'CONF'
action "relay" relay helo mail.example.org
match from any for domain "o.test" action "relay"
CONF
	sink_start 127.0.0.2 "$(mxport)"
	smtpd_start
	send "$MAILUSER@localhost" someone@o.test
	wait_log "to=<someone@o.test> relay=mx.o.test result=delivered" ||
	    atf_fail "not delivered"
	atf_check -s exit:0 -o ignore grep -x "smtp-sink: EHLO mail.example.org" \
	    sink-127.0.0.2.log
}
opensmtpd_relay_line_works_unchanged_cleanup()
{
	relay_cleanup
}

atf_test_case one_of_three_recipients_later cleanup
one_of_three_recipients_later_head()
{
	atf_set descr "A 4xx for one of three recipients of one message:" \
	    "the three go in one transaction, two are delivered at once," \
	    "the third on the queue's retry"
}
one_of_three_recipients_later_body()
{
	dns_start <<'ZONE'
three IN MX 10 mx.three
mx.three IN A 127.0.0.2
ZONE
	relay_config three.test </dev/null
	fake_start 127.0.0.2 "$(mxport)" normal \
	    "b=451 4.2.1 mailbox busy, try later"
	smtpd_start
	send "$MAILUSER@localhost" a@three.test b@three.test c@three.test
	wait_log "to=<b@three.test> result=tempfail .*451 4.2.1 mailbox busy" ||
	    atf_fail "no temporary failure for b"
	wait_log "relay=mx.three.test result=delivered" 3 ||
	    atf_fail "not all three delivered in the end"
	atf_check -s exit:0 -o ignore grep "to=<a@three.test> relay=mx.three.test" \
	    smtpd.log
	# The first transaction carried all three recipients.
	atf_check -s exit:0 -o inline:"3\n" sh -c \
	    "sed -n '1,/message/p' fake-127.0.0.2.log | grep -c 'cmd RCPT'"
	atf_check_equal 2 "$(grep -c '^message' fake-127.0.0.2.log)"
}
one_of_three_recipients_later_cleanup()
{
	relay_cleanup
}

atf_test_case permanent_failure_bounces_with_remote_text cleanup
permanent_failure_bounces_with_remote_text_head()
{
	atf_set descr "A 5xx from the remote host is bounced at once, the" \
	    "remote reply in Diagnostic-Code and the host in Remote-MTA"
}
permanent_failure_bounces_with_remote_text_body()
{
	dns_start <<'ZONE'
hard IN MX 10 mx.hard
mx.hard IN A 127.0.0.2
ZONE
	relay_config hard.test </dev/null
	sink_start 127.0.0.2 "$(mxport)" -f rcpt
	smtpd_start
	send "$MAILUSER@localhost" nobody@hard.test
	wait_log "to=<nobody@hard.test> result=permfail" ||
	    atf_fail "no permanent failure"
	wait_mail || atf_fail "no bounce"
	atf_check -s exit:0 -o match:"^Diagnostic-Code: smtp; 5[0-9][0-9] " \
	    -o match:"^Remote-MTA: dns; mx.hard.test$" \
	    -o match:"^Final-Recipient: rfc822; nobody@hard.test$" \
	    -o match:"^Status: 5\." cat "$(maildir_messages)"
	atf_check -s exit:1 grep "result=tempfail" smtpd.log
}
permanent_failure_bounces_with_remote_text_cleanup()
{
	relay_cleanup
}

atf_test_case bounce_to_a_remote_sender_is_relayed cleanup
bounce_to_a_remote_sender_is_relayed_head()
{
	atf_set descr "The bounce for a remote sender goes to the sender's" \
	    "MX from the null sender, with the remote reply in it"
}
bounce_to_a_remote_sender_is_relayed_body()
{
	dns_start <<'ZONE'
hard IN MX 10 mx.hard
mx.hard IN A 127.0.0.2
back IN MX 10 mx.back
mx.back IN A 127.0.0.3
ZONE
	relay_config hard.test back.test </dev/null
	mkdir dump
	[ "$(id -u)" -ne 0 ] || chown nobody dump
	sink_start 127.0.0.2 "$(mxport)" -f rcpt
	sink_start 127.0.0.3 "$(mxport)" -d "$(pwd)/dump/msg-"
	smtpd_start
	send alice@back.test nobody@hard.test
	wait_log "to=<alice@back.test> relay=mx.back.test result=delivered" ||
	    atf_fail "the bounce was not relayed"
	atf_check -s exit:0 -o ignore grep -F "MAIL FROM:<>" \
	    sink-127.0.0.3.log
	atf_check -s exit:0 -o match:"^Diagnostic-Code: smtp; 5[0-9][0-9] " \
	    -o match:"^Remote-MTA: dns; mx.hard.test$" \
	    -o match:"^Final-Recipient: rfc822; nobody@hard.test$" cat dump/*
}
bounce_to_a_remote_sender_is_relayed_cleanup()
{
	relay_cleanup
}

atf_test_case null_mx_and_nxdomain_bounce_without_retry cleanup
null_mx_and_nxdomain_bounce_without_retry_head()
{
	atf_set descr "A domain with a null MX fails with 556 5.1.10 and" \
	    "one that does not exist with 550 5.1.2, at once, no retry"
}
null_mx_and_nxdomain_bounce_without_retry_body()
{
	dns_start <<'ZONE'
nullmx IN MX 0 .
ZONE
	relay_config nullmx.test nx.test </dev/null
	smtpd_start
	send "$MAILUSER@localhost" a@nullmx.test
	send "$MAILUSER@localhost" b@nx.test
	wait_log "to=<a@nullmx.test> result=permfail error=\"556 5.1.10" ||
	    atf_fail "no null MX failure"
	wait_log "to=<b@nx.test> result=permfail error=\"550 5.1.2" ||
	    atf_fail "no NXDOMAIN failure"
	wait_mail 2 || atf_fail "not two bounces"
	atf_check -s exit:1 grep "result=tempfail" smtpd.log
	atf_check -s exit:0 -o match:"Status: 5.1.10" \
	    cat $(maildir_messages)
}
null_mx_and_nxdomain_bounce_without_retry_cleanup()
{
	relay_cleanup
}

atf_test_case mail_to_this_host_is_a_loop cleanup
mail_to_this_host_is_a_loop_head()
{
	atf_set descr "A domain whose only MX is this host (its listener's" \
	    "address and port) bounces with 5.4.6, never connects"
}
mail_to_this_host_is_a_loop_body()
{
	dns_start <<'ZONE'
self IN MX 10 mx.self
mx.self IN A 127.0.0.1
ZONE
	relay_config self.test </dev/null
	# Mail exchangers are reached on this smtpd's own port.
	sed -i "s/^mta mx-port .*/mta mx-port $(port)/" smtpd.conf
	smtpd_start
	send "$MAILUSER@localhost" a@self.test
	wait_log "to=<a@self.test> result=permfail error=\"554 5.4.6" ||
	    atf_fail "no loop detected"
	wait_mail || atf_fail "no bounce"
	atf_check -s exit:1 grep "event=connected" smtpd.log
}
mail_to_this_host_is_a_loop_cleanup()
{
	relay_cleanup
}

atf_test_case hundred_messages_few_connections cleanup
hundred_messages_few_connections_head()
{
	atf_set descr "100 messages for one host are all delivered over a" \
	    "handful of connections (counted at the receiver)"
}
hundred_messages_few_connections_body()
{
	dns_start <<'ZONE'
many IN MX 10 mx.many
mx.many IN A 127.0.0.2
ZONE
	relay_config many.test <<'CONF'
mta limit max-sessions-per-host 4
CONF
	sink_start 127.0.0.2 "$(mxport)"
	smtpd_start
	send_many 100 "$MAILUSER@localhost" someone@many.test
	wait_log "relay=mx.many.test result=delivered" 100 ||
	    atf_fail "not all delivered: $(grep -c result=delivered smtpd.log)"
	n=$(grep -c "connect (AF_INET" sink-127.0.0.2.log)
	echo "connections: $n"
	[ "$n" -le 10 ] || atf_fail "$n connections for 100 messages"
	atf_check_equal 100 "$(grep -c '^smtp-sink: MAIL FROM' \
	    sink-127.0.0.2.log)"
	# A host at its session limit makes mail wait, not fail.
	atf_check -s exit:1 grep "result=tempfail" smtpd.log
}
hundred_messages_few_connections_cleanup()
{
	relay_cleanup
}

atf_test_case dead_host_few_attempts cleanup
dead_host_few_attempts_head()
{
	atf_set descr "Many messages for a host that refuses connections" \
	    "make few connection attempts: the host is backed off"
}
dead_host_few_attempts_body()
{
	dns_start <<'ZONE'
dead IN MX 10 mx.dead
mx.dead IN A 127.0.0.2
ZONE
	relay_config dead.test </dev/null
	smtpd_start
	send_many 50 "$MAILUSER@localhost" someone@dead.test
	wait_log "to=<someone@dead.test> result=tempfail" 50 ||
	    atf_fail "not every message failed for now"
	n=$(grep -c "^mta session=.* state=connect result=error" smtpd.log)
	[ "$n" -ge 1 ] && [ "$n" -le 2 ] || atf_fail "$n connection attempts"
	# smtpctl shows why each waits, and when it is tried again.
	"$SMTPCTL" -s smtpd.sock show queue > queue
	atf_check -s exit:0 -o match:"	(now|in [0-9]+s)	451 4.4.1 " \
	    head -n 1 queue
	atf_check -s exit:0 -o match:"^route	out	dead.test	ready	" \
	    -o match:"^host	127.0.0.2	backoff	sessions=0	failures=$n$" \
	    "$SMTPCTL" -s smtpd.sock show hosts
}
dead_host_few_attempts_cleanup()
{
	relay_cleanup
}

atf_test_case tls_required_never_sent_in_clear cleanup
tls_required_never_sent_in_clear_head()
{
	atf_set descr "smtp+tls:// to a host that does not offer STARTTLS:" \
	    "deferred, and no MAIL is ever sent in the clear"
}
tls_required_never_sent_in_clear_body()
{
	dns_start </dev/null
	SINKPORT=$(free_port)
	relay_config <<CONF
action "tls" relay host smtp+tls://127.0.0.2:$SINKPORT
match from any for domain "tls.example" action "tls"
CONF
	sink_start 127.0.0.2 "$SINKPORT"
	smtpd_start
	send "$MAILUSER@localhost" someone@tls.example
	wait_log "to=<someone@tls.example> result=tempfail .*STARTTLS" ||
	    atf_fail "not deferred"
	atf_check -s exit:0 -o ignore grep "EHLO" sink-127.0.0.2.log
	atf_check -s exit:1 grep "MAIL FROM" sink-127.0.0.2.log
}
tls_required_never_sent_in_clear_cleanup()
{
	relay_cleanup
}

# receiver_start: a second smtpd in recv/, with STARTTLS and AUTH,
# delivering mail for remote.example to its own maildir; alice's
# password is "secret".
receiver_start()
{
	mkdir -p recv
	(
		cd recv || exit 1
		make_pki recv
		add_creds creds alice secret
		W=$(pwd)
		smtpd_config <<CONF
pki recv cert "$W/recv.crt"
pki recv key "$W/recv.key"
table creds file:$W/creds
match auth from any for domain "remote.example" action "local"
CONF
		# The listener, once its table is known, offers TLS and AUTH.
		sed -i "/^listen on /d" smtpd.conf
		echo "listen on 127.0.0.1 port $(port) tls pki recv" \
		    "auth <creds>" >> smtpd.conf
		smtpd_start
	) || atf_fail "the receiving smtpd did not start"
}

receiver_cleanup()
{
	[ -d recv ] && (cd recv && smtpd_cleanup)
	return 0
}

atf_test_case smarthost_with_starttls_and_auth cleanup
smarthost_with_starttls_and_auth_head()
{
	atf_set descr "The OpenSMTPD smarthost line works unchanged:" \
	    "STARTTLS, then AUTH with the label's credentials; the" \
	    "receiver logs the login and delivers"
}
smarthost_with_starttls_and_auth_body()
{
	dns_start </dev/null
	receiver_start
	echo "user alice:secret" > creds
	chmod 600 creds
	relay_config <<CONF
table creds file:$(pwd)/creds
action "smarthost" relay host smtp+tls://user@127.0.0.1:$(cat recv/port) auth <creds>
match from any for domain "remote.example" action "smarthost"
CONF
	smtpd_start
	send "$MAILUSER@localhost" "$MAILUSER@remote.example"
	wait_log "to=<$MAILUSER@remote.example> relay=127.0.0.1 result=delivered" ||
	    atf_fail "not delivered: $(grep relay smtpd.log)"
	atf_check -s exit:0 -o ignore grep -E "event=tls .*verified=no" \
	    smtpd.log
	atf_check -s exit:0 -o ignore grep "event=login label=user" smtpd.log
	atf_check -s exit:0 -o ignore grep -E "user=alice .*result=ok|result=ok.* user=alice" \
	    recv/smtpd.log
	(cd recv && wait_mail) || atf_fail "the receiver delivered nothing"
	atf_check -s exit:1 grep secret smtpd.log
}
smarthost_with_starttls_and_auth_cleanup()
{
	receiver_cleanup
	relay_cleanup
}

atf_test_case tls_verify_refuses_self_signed cleanup
tls_verify_refuses_self_signed_head()
{
	atf_set descr "tls verify against a self-signed certificate: the" \
	    "handshake fails, the mail waits and is never sent"
}
tls_verify_refuses_self_signed_body()
{
	dns_start </dev/null
	receiver_start
	relay_config <<CONF
action "strict" relay host smtp://127.0.0.1:$(cat recv/port) tls verify
match from any for domain "remote.example" action "strict"
CONF
	smtpd_start
	send "$MAILUSER@localhost" "$MAILUSER@remote.example"
	wait_log "to=<$MAILUSER@remote.example> result=tempfail .*TLS handshake" ||
	    atf_fail "not deferred for the certificate"
	atf_check -s exit:1 grep "result=delivered" smtpd.log
	atf_check -s exit:1 grep -i "mail from" recv/smtpd.log
}
tls_verify_refuses_self_signed_cleanup()
{
	receiver_cleanup
	relay_cleanup
}

atf_test_case hostile_servers_leave_the_daemon_up cleanup
hostile_servers_leave_the_daemon_up_head()
{
	atf_set descr "Servers that send an endless line, megabytes of" \
	    "reply, a NUL, no greeting, lines that are no reply or TLS" \
	    "garbage cost their mail a retry; the mta stays up and" \
	    "delivers elsewhere"
}
hostile_servers_leave_the_daemon_up_body()
{
	dns_start <<'ZONE'
endless IN A 127.0.0.2
huge IN A 127.0.0.3
nul IN A 127.0.0.4
silent IN A 127.0.0.5
tlsgarbage IN A 127.0.0.6
badreply IN A 127.0.0.7
good IN A 127.0.0.8
ZONE
	relay_config endless.test huge.test nul.test silent.test \
	    tlsgarbage.test badreply.test good.test <<'CONF'
mta limit command-timeout 2s
CONF
	i=2
	for mode in endless huge nul silent tlsgarbage badreply; do
		fake_start 127.0.0.$i "$(mxport)" $mode
		i=$((i + 1))
	done
	sink_start 127.0.0.8 "$(mxport)"
	smtpd_start
	for mode in endless huge nul silent tlsgarbage badreply; do
		send "$MAILUSER@localhost" "someone@$mode.test"
	done
	for mode in endless huge nul silent tlsgarbage badreply; do
		wait_log "to=<someone@$mode.test> result=tempfail" ||
		    atf_fail "no temporary failure for the $mode server"
	done
	send "$MAILUSER@localhost" someone@good.test
	wait_log "to=<someone@good.test> relay=good.test result=delivered" ||
	    atf_fail "the good host got nothing"
	atf_check -s exit:1 grep -E "fatal|lost mta|exiting" smtpd.log
	# What a server said reaches the log cleaned: no NUL, no CR.
	atf_check -s exit:1 grep -P "[\x00\r]" smtpd.log
	[ -n "$(child_pid mta)" ] || atf_fail "the mta is gone"
}
hostile_servers_leave_the_daemon_up_cleanup()
{
	relay_cleanup
}

atf_test_case kill_during_relay_loses_nothing cleanup
kill_during_relay_loses_nothing_head()
{
	atf_set descr "smtpd killed (SIGKILL, every process) while it" \
	    "relays 40 messages, then started again: every message arrives," \
	    "and only those in flight at the kill may arrive twice"
	atf_set timeout 120
}
kill_during_relay_loses_nothing_body()
{
	dns_start <<'ZONE'
k IN MX 10 mx.k
mx.k IN A 127.0.0.2
ZONE
	relay_config k.test <<'CONF'
mta limit max-sessions-per-domain 2
CONF
	fake_start 127.0.0.2 "$(mxport)" slow
	# Its own process group, to be killed whole.
	setsid "$SMTPD" -d -v -f smtpd.conf >smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" || atf_fail "smtpd did not start"
	atf_check -s exit:0 -o ignore "$SMTPCTL" -s smtpd.sock pause mta
	send_many 40 "$MAILUSER@localhost" someone@k.test
	atf_check -s exit:0 -o ignore "$SMTPCTL" -s smtpd.sock resume mta
	wait_log "relay=mx.k.test result=delivered" 5 ||
	    atf_fail "nothing delivered"
	kill -KILL -- "-$(cat smtpd.pid)"
	wait_gone "$(cat smtpd.pid)"
	sent=$(grep -c "^message" fake-127.0.0.2.log)
	[ "$sent" -lt 40 ] || atf_fail "all sent before the kill"
	setsid "$SMTPD" -d -v -f smtpd.conf >>smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" 2 || atf_fail "smtpd did not start again"
	wait_until sh -c '[ -z "$(ls spool/queue)" ]' ||
	    atf_fail "the queue did not empty"
	sed -n 's/^message .* subject=//p' fake-127.0.0.2.log | sort > got
	atf_check_equal 40 "$(sort -u got | wc -l)"
	dups=$(($(wc -l < got) - 40))
	echo "duplicates: $dups"
	[ "$dups" -le 2 ] || atf_fail "$dups duplicates for 2 sessions"
}
kill_during_relay_loses_nothing_cleanup()
{
	[ -f smtpd.pid ] && kill -KILL -- "-$(cat smtpd.pid)" 2>/dev/null
	relay_cleanup
}

atf_test_case what_the_peer_cannot_take_fails_before_sending cleanup
what_the_peer_cannot_take_fails_before_sending_head()
{
	atf_set descr "A message larger than the peer's SIZE fails with" \
	    "5.3.4 and a UTF-8 address to a peer without SMTPUTF8 with" \
	    "5.6.7, neither sent; a peer that refuses EHLO gets HELO"
}
what_the_peer_cannot_take_fails_before_sending_body()
{
	dns_start <<'ZONE'
small IN A 127.0.0.2
old IN A 127.0.0.3
ZONE
	relay_config small.test old.test </dev/null
	fake_start 127.0.0.2 "$(mxport)" small
	fake_start 127.0.0.3 "$(mxport)" noehlo
	smtpd_start
	python3 - "$(port)" "$MAILUSER" <<'PY' || atf_fail "not accepted"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
frm = sys.argv[2] + "@localhost"
s.sendmail(frm, ["big@small.test"], "Subject: big\r\n\r\n" +
    ("x" * 70 + "\r\n") * 400)
s.sendmail(frm, ["fine@small.test"], "Subject: fine\r\n\r\nsmall\r\n")
s.sendmail(frm, ["j\u00fcrgen@old.test"], "Subject: utf8\r\n\r\nb\r\n",
    mail_options=["SMTPUTF8"])
s.sendmail(frm, ["plain@old.test"], "Subject: helo\r\n\r\nb\r\n")
s.quit()
PY
	wait_log "to=<big@small.test> result=permfail error=\"552 5.3.4" ||
	    atf_fail "the big message was not refused"
	wait_log "to=<fine@small.test> relay=small.test result=delivered" ||
	    atf_fail "the small message was not delivered"
	wait_log "result=permfail error=\"553 5.6.7" ||
	    atf_fail "the UTF-8 address was not refused"
	wait_log "to=<plain@old.test> relay=old.test result=delivered" ||
	    atf_fail "nothing delivered after HELO"
	atf_check_equal 1 "$(grep -c '^cmd MAIL' fake-127.0.0.2.log)"
	atf_check -s exit:0 -o ignore grep "^cmd HELO" fake-127.0.0.3.log
	atf_check_equal 1 "$(grep -c '^cmd MAIL' fake-127.0.0.3.log)"
	wait_mail 2 || atf_fail "not two bounces"
}
what_the_peer_cannot_take_fails_before_sending_cleanup()
{
	relay_cleanup
}

atf_test_case dsn_parameters_passed_on cleanup
dsn_parameters_passed_on_head()
{
	atf_set descr "NOTIFY, ORCPT, RET and ENVID go on to a peer that" \
	    "offers DSN; an address literal goes to that address"
}
dsn_parameters_passed_on_body()
{
	dns_start </dev/null
	relay_config <<'CONF'
match from any for any action "out"
CONF
	sink_start 127.0.0.2 "$(mxport)"
	smtpd_start
	python3 - "$(port)" "$MAILUSER" <<'PY' || atf_fail "not accepted"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo()
s.sendmail(sys.argv[2] + "@localhost", ["a@[127.0.0.2]"],
    "Subject: dsn\r\n\r\nb\r\n", mail_options=["RET=HDRS", "ENVID=e1"],
    rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@y.example"])
s.quit()
PY
	wait_log "to=<a@\[127.0.0.2\]> relay=\[127.0.0.2\] result=delivered" ||
	    atf_fail "not delivered to the address literal"
	atf_check -s exit:0 -o ignore grep -F \
	    "MAIL FROM:<$MAILUSER@localhost> RET=HDRS ENVID=e1" \
	    sink-127.0.0.2.log
	atf_check -s exit:0 -o ignore grep -F \
	    "RCPT TO:<a@[127.0.0.2]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.example" \
	    sink-127.0.0.2.log
}
dsn_parameters_passed_on_cleanup()
{
	relay_cleanup
}

atf_test_case relays_into_postfix_over_starttls cleanup
relays_into_postfix_over_starttls_head()
{
	atf_set descr "Postfix's smtpd as the receiving MX: the message goes" \
	    "over STARTTLS and lands in its maildir"
	atf_set require.user root
}
relays_into_postfix_over_starttls_body()
{
	dns_start <<'ZONE'
pf IN MX 10 mx.pf
mx.pf IN A 127.0.0.1
ZONE
	relay_config pf.test </dev/null
	postfix_start "$(mxport)" pf.test
	smtpd_start
	send "$MAILUSER@localhost" someone@pf.test
	wait_log "to=<someone@pf.test> relay=mx.pf.test result=delivered" ||
	    atf_fail "not delivered: $(tail -n 5 postfix/maillog)"
	atf_check -s exit:0 -o ignore grep -E "event=tls protocol=TLS" \
	    smtpd.log
	atf_check -s exit:0 -o ignore grep "TLS connection established" \
	    postfix/maillog
	wait_until sh -c 'ls postfix/vmail/box/new | grep -q .' ||
	    atf_fail "nothing in Postfix's maildir"
	atf_check -s exit:0 -o ignore grep -x \
	    ".a line that starts with a dot" postfix/vmail/box/new/*
}
relays_into_postfix_over_starttls_cleanup()
{
	postfix_cleanup
	relay_cleanup
}

atf_test_case local_mail_not_held_up_by_a_silent_host cleanup
local_mail_not_held_up_by_a_silent_host_head()
{
	atf_set descr "70 messages waiting on a host that never greets do" \
	    "not keep a local message from its mailbox"
}
local_mail_not_held_up_by_a_silent_host_body()
{
	dns_start <<'ZONE'
silent IN A 127.0.0.2
ZONE
	relay_config silent.test <<'CONF'
mta limit command-timeout 5m
mta limit max-sessions-per-domain 1
CONF
	fake_start 127.0.0.2 "$(mxport)" silent
	smtpd_start
	send_many 70 "$MAILUSER@localhost" someone@silent.test
	wait_until grep -q "^connect" fake-127.0.0.2.log ||
	    atf_fail "the silent host was not tried"
	send "$MAILUSER@localhost" "$MAILUSER@localhost"
	wait_mail || atf_fail "the local message waited"
}
local_mail_not_held_up_by_a_silent_host_cleanup()
{
	relay_cleanup
}

atf_test_case domain_table_and_source_address cleanup
domain_table_and_source_address_head()
{
	atf_set descr "domain <table> sends a listed domain to the host it" \
	    "names, without MX; src picks the local address"
}
domain_table_and_source_address_body()
{
	dns_start <<'ZONE'
gw IN A 127.0.0.2
ZONE
	relay_config <<'CONF'
table gateways { mapped.example = gw.test }
action "gw" relay domain <gateways> src 127.0.0.7
match from any for domain "mapped.example" action "gw"
CONF
	sink_start 127.0.0.2 "$(mxport)"
	smtpd_start
	send "$MAILUSER@localhost" someone@mapped.example
	wait_log "to=<someone@mapped.example> relay=gw.test result=delivered" ||
	    atf_fail "not delivered through the mapped host"
	atf_check -s exit:0 -o ignore grep -F "connect (AF_INET 127.0.0.7)" \
	    sink-127.0.0.2.log
}
domain_table_and_source_address_cleanup()
{
	relay_cleanup
}

atf_test_case pause_mta_holds_outbound cleanup
pause_mta_holds_outbound_head()
{
	atf_set descr "smtpctl pause mta keeps relay envelopes in the" \
	    "queue; resume mta lets them go"
}
pause_mta_holds_outbound_body()
{
	dns_start <<'ZONE'
p IN MX 10 mx.p
mx.p IN A 127.0.0.2
ZONE
	relay_config p.test </dev/null
	sink_start 127.0.0.2 "$(mxport)"
	smtpd_start
	atf_check -s exit:0 -o ignore "$SMTPCTL" -s smtpd.sock pause mta
	send "$MAILUSER@localhost" someone@p.test
	wait_log "result=queued" || atf_fail "not queued"
	"$SMTPCTL" -s smtpd.sock show queue > queue
	atf_check -s exit:0 -o match:"someone@p.test	waiting" cat queue
	atf_check -s exit:1 grep "event=connected" smtpd.log
	atf_check -s exit:0 -o ignore "$SMTPCTL" -s smtpd.sock resume mta
	wait_log "to=<someone@p.test> relay=mx.p.test result=delivered" ||
	    atf_fail "not delivered after resume"
}
pause_mta_holds_outbound_cleanup()
{
	relay_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case first_mx_down_second_gets_it
	atf_add_test_case opensmtpd_relay_line_works_unchanged
	atf_add_test_case one_of_three_recipients_later
	atf_add_test_case permanent_failure_bounces_with_remote_text
	atf_add_test_case bounce_to_a_remote_sender_is_relayed
	atf_add_test_case null_mx_and_nxdomain_bounce_without_retry
	atf_add_test_case mail_to_this_host_is_a_loop
	atf_add_test_case hundred_messages_few_connections
	atf_add_test_case dead_host_few_attempts
	atf_add_test_case tls_required_never_sent_in_clear
	atf_add_test_case smarthost_with_starttls_and_auth
	atf_add_test_case tls_verify_refuses_self_signed
	atf_add_test_case hostile_servers_leave_the_daemon_up
	atf_add_test_case kill_during_relay_loses_nothing
	atf_add_test_case what_the_peer_cannot_take_fails_before_sending
	atf_add_test_case dsn_parameters_passed_on
	atf_add_test_case relays_into_postfix_over_starttls
	atf_add_test_case local_mail_not_held_up_by_a_silent_host
	atf_add_test_case domain_table_and_source_address
	atf_add_test_case pause_mta_holds_outbound
}
