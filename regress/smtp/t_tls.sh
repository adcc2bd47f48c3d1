#! /usr/bin/env atf-sh
#
# TLS on the SMTP listener: STARTTLS on a "tls" listener, TLS from the
# first byte on an "smtps" one, "tls-require", the state reset after the
# handshake, refusal of commands injected behind STARTTLS, clients that
# do not speak TLS, and the configurations smtpd -n refuses.

. "$(atf_get_srcdir)/../lib.sh"

# tls_config LISTEN-OPTIONS...: smtpd.conf with a pki "mx" (a fresh
# self-signed certificate; KEY replaces the key's path) and one listener
# on a free port with LISTEN-OPTIONS; lines on stdin are appended.
tls_config()
{
	W=$(pwd)
	PORT=$(free_port)
	echo "$PORT" > port
	[ -f mx.crt ] || make_pki mx
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
pki mx cert "$W/mx.crt"
pki mx key "${KEY:-$W/mx.key}"
listen on 127.0.0.1 port $PORT $*
action "local" maildir "$W/Maildir"
match from any for local action "local"
CONF
	[ -t 0 ] || cat >> smtpd.conf
}

# The TLS version and cipher the log names for the first session.
log_tls_version()
{
	sed -n 's/.* tls=\([^ ]*\) cipher=.*/\1/p' smtpd.log | head -n 1
}

log_tls_cipher()
{
	sed -n 's/.* tls=[^ ]* cipher=\([^ ]*\).*/\1/p' smtpd.log | head -n 1
}

# talk [--smtps] < script: a dialog that must succeed; its transcript
# is left in the file "transcript", its complaint is the failure.
talk()
{
	dialog "$@" > transcript 2> dialog.err ||
	    atf_fail "dialog: $(tr '\n' ' ' < dialog.err)"
}

# How many lines of a dialog transcript match an extended regex.
transcript_count()
{
	grep -cE -- "$1" "$2" || true
}

atf_test_case starttls_advertised_only_before_tls cleanup
starttls_advertised_only_before_tls_head()
{
	atf_set descr "A tls listener offers STARTTLS in the clear and not" \
	    "inside TLS, and forgets the EHLO given before the handshake"
}
starttls_advertised_only_before_tls_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	talk <<'EOF'
< ^220
> EHLO client.test
<* ^250-STARTTLS$
> STARTTLS
< ^220 2.0.0 Ready to start TLS$
starttls
# RFC 3207 4.2: the EHLO before TLS counts no more.
> MAIL FROM:<a@example.org>
< ^503 5.5.1
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<a@example.org>
< ^250 2.1.0
> QUIT
< ^221
EOF
	# Two EHLO replies, STARTTLS only in the first.
	atf_check_equal 2 "$(transcript_count '^<- 250-.* Hello client.test' \
	    transcript)"
	sed -n '1,/^-> STARTTLS$/p' transcript > before
	sed -n '/^-> STARTTLS$/,$p' transcript > after
	atf_check -s exit:0 -o ignore grep -x '<- 250-STARTTLS' before
	atf_check -s exit:1 -o empty grep -E '^<- 250.STARTTLS' after
}
starttls_advertised_only_before_tls_cleanup()
{
	smtpd_cleanup
}

atf_test_case starttls_message_received_with_esmtps cleanup
starttls_message_received_with_esmtps_head()
{
	atf_set descr "A message sent over STARTTLS is delivered; its" \
	    "Received: header says ESMTPS and names the TLS version and" \
	    "cipher the log names"
}
starttls_message_received_with_esmtps_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"250 2.0.0 Ok: queued as" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tls \
	    --from sender@example.org --to "$MAILUSER@localhost" \
	    --header "Message-ID: <tls-1@test>" --body "over tls"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:" tls=TLSv1\.[23] cipher=[A-Za-z0-9_-]+$" \
	    cat smtpd.log
	version=$(log_tls_version)
	cipher=$(log_tls_cipher)
	msg=$(maildir_messages)
	atf_check_equal 1 "$(echo "$msg" | grep -c .)"
	atf_check -s exit:0 -o match:"^Message-ID: <tls-1@test>" cat "$msg"
	atf_check -s exit:0 -o match:"with ESMTPS id" cat "$msg"
	atf_check -s exit:0 \
	    -o match:"^[[:space:]]+\(version=$version cipher=$cipher\)$" \
	    cat "$msg"
	atf_check -s exit:0 -o match:"version=TLSv1\.[23] " cat "$msg"
}
starttls_message_received_with_esmtps_cleanup()
{
	smtpd_cleanup
}

atf_test_case smtps_banner_inside_tls cleanup
smtps_banner_inside_tls_head()
{
	atf_set descr "On an smtps listener the 220 banner comes inside TLS," \
	    "STARTTLS is not offered, and a message is delivered with ESMTPS"
}
smtps_banner_inside_tls_body()
{
	tls_config smtps pki mx </dev/null
	smtpd_start
	talk --smtps <<'EOF'
< ^220 \S+ ESMTP$
> EHLO client.test
< ^250 PIPELINING$
> STARTTLS
< ^503 5.5.1 TLS already active$
> QUIT
< ^221
EOF
	atf_check_equal 0 "$(transcript_count '^<- 250.STARTTLS' transcript)"
	atf_check -s exit:0 -o match:"250 2.0.0 Ok: queued as" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tlsc \
	    --from sender@example.org --to "$MAILUSER@localhost" \
	    --header "Message-ID: <smtps-1@test>" --body "over smtps"
	wait_log "result=delivered" || atf_fail "not delivered"
	msg=$(maildir_messages)
	atf_check -s exit:0 -o match:"^Message-ID: <smtps-1@test>" cat "$msg"
	atf_check -s exit:0 -o match:"with ESMTPS id" cat "$msg"
	atf_check -s exit:0 -o match:"\(version=TLSv1\.[23] cipher=" cat "$msg"
}
smtps_banner_inside_tls_cleanup()
{
	smtpd_cleanup
}

atf_test_case smtps_plaintext_client_gets_no_banner cleanup
smtps_plaintext_client_gets_no_banner_head()
{
	atf_set descr "An smtps listener sends no 220 in the clear: not to a" \
	    "client that waits silently (until the command timeout closes" \
	    "it), nor to one that talks plain SMTP"
}
smtps_plaintext_client_gets_no_banner_body()
{
	tls_config smtps pki mx <<'CONF'
smtp limit command-timeout 3s
CONF
	smtpd_start
	# Silent: no banner arrives before the daemon gives up and closes.
	atf_check -s exit:0 -o match:"^closed$" python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $(port)), timeout=30)
got = b''
while True:
    try:
        chunk = s.recv(4096)
    except ConnectionResetError:
        break
    if not chunk:
        break
    got += chunk
assert not got.startswith(b'220'), got
assert b'220 ' not in got and b'ESMTP' not in got, got
print('closed')
"
	wait_log "result=closed reason=timeout" ||
	    atf_fail "the silent client was not closed"
	# Plain SMTP: what comes back (a TLS alert, if anything) is no banner.
	atf_check -s exit:0 -o match:"^closed$" python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $(port)), timeout=30)
s.sendall(b'EHLO client.test\r\n')
got = b''
while True:
    try:
        chunk = s.recv(4096)
    except ConnectionResetError:
        break
    if not chunk:
        break
    got += chunk
assert not got.startswith(b'220'), got
assert b'220 ' not in got and b'ESMTP' not in got, got
print('closed')
"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
smtps_plaintext_client_gets_no_banner_cleanup()
{
	smtpd_cleanup
}

atf_test_case tls_require_refuses_mail_in_the_clear cleanup
tls_require_refuses_mail_in_the_clear_head()
{
	atf_set descr "A tls-require listener answers MAIL before STARTTLS" \
	    "with 530 5.7.0 and takes the message after it"
}
tls_require_refuses_mail_in_the_clear_body()
{
	tls_config tls-require pki mx </dev/null
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250-STARTTLS$
> MAIL FROM:<a@example.org>
< ^530 5.7.0 Must issue a STARTTLS command first$
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
< ^250 PIPELINING$
> MAIL FROM:<a@example.org>
< ^250 2.1.0
> RCPT TO:<$MAILUSER@localhost>
< ^250 2.1.5
> DATA
< ^354
> Message-ID: <require-1@test>
>> b"\r\n"
> required tls
> .
< ^250 2.0.0 Ok: queued as
> QUIT
< ^221
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	msg=$(maildir_messages)
	atf_check -s exit:0 -o match:"^Message-ID: <require-1@test>" cat "$msg"
	atf_check -s exit:0 -o match:"with ESMTPS id" cat "$msg"
	# swaks in the clear gets the same 530.
	atf_check -s not-exit:0 -o match:"<\*\* 530 5.7.0" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" \
	    --to "$MAILUSER@localhost"
}
tls_require_refuses_mail_in_the_clear_cleanup()
{
	smtpd_cleanup
}

atf_test_case starttls_injection_refused cleanup
starttls_injection_refused_head()
{
	atf_set descr "A command sent in the clear behind STARTTLS in one" \
	    "write (CVE-2011-0411) is never executed: 554 and the" \
	    "connection closes"
}
starttls_injection_refused_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	talk <<'EOF'
< ^220
> EHLO client.test
< ^250 PIPELINING$
>> b"STARTTLS\r\nRSET\r\n"
< ^554 5.5.0 Commands may not follow STARTTLS before its reply$
eof
EOF
	atf_check_equal 0 "$(transcript_count '^<- 220 2.0.0' transcript)"
	atf_check_equal 0 "$(transcript_count '^<- 250 2.0.0' transcript)"
	wait_log "reason=pipelined-after-STARTTLS" ||
	    atf_fail "refusal not logged"
	atf_check -s exit:1 -o empty grep 'command="RSET"' smtpd.log
	atf_check -s exit:1 -o empty grep ' tls=' smtpd.log
}
starttls_injection_refused_cleanup()
{
	smtpd_cleanup
}

atf_test_case no_stray_reply_inside_tls cleanup
no_stray_reply_inside_tls_head()
{
	atf_set descr "After STARTTLS and the handshake, the first reply" \
	    "inside TLS is the one to the EHLO sent inside it"
}
no_stray_reply_inside_tls_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	# A stray reply (to a command from the clear) would be read by the
	# first step inside TLS and fail its pattern.
	talk <<'EOF'
< ^220
> EHLO client.test
< ^250 PIPELINING$
> NOOP
< ^250 2.0.0 Ok$
> STARTTLS
< ^220 2.0.0 Ready to start TLS$
starttls
> EHLO inside.test
<* ^250-\S+ Hello inside\.test \[127\.0\.0\.1\]$
> NOOP
< ^250 2.0.0 Ok$
> QUIT
< ^221 2.0.0 Bye$
eof
EOF
	# The line right after the EHLO inside TLS starts its reply.
	atf_check -s exit:0 -o match:"^<- 250-[^ ]+ Hello inside\.test " \
	    awk '/^-> EHLO inside.test$/ { getline; print; exit }' transcript
}
no_stray_reply_inside_tls_cleanup()
{
	smtpd_cleanup
}

atf_test_case starttls_without_tls_listener_is_502 cleanup
starttls_without_tls_listener_is_502_head()
{
	atf_set descr "A listener without tls neither offers STARTTLS nor" \
	    "accepts it (502 5.5.1), and the session goes on in the clear"
}
starttls_without_tls_listener_is_502_body()
{
	tls_config </dev/null
	smtpd_start
	talk <<'EOF'
< ^220
> EHLO client.test
< ^250 PIPELINING$
> STARTTLS
< ^502 5.5.1 Command not implemented$
> NOOP
< ^250 2.0.0 Ok$
> QUIT
< ^221
EOF
	atf_check_equal 0 "$(transcript_count '^<- 250.STARTTLS' transcript)"
}
starttls_without_tls_listener_is_502_cleanup()
{
	smtpd_cleanup
}

atf_test_case starttls_twice_is_503 cleanup
starttls_twice_is_503_head()
{
	atf_set descr "STARTTLS inside TLS gets 503 5.5.1 and the TLS" \
	    "session goes on"
}
starttls_twice_is_503_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	talk <<'EOF'
< ^220
> EHLO client.test
< ^250 PIPELINING$
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
< ^250 PIPELINING$
> STARTTLS
< ^503 5.5.1 TLS already active$
> NOOP
< ^250 2.0.0 Ok$
> QUIT
< ^221
EOF
}
starttls_twice_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case starttls_with_argument_is_501 cleanup
starttls_with_argument_is_501_head()
{
	atf_set descr "STARTTLS with an argument gets 501 and stays in the" \
	    "clear; a plain STARTTLS afterwards works"
}
starttls_with_argument_is_501_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	talk <<'EOF'
< ^220
> EHLO client.test
< ^250 PIPELINING$
> STARTTLS now
< ^501 5.5.4 STARTTLS takes no argument$
> NOOP
< ^250 2.0.0 Ok$
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
< ^250 PIPELINING$
> QUIT
< ^221
EOF
}
starttls_with_argument_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case garbage_handshake_dropped cleanup
garbage_handshake_dropped_head()
{
	atf_set descr "A client that sends garbage instead of a TLS" \
	    "handshake after 220 Ready is dropped; the daemon carries on"
}
garbage_handshake_dropped_body()
{
	tls_config tls pki mx </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^dropped$" python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $(port)), timeout=30)
f = s.makefile('rb')
def reply():
    while True:
        line = f.readline()
        assert line, 'closed too early'
        if line[3:4] != b'-':
            return line
assert reply().startswith(b'220 ')
s.sendall(b'EHLO client.test\r\n')
assert reply().startswith(b'250 ')
s.sendall(b'STARTTLS\r\n')
assert reply().startswith(b'220 2.0.0')
s.sendall(b'this is no TLS ClientHello at all\r\n' * 4)
while True:
    try:
        chunk = s.recv(4096)
    except ConnectionResetError:
        break
    if not chunk:
        break
print('dropped')
"
	wait_log 'error="TLS handshake: ' ||
	    atf_fail "no handshake error logged"
	wait_log "result=closed reason=error" ||
	    atf_fail "the session was not closed"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
	# A second, normal session is served.
	atf_check -s exit:0 -o match:"250 2.0.0 Ok: queued as" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tls \
	    --from sender@example.org --to "$MAILUSER@localhost" \
	    --body "after the garbage"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check_equal 1 "$(maildir_messages | grep -c .)"
}
garbage_handshake_dropped_cleanup()
{
	smtpd_cleanup
}

atf_test_case config_tls_listeners_accepted
config_tls_listeners_accepted_head()
{
	atf_set descr "smtpd -n accepts tls, tls-require and smtps with a pki" \
	    "whose files exist (the refusals below differ from these only" \
	    "in what they break)"
}
config_tls_listeners_accepted_body()
{
	for opts in "tls pki mx" "tls-require pki mx" "smtps pki mx"; do
		tls_config $opts </dev/null
		atf_check -s exit:0 -e match:"configuration OK" \
		    "$SMTPD" -n -f smtpd.conf
	done
}

atf_test_case config_tls_without_pki_refused
config_tls_without_pki_refused_head()
{
	atf_set descr "smtpd -n refuses tls, tls-require or smtps without a pki"
}
config_tls_without_pki_refused_body()
{
	why="tls, tls-require and smtps need a pki"
	for opts in tls tls-require smtps; do
		tls_config $opts </dev/null
		atf_check -s exit:1 -e match:"smtpd.conf:5: $why" \
		    "$SMTPD" -n -f smtpd.conf
	done
}

atf_test_case config_unknown_pki_refused
config_unknown_pki_refused_head()
{
	atf_set descr "smtpd -n refuses a listener naming a pki not defined"
}
config_unknown_pki_refused_body()
{
	tls_config tls pki nosuch </dev/null
	atf_check -s exit:1 -e match:"smtpd.conf:5: no such pki: nosuch" \
	    "$SMTPD" -n -f smtpd.conf
}

atf_test_case config_missing_key_refused
config_missing_key_refused_head()
{
	atf_set descr "smtpd -n refuses a pki whose key file does not exist," \
	    "naming the pki, the path and the error"
}
config_missing_key_refused_body()
{
	KEY="$(pwd)/missing.key" tls_config tls pki mx </dev/null
	atf_check -s exit:1 \
	    -e match:"pki mx: $(pwd)/missing.key: No such file or directory" \
	    "$SMTPD" -n -f smtpd.conf
}

atf_test_case config_smtps_with_tls_refused
config_smtps_with_tls_refused_head()
{
	atf_set descr "smtpd -n refuses smtps together with tls or tls-require"
}
config_smtps_with_tls_refused_body()
{
	for opts in "smtps tls pki mx" "tls-require smtps pki mx"; do
		tls_config $opts </dev/null
		atf_check -s exit:1 \
		    -e match:"smtpd.conf:5: smtps and tls exclude each other" \
		    "$SMTPD" -n -f smtpd.conf
	done
}

atf_init_test_cases()
{
	atf_add_test_case starttls_advertised_only_before_tls
	atf_add_test_case starttls_message_received_with_esmtps
	atf_add_test_case smtps_banner_inside_tls
	atf_add_test_case smtps_plaintext_client_gets_no_banner
	atf_add_test_case tls_require_refuses_mail_in_the_clear
	atf_add_test_case starttls_injection_refused
	atf_add_test_case no_stray_reply_inside_tls
	atf_add_test_case starttls_without_tls_listener_is_502
	atf_add_test_case starttls_twice_is_503
	atf_add_test_case starttls_with_argument_is_501
	atf_add_test_case garbage_handshake_dropped
	atf_add_test_case config_tls_listeners_accepted
	atf_add_test_case config_tls_without_pki_refused
	atf_add_test_case config_unknown_pki_refused
	atf_add_test_case config_missing_key_refused
	atf_add_test_case config_smtps_with_tls_refused
}
