#! /usr/bin/env atf-sh
#
# SMTP AUTH (RFC 4954) against a credentials table: offered only inside
# TLS unless auth-plaintext says otherwise, PLAIN and LOGIN with their
# error replies, relaying for authenticated clients, the failure limits
# per network and per user, a client flooding while its failure is
# held back, passwords kept out of the log, and every accepted hash
# kind.

. "$(atf_get_srcdir)/../lib.sh"

PASSWORD="c0rrect-H0rse-9471"
WRONG="wr0ng-B4ttery-5823"

# auth_config [LISTEN-OPTIONS...]: smtpd.conf with a pki "mx", the
# table "creds" (the file creds, made by the test), no delay on failed
# attempts and one listener on a free port, by default "tls pki mx auth
# <creds>"; lines on stdin are appended.
auth_config()
{
	W=$(pwd)
	PORT=$(free_port)
	echo "$PORT" > port
	[ -f mx.crt ] || make_pki mx
	[ $# -gt 0 ] || set -- tls pki mx auth-optional "<creds>"
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
pki mx cert "$W/mx.crt"
pki mx key "$W/mx.key"
table creds file:$W/creds
smtp limit auth-failure-delay 0s
listen on 127.0.0.1 port $PORT $*
action "local" maildir "$W/Maildir"
match from any for local action "local"
CONF
	[ -t 0 ] || cat >> smtpd.conf
}

# The base64 of an AUTH PLAIN response: NUL user NUL password.
plain_b64()
{
	python3 -c 'import base64, sys
print(base64.b64encode(b"\0" + sys.argv[1].encode() + b"\0" +
    sys.argv[2].encode()).decode())' "$1" "$2"
}

b64()
{
	python3 -c 'import base64, sys
print(base64.b64encode(sys.argv[1].encode()).decode())' "$1"
}

# mkhash PREFIX PASSWORD: a crypt(3) hash of that kind, from libcrypt.
mkhash()
{
	python3 - "$1" "$2" <<'PY'
import ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
    ctypes.c_char_p, ctypes.c_int]
lib.crypt.restype = ctypes.c_char_p
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
prefix = sys.argv[1].encode()
setting = lib.crypt_gensalt(prefix, 0, None, 0)
assert setting, "libcrypt cannot make %r" % prefix
h = lib.crypt(sys.argv[2].encode(), setting)
assert h and h.startswith(prefix), h
print(h.decode())
PY
}

# talk [--smtps] < script: a dialog with the first listener that must
# succeed; its transcript is left in the file "transcript", its
# complaint is the failure.
talk()
{
	dialog "$@" > transcript 2> dialog.err ||
	    atf_fail "dialog: $(tr '\n' ' ' < dialog.err)"
}

# talk_smtps PORT < script: the same with an smtps listener on PORT.
talk_smtps()
{
	python3 "$TOP/regress/smtpdialog.py" --smtps "$1" > transcript \
	    2> dialog.err ||
	    atf_fail "dialog: $(tr '\n' ' ' < dialog.err)"
}

# Greeting, EHLO, STARTTLS and the EHLO inside TLS.
TLS_PRELUDE='< ^220
> EHLO client.test
< ^250 PIPELINING$
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
< ^250 PIPELINING$'

# auth_plain_expect USER PASSWORD REGEX: one session over STARTTLS whose
# AUTH PLAIN gets a reply matching REGEX, then QUIT.
auth_plain_expect()
{
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 "$1" "$2")
< $3
> QUIT
< ^221
EOF
}

atf_test_case auth_offered_only_inside_tls cleanup
auth_offered_only_inside_tls_head()
{
	atf_set descr "AUTH is not offered in the clear and refused there" \
	    "with 538 5.7.11; inside TLS it is offered as PLAIN LOGIN"
}
auth_offered_only_inside_tls_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
< ^250 PIPELINING
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^538 5.7.11 Encryption required for requested authentication mechanism
> AUTH LOGIN
< ^538 5.7.11
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
<* ^250-AUTH PLAIN LOGIN\$
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0 Authentication successful\$
> EHLO client.test
< ^250 PIPELINING
> QUIT
< ^221
EOF
	sed -n '1,/^-> STARTTLS$/p' transcript > before
	sed -n '/^-> STARTTLS$/,/^-> AUTH PLAIN/p' transcript > inside
	sed -n '/^<- 235/,$p' transcript > after
	atf_check -s exit:1 -o empty grep '^<- .*AUTH' before
	# Offered inside TLS before the login, no more after it.
	atf_check_equal 1 "$(grep -c '^<- 250-AUTH PLAIN LOGIN$' inside)"
	atf_check -s exit:1 -o empty grep -E '^<- 250.AUTH' after
}
auth_offered_only_inside_tls_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_plain_initial_response cleanup
auth_plain_initial_response_head()
{
	atf_set descr "AUTH PLAIN with the right password in the initial" \
	    "response gets 235 2.7.0; the log names the user"
}
auth_plain_initial_response_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	auth_plain_expect alice "$PASSWORD" \
	    '^235 2.7.0 Authentication successful$'
	atf_check -s exit:0 -o match:"user=alice result=authenticated" \
	    cat smtpd.log
	atf_check -s exit:0 \
	    -o match:"auth address=127.0.0.1 user=alice result=ok" \
	    cat smtpd.log
}
auth_plain_initial_response_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_plain_after_334 cleanup
auth_plain_after_334_head()
{
	atf_set descr "AUTH PLAIN without an initial response gets an empty" \
	    "334 challenge, then 235 2.7.0 for the right password"
}
auth_plain_after_334_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN
< ^334 ?\$
> $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0 Authentication successful
> QUIT
< ^221
EOF
	atf_check -s exit:0 -o match:"user=alice result=authenticated" \
	    cat smtpd.log
}
auth_plain_after_334_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_plain_wrong_password_or_user cleanup
auth_plain_wrong_password_or_user_head()
{
	atf_set descr "AUTH PLAIN with a wrong password or an unknown user" \
	    "gets 535 5.7.8 alike; the session goes on"
}
auth_plain_wrong_password_or_user_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 alice "$WRONG")
< ^535 5.7.8 Authentication credentials invalid
> AUTH PLAIN $(plain_b64 nobody "$PASSWORD")
< ^535 5.7.8 Authentication credentials invalid
> AUTH PLAIN
< ^334
> $(plain_b64 alice "$WRONG")
< ^535 5.7.8
> NOOP
< ^250 2.0.0 Ok
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
	atf_check -s exit:0 -o match:"user=alice result=fail" cat smtpd.log
	atf_check -s exit:0 -o match:"user=nobody result=fail" cat smtpd.log
	atf_check_equal 1 "$(grep -c 'result=authenticated' smtpd.log)"
}
auth_plain_wrong_password_or_user_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_login_right_and_wrong cleanup
auth_login_right_and_wrong_head()
{
	atf_set descr "AUTH LOGIN asks for the user and the password; a" \
	    "wrong password gets 535 5.7.8, the right one 235 2.7.0, also" \
	    "with the user name as initial response"
}
auth_login_right_and_wrong_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH LOGIN
< ^334 VXNlcm5hbWU6\$
> $(b64 alice)
< ^334 UGFzc3dvcmQ6\$
> $(b64 "$WRONG")
< ^535 5.7.8 Authentication credentials invalid
> AUTH LOGIN $(b64 alice)
< ^334 UGFzc3dvcmQ6\$
> $(b64 "$PASSWORD")
< ^235 2.7.0 Authentication successful
> QUIT
< ^221
EOF
	atf_check -s exit:0 -o match:"user=alice result=fail" cat smtpd.log
	atf_check -s exit:0 -o match:"user=alice result=authenticated" \
	    cat smtpd.log
	# And with a real client.
	atf_check -s exit:0 -o match:"<~  235 2.7.0" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tls --auth LOGIN \
	    --auth-user alice --auth-password "$PASSWORD" --quit-after AUTH
	atf_check -s not-exit:0 -o match:"<~\* 535 5.7.8" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tls --auth LOGIN \
	    --auth-user alice --auth-password "$WRONG" --quit-after AUTH
}
auth_login_right_and_wrong_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_plain_initial_response_may_be_pipelined cleanup
auth_plain_initial_response_may_be_pipelined_head()
{
	atf_set descr "Commands may follow AUTH PLAIN with an initial" \
	    "response in the same write and are answered in order (RFC" \
	    "4954); after AUTH that expects a challenge they get 554 5.5.0"
}
auth_plain_initial_response_may_be_pipelined_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
>> b"AUTH PLAIN $(plain_b64 alice "$WRONG")\r\nNOOP\r\n"
< ^535 5.7.8 Authentication credentials invalid
< ^250 2.0.0 Ok
>> b"AUTH PLAIN $(plain_b64 alice "$PASSWORD")\r\nNOOP\r\nQUIT\r\n"
< ^235 2.7.0 Authentication successful
< ^250 2.0.0 Ok
< ^221
eof
EOF
	atf_check -s exit:0 -o match:"user=alice result=authenticated" \
	    cat smtpd.log
	atf_check -s exit:1 -o empty grep "pipelined-after-AUTH" smtpd.log

	# A challenge must be waited for: PLAIN without a response, LOGIN.
	for auth in "AUTH PLAIN" "AUTH LOGIN" "AUTH LOGIN $(b64 alice)"; do
		talk <<EOF
$TLS_PRELUDE
>> b"$auth\r\nNOOP\r\n"
< ^554 5.5.0 Commands may not follow AUTH before its reply
eof
EOF
	done
	atf_check_equal 3 "$(grep -c 'pipelined-after-AUTH' smtpd.log)"
}
auth_plain_initial_response_may_be_pipelined_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_long_user_is_535 cleanup
auth_long_user_is_535_head()
{
	atf_set descr "A user name too long for any table gets 535 5.7.8," \
	    "as a wrong password does, with PLAIN and LOGIN, and is" \
	    "checked and counted as a failure; 63 octets still log in"
}
auth_long_user_is_535_body()
{
	user63=$(printf '%63s' "" | tr ' ' u)
	add_creds creds "$user63" "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 "${user63}x" "$PASSWORD")
< ^535 5.7.8 Authentication credentials invalid$
> AUTH PLAIN $(plain_b64 "$(printf '%300s' "" | tr ' ' v)" "$PASSWORD")
< ^535 5.7.8 Authentication credentials invalid$
> AUTH LOGIN $(b64 "$(printf '%200s' "" | tr ' ' w)")
< ^334 UGFzc3dvcmQ6\$
> $(b64 "$PASSWORD")
< ^535 5.7.8 Authentication credentials invalid$
> AUTH PLAIN $(plain_b64 "$user63" "$PASSWORD")
< ^235 2.7.0 Authentication successful
> QUIT
< ^221
EOF
	atf_check_equal 3 \
	    "$(grep -c 'auth address=127.0.0.1 user=.* result=fail' smtpd.log)"
	atf_check -s exit:0 -o match:"user=$user63 result=authenticated" \
	    cat smtpd.log
}
auth_long_user_is_535_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_cancelled_is_501 cleanup
auth_cancelled_is_501_head()
{
	atf_set descr "A \"*\" answer to any AUTH challenge cancels it with" \
	    "501; a later AUTH works"
}
auth_cancelled_is_501_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN
< ^334
> *
< ^501 5.0.0 Authentication cancelled
> AUTH LOGIN
< ^334 VXNlcm5hbWU6
> *
< ^501 5.0.0 Authentication cancelled
> AUTH LOGIN
< ^334 VXNlcm5hbWU6
> $(b64 alice)
< ^334 UGFzc3dvcmQ6
> *
< ^501 5.0.0 Authentication cancelled
> NOOP
< ^250 2.0.0 Ok
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
	# A cancelled exchange never reaches the auth process.
	atf_check -s exit:1 -o empty grep "result=fail" smtpd.log
}
auth_cancelled_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_malformed_is_501 cleanup
auth_malformed_is_501_head()
{
	atf_set descr "Data that is no base64, or no PLAIN response, gets" \
	    "501 5.5.2; the session goes on"
}
auth_malformed_is_501_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN !!!not-base64!!!
< ^501 5.5.2 Malformed authentication data
> AUTH PLAIN
< ^334
> %%%%
< ^501 5.5.2 Malformed authentication data
> AUTH PLAIN $(b64 "alice $PASSWORD")
< ^501 5.5.2 Malformed authentication data
> AUTH LOGIN
< ^334 VXNlcm5hbWU6
> @@@@
< ^501 5.5.2 Malformed authentication data
> NOOP
< ^250 2.0.0 Ok
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
}
auth_malformed_is_501_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_twice_is_503 cleanup
auth_twice_is_503_head()
{
	atf_set descr "A second AUTH after a successful one gets 503"
}
auth_twice_is_503_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^503 5.5.1 Already authenticated
> AUTH LOGIN
< ^503 5.5.1
> QUIT
< ^221
EOF
	atf_check_equal 1 "$(grep -c 'result=authenticated' smtpd.log)"
}
auth_twice_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_in_transaction_is_503 cleanup
auth_in_transaction_is_503_head()
{
	atf_set descr "AUTH during a mail transaction gets 503; after RSET" \
	    "it works"
}
auth_in_transaction_is_503_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> MAIL FROM:<a@example.org>
< ^250 2.1.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^503 5.5.1 AUTH not allowed now
> RSET
< ^250 2.0.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
	atf_check_equal 1 "$(grep -c 'result=authenticated' smtpd.log)"
}
auth_in_transaction_is_503_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_unknown_mechanism_is_504 cleanup
auth_unknown_mechanism_is_504_head()
{
	atf_set descr "AUTH with a mechanism not offered gets 504"
}
auth_unknown_mechanism_is_504_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	talk <<EOF
$TLS_PRELUDE
> AUTH CRAM-MD5
< ^504 5.5.4 Unrecognized authentication type
> AUTH XOAUTH2 $(b64 "user=alice")
< ^504 5.5.4
> NOOP
< ^250 2.0.0 Ok
> QUIT
< ^221
EOF
}
auth_unknown_mechanism_is_504_cleanup()
{
	smtpd_cleanup
}

atf_test_case password_never_logged cleanup
password_never_logged_head()
{
	atf_set descr "Neither a right nor a wrong password, nor their" \
	    "base64, nor the stored hash ever appears in the verbose log"
}
password_never_logged_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config </dev/null
	smtpd_start
	auth_plain_expect alice "$PASSWORD" '^235 2.7.0'
	auth_plain_expect alice "$WRONG" '^535 5.7.8'
	auth_plain_expect nobody "$WRONG" '^535 5.7.8'
	talk <<EOF
$TLS_PRELUDE
> AUTH LOGIN
< ^334
> $(b64 alice)
< ^334
> $(b64 "$WRONG")
< ^535 5.7.8
> AUTH LOGIN $(b64 alice)
< ^334
> $(b64 "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
	atf_check -s exit:0 -o ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tls --auth PLAIN \
	    --auth-user alice --auth-password "$PASSWORD" \
	    --to "$MAILUSER@localhost" --body "logged in"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check_equal 3 "$(grep -c 'result=authenticated' smtpd.log)"
	atf_check_equal 3 "$(grep -c 'result=fail' smtpd.log)"
	hash=$(awk '{ print $2 }' creds)
	atf_check -s exit:1 -o empty grep -F \
	    -e "$PASSWORD" -e "$WRONG" \
	    -e "$(b64 "$PASSWORD")" -e "$(b64 "$WRONG")" \
	    -e "$(plain_b64 alice "$PASSWORD")" \
	    -e "$(plain_b64 alice "$WRONG")" \
	    -e "$(plain_b64 nobody "$WRONG")" \
	    -e "$hash" smtpd.log
}
password_never_logged_cleanup()
{
	smtpd_cleanup
}

atf_test_case authenticated_client_may_relay cleanup
authenticated_client_may_relay_head()
{
	atf_set descr "With \"match auth from any for any\", RCPT to a" \
	    "remote domain gets 550 5.7.1 before AUTH and 250 after it"
}
authenticated_client_may_relay_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config <<'CONF'
action "out" relay
match auth from any for any action "out"
CONF
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
< ^250 PIPELINING
> MAIL FROM:<a@example.org>
< ^250 2.1.0
> RCPT TO:<someone@remote.example>
< ^550 5.7.1 Relaying denied
> RSET
< ^250 2.0.0
> STARTTLS
< ^220 2.0.0
starttls
> EHLO client.test
< ^250 PIPELINING
> MAIL FROM:<a@example.org>
< ^250 2.1.0
> RCPT TO:<someone@remote.example>
< ^550 5.7.1 Relaying denied
> RCPT TO:<$MAILUSER@localhost>
< ^250 2.1.5
> RSET
< ^250 2.0.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> MAIL FROM:<alice@example.org>
< ^250 2.1.0
> RCPT TO:<someone@remote.example>
< ^250 2.1.5 Ok
> DATA
< ^354
> Subject: relayed
>> b"\r\n"
> for a remote host
> .
< ^250 2.0.0 Ok: queued as
> QUIT
< ^221
EOF
	remote='to=<someone@remote.example>'
	atf_check_equal 2 "$(grep -c "$remote result=refused" smtpd.log)"
	atf_check_equal 1 "$(grep -c "$remote result=accepted" smtpd.log)"
	# A real client, authenticated over STARTTLS.
	atf_check -s exit:0 -o match:"<~  250 2.1.5" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --tls --auth PLAIN \
	    --auth-user alice --auth-password "$PASSWORD" \
	    --from alice@example.org --to other@remote.example
	atf_check -s not-exit:0 -o match:"<~\* 550 5.7.1 Relaying denied" \
	    -e ignore swaks --server 127.0.0.1 --port "$(port)" --tls \
	    --from alice@example.org --to other@remote.example
}
authenticated_client_may_relay_cleanup()
{
	smtpd_cleanup
}

atf_test_case failures_block_the_address cleanup
failures_block_the_address_head()
{
	atf_set descr "After max-auth-failures failed attempts, the next AUTH" \
	    "from that address, even with the right password, gets 421" \
	    "4.7.0 and the connection closes; the log says result=blocked"
}
failures_block_the_address_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config <<'CONF'
smtp limit max-auth-failures 3
CONF
	smtpd_start
	auth_plain_expect alice "$WRONG" '^535 5.7.8'
	auth_plain_expect nobody "$WRONG" '^535 5.7.8'
	# The third failure reaches the limit: refused as a failure or
	# already as a block, and the dialog ends with that reply.
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 alice "$WRONG")
< ^(535 5\.7\.8|421 4\.7\.0)
EOF
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^421 4.7.0 Too many authentication failures
eof
EOF
	atf_check -s exit:0 -o match:"user=alice result=blocked" cat smtpd.log
	atf_check -s exit:1 -o empty grep -E "result=(ok|authenticated)" \
	    smtpd.log
	# AUTH LOGIN is blocked too.
	talk <<EOF
$TLS_PRELUDE
> AUTH LOGIN $(b64 alice)
< ^334
> $(b64 "$PASSWORD")
< ^421 4.7.0
eof
EOF
	atf_check -s exit:1 -o empty grep -E "result=(ok|authenticated)" \
	    smtpd.log
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
failures_block_the_address_cleanup()
{
	smtpd_cleanup
}

# plain_from SOURCE USER PASSWORD REGEX: one session in the clear from
# the loopback address SOURCE whose AUTH PLAIN gets a reply matching
# REGEX.
plain_from()
{
	talk --source "$1" <<EOF
< ^220
> EHLO client.test
< ^250 PIPELINING
> AUTH PLAIN $(plain_b64 "$2" "$3")
< $4
EOF
}

atf_test_case own_login_does_not_clear_guesses cleanup
own_login_does_not_clear_guesses_head()
{
	atf_set descr "A client that logs in to its own account between" \
	    "its guesses at another's keeps its failure count: the" \
	    "max-auth-failures-th guess still blocks it"
}
own_login_does_not_clear_guesses_body()
{
	add_creds creds alice "$PASSWORD"
	add_creds creds bob "$PASSWORD"
	auth_config <<'CONF'
smtp limit max-auth-failures 3
CONF
	smtpd_start
	auth_plain_expect bob "$WRONG" '^535 5.7.8'
	auth_plain_expect alice "$PASSWORD" '^235 2.7.0'
	auth_plain_expect bob "$WRONG" '^535 5.7.8'
	auth_plain_expect alice "$PASSWORD" '^235 2.7.0'
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 bob "$WRONG")
< ^(535 5\.7\.8|421 4\.7\.0)
EOF
	talk <<EOF
$TLS_PRELUDE
> AUTH PLAIN $(plain_b64 bob "$PASSWORD")
< ^421 4.7.0 Too many authentication failures
eof
EOF
	atf_check -s exit:0 -o match:"user=bob result=blocked reason=network" \
	    cat smtpd.log
	atf_check -s exit:1 -o empty grep "user=bob result=ok" smtpd.log
}
own_login_does_not_clear_guesses_cleanup()
{
	smtpd_cleanup
}

atf_test_case guesses_at_one_user_are_limited cleanup
guesses_at_one_user_are_limited_head()
{
	atf_set descr "Failures for one user from different client addresses" \
	    "add up: past max-auth-failures-per-user that user gets 454" \
	    "4.7.0, even with the right password, while other users and" \
	    "the session go on"
}
guesses_at_one_user_are_limited_body()
{
	add_creds creds alice "$PASSWORD"
	add_creds creds bob "$PASSWORD"
	auth_config auth "<creds>" auth-plaintext <<'CONF'
smtp limit max-auth-failures 100
smtp limit max-auth-failures-per-user 2
CONF
	smtpd_start
	plain_from 127.0.0.2 bob "$WRONG" '^535 5.7.8'
	plain_from 127.0.0.3 bob "$WRONG" '^535 5.7.8'
	talk --source 127.0.0.4 <<EOF
< ^220
> EHLO client.test
< ^250 PIPELINING
> AUTH PLAIN $(plain_b64 bob "$PASSWORD")
< ^454 4.7.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
	atf_check -s exit:0 -o match:"user=bob result=blocked reason=user" \
	    cat smtpd.log
	atf_check -s exit:1 -o empty grep "user=bob result=ok" smtpd.log
}
guesses_at_one_user_are_limited_cleanup()
{
	smtpd_cleanup
}

atf_test_case flood_during_held_back_failure cleanup
flood_during_held_back_failure_head()
{
	atf_set descr "A client that sends 40 MB while the answer to its" \
	    "failed AUTH is held back does not grow the listener past" \
	    "40 MB: nothing is read while the session waits"
}
flood_during_held_back_failure_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config auth "<creds>" auth-plaintext </dev/null
	sed -i 's/auth-failure-delay 0s/auth-failure-delay 3s/' smtpd.conf
	smtpd_start
	python3 "$TOP/regress/flood.py" "$(port)" authflood alice "$WRONG" \
	    40000000 "$(child_pid smtp)" > out ||
	    atf_fail "flood client failed"
	cat out
	hwm=$(sed -n 's/.*hwm_kb=\([0-9]*\).*/\1/p' out)
	[ -n "$hwm" ] || atf_fail "no memory figure"
	[ "$hwm" -lt 40960 ] || atf_fail "the listener grew to $hwm kB"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
	plain_from 127.0.0.1 nobody "$WRONG" '^535 5.7.8'
}
flood_during_held_back_failure_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_plaintext_listener cleanup
auth_plaintext_listener_head()
{
	atf_set descr "With auth-plaintext on a listener without TLS, AUTH" \
	    "is offered and works in the clear; the message says ESMTPA"
}
auth_plaintext_listener_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config auth "<creds>" auth-plaintext </dev/null
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250-AUTH PLAIN LOGIN\$
> STARTTLS
< ^502 5.5.1
> AUTH PLAIN $(plain_b64 alice "$WRONG")
< ^535 5.7.8
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0 Authentication successful
> QUIT
< ^221
EOF
	grep '^<- 250' transcript > ehlo
	atf_check -s exit:1 -o empty grep STARTTLS ehlo
	atf_check -s exit:0 -o match:"<-  235 2.7.0" -e ignore \
	    swaks --server 127.0.0.1 --port "$(port)" --auth LOGIN \
	    --auth-user alice --auth-password "$PASSWORD" \
	    --to "$MAILUSER@localhost" --header "Message-ID: <clear-1@test>" \
	    --body "authenticated in the clear"
	wait_log "result=delivered" || atf_fail "not delivered"
	msg=$(maildir_messages)
	atf_check -s exit:0 -o match:"^Message-ID: <clear-1@test>" cat "$msg"
	atf_check -s exit:0 -o match:"with ESMTPA id" cat "$msg"
}
auth_plaintext_listener_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_is_mandatory_auth_optional_is_not cleanup
auth_is_mandatory_auth_optional_is_not_head()
{
	atf_set descr "On a listener with auth, MAIL before AUTH gets 530" \
	    "5.7.0 and works after it; with auth-optional MAIL works without" \
	    "AUTH; both at once are refused by smtpd -n"
}
auth_is_mandatory_auth_optional_is_not_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config auth "<creds>" auth-plaintext </dev/null
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250 
> MAIL FROM:<alice@example.org>
< ^530 5.7.0 Authentication required
> AUTH PLAIN $(plain_b64 alice "$WRONG")
< ^535 5.7.8
> MAIL FROM:<alice@example.org>
< ^530 5.7.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> MAIL FROM:<alice@example.org>
< ^250 
> RCPT TO:<$MAILUSER@localhost>
< ^250 
> QUIT
< ^221
EOF
	smtpd_cleanup

	auth_config auth-optional "<creds>" auth-plaintext </dev/null
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250-AUTH PLAIN LOGIN\$
> MAIL FROM:<someone@example.org>
< ^250 
> RCPT TO:<$MAILUSER@localhost>
< ^250 
> QUIT
< ^221
EOF
	auth_config auth "<creds>" auth-optional "<creds>" auth-plaintext \
	    </dev/null
	atf_check -s not-exit:0 \
	    -e match:"smtpd.conf:7: auth or auth-optional given twice" \
	    "$SMTPD" -n -f smtpd.conf
}
auth_is_mandatory_auth_optional_is_not_cleanup()
{
	smtpd_cleanup
}

atf_test_case senders_table_limits_mail_from cleanup
senders_table_limits_mail_from_head()
{
	atf_set descr "With senders <table>, a logged-in user may use only" \
	    "the MAIL FROM addresses the table lists (553 5.7.1 otherwise);" \
	    "a client that has not logged in is not limited by it"
}
senders_table_limits_mail_from_body()
{
	add_creds creds alice "$PASSWORD"
	printf 'alice\talice@example.org, @Example.NET\n' > senders
	auth_config auth-optional "<creds>" auth-plaintext \
	    senders "<senders>" </dev/null
	sed -i "/^table creds/a table senders file:$(pwd)/senders" smtpd.conf
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250
> MAIL FROM:<mallory@example.org>
< ^250 2.1.0
> RSET
< ^250
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> MAIL FROM:<bob@example.org>
< ^553 5.7.1 Sender address not owned by user
> MAIL FROM:<>
< ^553 5.7.1
> MAIL FROM:<alice@example.org.evil>
< ^553 5.7.1
> MAIL FROM:<Alice@Example.ORG>
< ^250 2.1.0
> RSET
< ^250
> MAIL FROM:<anyone@example.net>
< ^250 2.1.0
> QUIT
< ^221
EOF
	wait_log 'user=alice from=<bob@example.org> result=refused reason="sender not owned"' ||
	    atf_fail "the refusal was not logged"
}
senders_table_limits_mail_from_cleanup()
{
	smtpd_cleanup
}

atf_test_case senders_masquerade_checks_from_header cleanup
senders_masquerade_checks_from_header_head()
{
	atf_set descr "With senders <table> masquerade, a logged-in user's" \
	    "message needs one From: field whose addresses are all in the" \
	    "envelope sender's domain: others get 550 5.7.1, a good one is" \
	    "delivered"
}
senders_masquerade_checks_from_header_body()
{
	add_creds creds alice "$PASSWORD"
	printf 'alice\t@example.org\n' > senders
	auth_config auth "<creds>" auth-plaintext senders "<senders>" \
	    masquerade </dev/null
	sed -i "/^table creds/a table senders file:$(pwd)/senders" smtpd.conf
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> MAIL FROM:<alice@example.org>
< ^250
> RCPT TO:<$MAILUSER@localhost>
< ^250
> DATA
< ^354
> From: "Boss" <boss@bank.example>
> Subject: wire the money
>> b"\r\n"
> now
> .
< ^550 5.7.1 From: header not owned by user
> MAIL FROM:<alice@example.org>
< ^250
> RCPT TO:<$MAILUSER@localhost>
< ^250
> DATA
< ^354
> From: "ceo@bank.example" (or ceo@bank.example) <alice@example.org>
>> b"\r\n"
> a name that looks like another address
> .
< ^550 5.7.1
> MAIL FROM:<alice@example.org>
< ^250
> RCPT TO:<$MAILUSER@localhost>
< ^250
> DATA
< ^354
> Subject: no From at all
>> b"\r\n"
> x
> .
< ^550 5.7.1
> MAIL FROM:<alice@example.org>
< ^250
> RCPT TO:<$MAILUSER@localhost>
< ^250
> DATA
< ^354
> From: "Alice (the one)"
>  <alice@EXAMPLE.org>
> Message-ID: <masq-1@test>
>> b"\r\n"
> mine
> .
< ^250
> QUIT
< ^221
EOF
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -o match:"^Message-ID: <masq-1@test>" cat "$(maildir_messages)"
	atf_check_equal 1 "$(ls "$(pwd)/Maildir/new" | wc -l)"
}
senders_masquerade_checks_from_header_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_forgotten_after_starttls cleanup
auth_forgotten_after_starttls_head()
{
	atf_set descr "A login made in the clear (auth-plaintext on a tls" \
	    "listener) is forgotten by STARTTLS like all else (RFC 3207" \
	    "4.2): AUTH is offered again and relaying needs a new AUTH"
}
auth_forgotten_after_starttls_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config tls pki mx auth-optional "<creds>" auth-plaintext <<'CONF'
action "out" relay
match auth from any for any action "out"
CONF
	smtpd_start
	talk <<EOF
< ^220
> EHLO client.test
<* ^250-AUTH PLAIN LOGIN\$
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> STARTTLS
< ^220 2.0.0
starttls
# The login before TLS counts no more: no relaying without a new one.
> EHLO client.test
< ^250 PIPELINING
> MAIL FROM:<alice@example.org>
< ^250 2.1.0
> RCPT TO:<someone@remote.example>
< ^550 5.7.1 Relaying denied
> RSET
< ^250 2.0.0
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> MAIL FROM:<alice@example.org>
< ^250 2.1.0
> RCPT TO:<someone@remote.example>
< ^250 2.1.5
> QUIT
< ^221
EOF
	sed -n '/^-> STARTTLS$/,/^-> MAIL/p' transcript > inside
	atf_check_equal 1 "$(grep -c '^<- 250-AUTH PLAIN LOGIN$' inside)"
	atf_check_equal 2 \
	    "$(grep -c 'user=alice result=authenticated' smtpd.log)"
}
auth_forgotten_after_starttls_cleanup()
{
	smtpd_cleanup
}

atf_test_case config_auth_needs_tls
config_auth_needs_tls_head()
{
	atf_set descr "smtpd -n refuses auth on a listener without tls," \
	    "tls-require, smtps or auth-plaintext, and auth-plaintext" \
	    "without auth; it accepts each of those four"
}
config_auth_needs_tls_body()
{
	add_creds creds alice "$PASSWORD"
	auth_config auth "<creds>" </dev/null
	atf_check -s exit:1 \
	    -e match:"smtpd.conf:7: auth is offered only over TLS" \
	    "$SMTPD" -n -f smtpd.conf
	auth_config auth-plaintext </dev/null
	atf_check -s exit:1 \
	    -e match:"smtpd.conf:7: auth-plaintext without auth" \
	    "$SMTPD" -n -f smtpd.conf
	for opts in "tls pki mx" "tls-require pki mx" "smtps pki mx" \
	    auth-plaintext; do
		auth_config $opts auth "<creds>" </dev/null
		atf_check -s exit:0 -e match:"configuration OK" \
		    "$SMTPD" -n -f smtpd.conf
	done
}

atf_test_case hash_kinds cleanup
hash_kinds_head()
{
	atf_set descr "Users with bcrypt (\$2b\$, \$2y\$), yescrypt, sha256-" \
	    "and sha512-crypt hashes log in; an md5-crypt user is refused" \
	    "at start and cannot log in"
}
hash_kinds_body()
{
	for kind in '2b' '2y' 'y' '5' '6'; do
		h=$(mkhash "\$$kind\$" "pw-$kind-$PASSWORD") ||
		    atf_fail "cannot make a \$$kind\$ hash"
		printf 'user%s %s\n' "$kind" "$h" >> creds
	done
	printf 'mallory %s\n' "$(openssl passwd -1 "$PASSWORD")" >> creds
	# Six failures from one address: logins do not clear them.
	auth_config <<'CONF'
smtp limit max-auth-failures 10
CONF
	smtpd_start
	atf_check -s exit:0 -o match:"auth: table creds: 5 usable users" \
	    cat smtpd.log
	why="hash missing or of a refused kind"
	atf_check -s exit:0 \
	    -o match:"auth: table creds: user mallory refused: $why" \
	    cat smtpd.log
	for kind in '2b' '2y' 'y' '5' '6'; do
		auth_plain_expect "user$kind" "pw-$kind-$PASSWORD" '^235 2.7.0'
		auth_plain_expect "user$kind" "$WRONG" '^535 5.7.8'
	done
	auth_plain_expect mallory "$PASSWORD" '^535 5.7.8'
	atf_check_equal 5 "$(grep -c 'result=authenticated' smtpd.log)"
	for kind in '2b' '2y' 'y' '5' '6'; do
		atf_check -s exit:0 -o ignore \
		    grep "user=user$kind result=authenticated" smtpd.log
	done
}
hash_kinds_cleanup()
{
	smtpd_cleanup
}

atf_test_case auth_over_smtps cleanup
auth_over_smtps_head()
{
	atf_set descr "An smtps listener offers AUTH from its first EHLO;" \
	    "a message sent after AUTH is delivered with ESMTPSA"
}
auth_over_smtps_body()
{
	add_creds creds alice "$PASSWORD"
	SPORT=$(free_port)
	auth_config <<CONF
listen on 127.0.0.1 port $SPORT smtps pki mx auth <creds>
CONF
	smtpd_start
	talk_smtps "$SPORT" <<EOF
< ^220
> EHLO client.test
<* ^250-AUTH PLAIN LOGIN\$
> AUTH PLAIN $(plain_b64 alice "$WRONG")
< ^535 5.7.8
> AUTH PLAIN $(plain_b64 alice "$PASSWORD")
< ^235 2.7.0
> QUIT
< ^221
EOF
	atf_check -s exit:0 -o ignore -e ignore \
	    swaks --server 127.0.0.1 --port "$SPORT" --tlsc --auth PLAIN \
	    --auth-user alice --auth-password "$PASSWORD" \
	    --to "$MAILUSER@localhost" \
	    --header "Message-ID: <smtps-auth@test>" \
	    --body "over smtps"
	wait_log "result=delivered" || atf_fail "not delivered"
	msg=$(maildir_messages)
	atf_check -s exit:0 -o match:"^Message-ID: <smtps-auth@test>" cat "$msg"
	atf_check -s exit:0 -o match:"with ESMTPSA id" cat "$msg"
	atf_check -s exit:0 -o match:"\(version=TLSv1\.[23] cipher=" cat "$msg"
}
auth_over_smtps_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case auth_offered_only_inside_tls
	atf_add_test_case auth_plain_initial_response
	atf_add_test_case auth_plain_after_334
	atf_add_test_case auth_plain_wrong_password_or_user
	atf_add_test_case auth_login_right_and_wrong
	atf_add_test_case auth_cancelled_is_501
	atf_add_test_case auth_malformed_is_501
	atf_add_test_case auth_plain_initial_response_may_be_pipelined
	atf_add_test_case auth_long_user_is_535
	atf_add_test_case auth_twice_is_503
	atf_add_test_case auth_in_transaction_is_503
	atf_add_test_case auth_unknown_mechanism_is_504
	atf_add_test_case password_never_logged
	atf_add_test_case authenticated_client_may_relay
	atf_add_test_case failures_block_the_address
	atf_add_test_case own_login_does_not_clear_guesses
	atf_add_test_case guesses_at_one_user_are_limited
	atf_add_test_case flood_during_held_back_failure
	atf_add_test_case auth_plaintext_listener
	atf_add_test_case auth_is_mandatory_auth_optional_is_not
	atf_add_test_case senders_table_limits_mail_from
	atf_add_test_case senders_masquerade_checks_from_header
	atf_add_test_case auth_forgotten_after_starttls
	atf_add_test_case config_auth_needs_tls
	atf_add_test_case hash_kinds
	atf_add_test_case auth_over_smtps
}
