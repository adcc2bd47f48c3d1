#! /usr/bin/env atf-sh
#
# The TLS policy of a listener: several pki chosen by SNI, the protocols
# and ciphers it accepts, and client certificates checked against a ca
# (verify, and tls-require verify or smtps verify to make one
# mandatory), with the configurations smtpd -n refuses.

. "$(atf_get_srcdir)/../lib.sh"

# policy_config LISTEN-OPTIONS...: smtpd.conf with pki one.test and
# two.test (self-signed certificates of those names) and one listener
# on a free port with LISTEN-OPTIONS; lines on stdin are appended.
policy_config()
{
	W=$(pwd)
	PORT=$(free_port)
	echo "$PORT" > port
	[ -f one.test.crt ] || make_pki one.test
	[ -f two.test.crt ] || make_pki two.test
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
pki one.test cert "$W/one.test.crt"
pki one.test key "$W/one.test.key"
pki two.test cert "$W/two.test.crt"
pki two.test key "$W/two.test.key"
listen on 127.0.0.1 port $PORT $*
action "local" maildir "$W/Maildir"
match from any for local action "local"
CONF
	[ -t 0 ] || cat >> smtpd.conf
}

# make_ca NAME: a certification authority NAME.crt with its key, and
# NAME-client.crt and NAME-client.key, a client certificate it signed.
# GOOD holds the tlsprobe.py options that present the one of "good".
GOOD="--cert good-client.crt --key good-client.key"
make_ca()
{
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" \
	    -out "$1.crt" -days 2 -subj "/CN=$1 CA" 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout "$1-client.key" \
	    -out "$1-client.csr" -subj "/CN=client.$1" 2>/dev/null &&
	openssl x509 -req -in "$1-client.csr" -CA "$1.crt" -CAkey "$1.key" \
	    -CAcreateserial -out "$1-client.crt" -days 2 2>/dev/null ||
	    atf_fail "openssl could not make a CA and a client certificate"
}

# One STARTTLS (or smtps) session with this test's smtpd as a chosen
# client; see tlsprobe.py for its options and its lines (tls=...,
# mail=...).  As atf_check runs it: python3 "$TLSPROBE" OPTIONS PORT.
TLSPROBE="$TOP/regress/tlsprobe.py"

probe()
{
	python3 "$TLSPROBE" "$@" "$(port)" ||
	    atf_fail "tlsprobe failed: $*"
}

# The SHA-256 fingerprint of a certificate file, as tlsprobe prints it.
fingerprint()
{
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
	    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# served [tlsprobe.py options]: the fingerprint of the certificate the
# server presents to such a client.
served()
{
	probe "$@" | sed -n 's/^tls=ok .* fingerprint=\([0-9a-f]*\)$/\1/p'
}

atf_test_case sni_selects_pki_by_name cleanup
sni_selects_pki_by_name_head()
{
	atf_set descr "A listener with two pki serves the certificate whose" \
	    "name the client sends in SNI, and the first pki to a client" \
	    "that sends no name or another one"
}
sni_selects_pki_by_name_body()
{
	policy_config tls pki one.test pki two.test </dev/null
	smtpd_start
	one=$(fingerprint one.test.crt)
	two=$(fingerprint two.test.crt)
	atf_check_equal "$two" "$(served --servername two.test)"
	atf_check_equal "$one" "$(served --servername one.test)"
	atf_check_equal "$one" "$(served)"
	atf_check_equal "$one" "$(served --servername other.test)"
	# Over TLS 1.2 too, and a message still goes through.
	atf_check_equal "$two" "$(served --tls12 --servername two.test)"
	atf_check -s exit:0 -o match:"^data=250 2.0.0 Ok: queued as" \
	    python3 "$TLSPROBE" --servername two.test \
	    --rcpt "$MAILUSER@localhost" "$(port)"
	wait_log "result=delivered" || atf_fail "not delivered"
}
sni_selects_pki_by_name_cleanup()
{
	smtpd_cleanup
}

atf_test_case sni_default_is_first_pki_on_smtps cleanup
sni_default_is_first_pki_on_smtps_head()
{
	atf_set descr "On an smtps listener the first pki given is the" \
	    "default, whatever the order of the pki statements"
}
sni_default_is_first_pki_on_smtps_body()
{
	policy_config smtps pki two.test pki one.test </dev/null
	smtpd_start
	atf_check_equal "$(fingerprint two.test.crt)" "$(served --smtps)"
	atf_check_equal "$(fingerprint one.test.crt)" \
	    "$(served --smtps --servername one.test)"
}
sni_default_is_first_pki_on_smtps_cleanup()
{
	smtpd_cleanup
}

atf_test_case protocols_tls13_refuses_tls12_client cleanup
protocols_tls13_refuses_tls12_client_head()
{
	atf_set descr "protocols \"tlsv1.3\" refuses a client that speaks" \
	    "only TLS 1.2 and serves one that speaks TLS 1.3"
}
protocols_tls13_refuses_tls12_client_body()
{
	policy_config tls pki one.test protocols '"tlsv1.3"' </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^tls=failed " \
	    python3 "$TLSPROBE" --tls12 "$(port)"
	wait_log 'error="TLS handshake: ' || atf_fail "no handshake error"
	atf_check -s exit:0 -o match:"^tls=ok version=TLSv1\.3 " \
	    -o match:"^mail=250 " python3 "$TLSPROBE" --tls13 "$(port)"
}
protocols_tls13_refuses_tls12_client_cleanup()
{
	smtpd_cleanup
}

atf_test_case protocols_default_accepts_tls12 cleanup
protocols_default_accepts_tls12_head()
{
	atf_set descr "Without protocols a listener accepts TLS 1.2 and 1.3"
}
protocols_default_accepts_tls12_body()
{
	policy_config tls pki one.test </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^tls=ok version=TLSv1\.2 " \
	    python3 "$TLSPROBE" --tls12 "$(port)"
	atf_check -s exit:0 -o match:"^tls=ok version=TLSv1\.3 " \
	    python3 "$TLSPROBE" --tls13 "$(port)"
}
protocols_default_accepts_tls12_cleanup()
{
	smtpd_cleanup
}

atf_test_case ciphers_limit_tls12_suites cleanup
ciphers_limit_tls12_suites_head()
{
	atf_set descr "ciphers limits what a TLS 1.2 client can agree on:" \
	    "with one suite allowed, that one is used"
}
ciphers_limit_tls12_suites_body()
{
	policy_config tls pki one.test \
	    ciphers '"ECDHE-RSA-CHACHA20-POLY1305"' </dev/null
	smtpd_start
	atf_check -s exit:0 \
	    -o match:"^tls=ok version=TLSv1\.2 cipher=ECDHE-RSA-CHACHA20-POLY1305 " \
	    python3 "$TLSPROBE" --tls12 "$(port)"
	wait_log " cipher=ECDHE-RSA-CHACHA20-POLY1305$" ||
	    atf_fail "cipher not logged"
}
ciphers_limit_tls12_suites_cleanup()
{
	smtpd_cleanup
}

atf_test_case tls_require_verify_accepts_signed_client cleanup
tls_require_verify_accepts_signed_client_head()
{
	atf_set descr "Under tls-require verify a client with a certificate" \
	    "the ca signed sends a message; the log and the Received:" \
	    "header say verify=ok"
}
tls_require_verify_accepts_signed_client_body()
{
	make_ca good
	policy_config tls-require verify ca "\"$(pwd)/good.crt\"" pki one.test \
	    </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^tls=ok " \
	    -o match:"^data=250 2.0.0 Ok: queued as" \
	    python3 "$TLSPROBE" $GOOD --rcpt "$MAILUSER@localhost" "$(port)"
	atf_check -s exit:0 -o match:" tls=TLSv1\.[23] cipher=[^ ]+ verify=ok$" \
	    cat smtpd.log
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 \
	    -o match:"^[[:space:]]+\(version=TLSv1\.[23] cipher=[^ ]+ verify=ok\)$" \
	    cat "$(maildir_messages)"
}
tls_require_verify_accepts_signed_client_cleanup()
{
	smtpd_cleanup
}

atf_test_case tls_require_verify_refuses_client_without_cert cleanup
tls_require_verify_refuses_client_without_cert_head()
{
	atf_set descr "Under tls-require verify a client that shows no" \
	    "certificate completes TLS but gets 530 5.7.0 at MAIL"
}
tls_require_verify_refuses_client_without_cert_body()
{
	make_ca good
	policy_config tls-require verify ca "\"$(pwd)/good.crt\"" pki one.test \
	    </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^tls=ok " \
	    -o match:"^mail=530 5.7.0 A verified client certificate is required$" \
	    python3 "$TLSPROBE" "$(port)"
	atf_check -s exit:0 -o match:" verify=none$" cat smtpd.log
	wait_log "result=refused reason=no-client-certificate" ||
	    atf_fail "refusal not logged"
}
tls_require_verify_refuses_client_without_cert_cleanup()
{
	smtpd_cleanup
}

atf_test_case smtps_verify_refuses_client_without_cert cleanup
smtps_verify_refuses_client_without_cert_head()
{
	atf_set descr "smtps verify makes a client certificate mandatory," \
	    "as tls-require verify does"
}
smtps_verify_refuses_client_without_cert_body()
{
	make_ca good
	policy_config smtps verify ca "\"$(pwd)/good.crt\"" pki one.test \
	    </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^mail=530 5.7.0 " \
	    python3 "$TLSPROBE" --smtps "$(port)"
	atf_check -s exit:0 -o match:"^mail=250 " \
	    python3 "$TLSPROBE" --smtps $GOOD "$(port)"
}
smtps_verify_refuses_client_without_cert_cleanup()
{
	smtpd_cleanup
}

atf_test_case verify_optional_serves_client_without_cert cleanup
verify_optional_serves_client_without_cert_head()
{
	atf_set descr "Under plain verify a client without a certificate" \
	    "sends mail (verify=none), one with a signed certificate is" \
	    "verify=ok"
}
verify_optional_serves_client_without_cert_body()
{
	make_ca good
	policy_config tls pki one.test verify ca "\"$(pwd)/good.crt\"" \
	    </dev/null
	smtpd_start
	atf_check -s exit:0 -o match:"^data=250 2.0.0 Ok: queued as" \
	    python3 "$TLSPROBE" --rcpt "$MAILUSER@localhost" "$(port)"
	wait_log " verify=none$" || atf_fail "verify=none not logged"
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"cipher=[^ ]+ verify=none\)$" \
	    cat "$(maildir_messages)"
	atf_check -s exit:0 -o match:"^mail=250 " \
	    python3 "$TLSPROBE" $GOOD "$(port)"
	wait_log " verify=ok$" || atf_fail "verify=ok not logged"
}
verify_optional_serves_client_without_cert_cleanup()
{
	smtpd_cleanup
}

atf_test_case verify_refuses_certificate_of_another_ca cleanup
verify_refuses_certificate_of_another_ca_head()
{
	atf_set descr "A client certificate the ca did not sign fails the" \
	    "handshake, over TLS 1.2 and 1.3, and the daemon carries on"
}
verify_refuses_certificate_of_another_ca_body()
{
	make_ca good
	make_ca rogue
	policy_config tls pki one.test verify ca "\"$(pwd)/good.crt\"" \
	    </dev/null
	smtpd_start
	for v in --tls12 --tls13; do
		atf_check -s exit:0 -o match:"^tls=failed " \
		    -o not-match:"^mail=" \
		    python3 "$TLSPROBE" $v --cert rogue-client.crt \
		    --key rogue-client.key "$(port)"
	done
	wait_log "certificate verify failed" ||
	    atf_fail "the failed verification was not logged"
	atf_check -s exit:0 -o match:"^mail=250 " \
	    python3 "$TLSPROBE" $GOOD "$(port)"
}
verify_refuses_certificate_of_another_ca_cleanup()
{
	smtpd_cleanup
}

# refused WHY LISTEN-OPTIONS...: smtpd -n refuses the listener on line
# 7 with WHY (an extended regex).
refused()
{
	why=$1
	shift
	policy_config "$@" </dev/null
	atf_check -s exit:1 -e match:"smtpd.conf:7: $why" \
	    "$SMTPD" -n -f smtpd.conf
}

# accepted LISTEN-OPTIONS...: smtpd -n takes the listener.
accepted()
{
	policy_config "$@" </dev/null
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$SMTPD" -n -f smtpd.conf
}

atf_test_case config_tls_policy_accepted
config_tls_policy_accepted_head()
{
	atf_set descr "smtpd -n accepts every TLS option together, and the" \
	    "refusals below differ from these only in what they break"
}
config_tls_policy_accepted_body()
{
	make_ca good
	ca="\"$(pwd)/good.crt\""
	accepted tls pki one.test pki two.test
	accepted smtps pki two.test pki one.test protocols '"tlsv1.2,tlsv1.3"'
	accepted tls pki one.test ciphers '"secure"' verify ca "$ca"
	accepted tls-require verify ca "$ca" pki one.test
	accepted smtps verify pki one.test ca "$ca"
}

atf_test_case config_same_pki_twice_refused
config_same_pki_twice_refused_head()
{
	atf_set descr "smtpd -n refuses a listener naming one pki twice"
}
config_same_pki_twice_refused_body()
{
	refused "pki one.test given twice" tls pki one.test pki two.test \
	    pki one.test
}

atf_test_case config_bad_protocols_refused
config_bad_protocols_refused_head()
{
	atf_set descr "smtpd -n refuses protocols that libtls does not know" \
	    "or that leave no version"
}
config_bad_protocols_refused_body()
{
	refused 'bad protocols: "tlsv9"' tls pki one.test \
	    protocols '"tlsv9"'
	refused 'bad protocols: "!all"' tls pki one.test protocols '"!all"'
}

atf_test_case config_bad_ciphers_refused
config_bad_ciphers_refused_head()
{
	atf_set descr "smtpd -n refuses a cipher string that selects no" \
	    "cipher, naming it"
}
config_bad_ciphers_refused_body()
{
	refused 'ciphers "NO-SUCH-CIPHER": no ciphers for' tls pki one.test \
	    ciphers '"NO-SUCH-CIPHER"'
}

atf_test_case config_verify_needs_ca
config_verify_needs_ca_head()
{
	atf_set descr "smtpd -n refuses verify without a ca, a ca without" \
	    "verify, a ca that cannot be opened, and TLS options on a" \
	    "listener without TLS"
}
config_verify_needs_ca_body()
{
	make_ca good
	refused "verify needs a ca" tls pki one.test verify
	refused "verify needs a ca" tls-require verify pki one.test
	refused "ca given without verify" tls pki one.test \
	    ca "\"$(pwd)/good.crt\""
	refused "ca $(pwd)/missing.crt: No such file or directory" \
	    tls pki one.test verify ca "\"$(pwd)/missing.crt\""
	refused "ciphers, protocols, ca and verify need tls" \
	    protocols '"tlsv1.3"'
	refused "ciphers, protocols, ca and verify need tls" \
	    verify ca "\"$(pwd)/good.crt\""
}

atf_init_test_cases()
{
	atf_add_test_case sni_selects_pki_by_name
	atf_add_test_case sni_default_is_first_pki_on_smtps
	atf_add_test_case protocols_tls13_refuses_tls12_client
	atf_add_test_case protocols_default_accepts_tls12
	atf_add_test_case ciphers_limit_tls12_suites
	atf_add_test_case tls_require_verify_accepts_signed_client
	atf_add_test_case tls_require_verify_refuses_client_without_cert
	atf_add_test_case smtps_verify_refuses_client_without_cert
	atf_add_test_case verify_optional_serves_client_without_cert
	atf_add_test_case verify_refuses_certificate_of_another_ca
	atf_add_test_case config_tls_policy_accepted
	atf_add_test_case config_same_pki_twice_refused
	atf_add_test_case config_bad_protocols_refused
	atf_add_test_case config_bad_ciphers_refused
	atf_add_test_case config_verify_needs_ca
}
