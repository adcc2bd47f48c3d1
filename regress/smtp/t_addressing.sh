#! /usr/bin/env atf-sh
#
# Sub-addressing (user+tag) and virtual domains.

. "$(atf_get_srcdir)/../lib.sh"

# rcpt_reply RCPT: the reply to RCPT TO:<RCPT> after a MAIL.
rcpt_reply()
{
	python3 - "$(port)" "$1" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
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

atf_test_case a_tag_reaches_the_user cleanup
a_tag_reaches_the_user_head()
{
	atf_set descr "user+tag@localhost is delivered to user, with the" \
	    "address as given in Delivered-To"
}
a_tag_reaches_the_user_body()
{
	smtpd_start
	expect_rcpt "$MAILUSER+lists@localhost" "^250 2.1.5"
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --to "$MAILUSER+lists@localhost" --body tagged
	wait_mail || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^Delivered-To: $MAILUSER\+lists@localhost$" \
	    cat "$(maildir_messages)"
	expect_rcpt "nosuchuser+x@localhost" "^550 5.1.1"
}
a_tag_reaches_the_user_cleanup()
{
	smtpd_cleanup
}

atf_test_case sub_addressing_can_be_turned_off_or_changed cleanup
sub_addressing_can_be_turned_off_or_changed_head()
{
	atf_set descr "smtp sub-addr-delim off makes user+tag unknown;" \
	    "sub-addr-delim \"-\" uses a dash instead"
}
sub_addressing_can_be_turned_off_or_changed_body()
{
	smtpd_config <<CONF
smtp sub-addr-delim off
CONF
	smtpd_start
	expect_rcpt "$MAILUSER+lists@localhost" "^550 5.1.1"
	smtpd_cleanup
	rm smtpd.conf
	smtpd_config <<CONF
smtp sub-addr-delim "-"
CONF
	smtpd_start
	expect_rcpt "$MAILUSER-lists@localhost" "^250 2.1.5"
	expect_rcpt "$MAILUSER+lists@localhost" "^550 5.1.1"
}
sub_addressing_can_be_turned_off_or_changed_cleanup()
{
	smtpd_cleanup
}

atf_test_case virtual_domain_maps_addresses_to_users cleanup
virtual_domain_maps_addresses_to_users_head()
{
	atf_set descr "A virtual table maps user@domain, user+tag@domain and" \
	    "a @domain catch-all to local users; other addresses are unknown"
}
virtual_domain_maps_addresses_to_users_body()
{
	W=$(pwd)
	free_port > port
	cat > virtual <<V
info@virt.example	$MAILUSER
@catch.example		$MAILUSER
V
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $(port)
table virtual file:$W/virtual
table vdomains { virt.example, catch.example }
action "virt" maildir "$W/Maildir" virtual <virtual>
match from any for domain <vdomains> action "virt"
CONF
	smtpd_start
	expect_rcpt "info@virt.example" "^250 2.1.5"
	expect_rcpt "Info@VIRT.example" "^250 2.1.5"
	expect_rcpt "info+x@virt.example" "^250 2.1.5"
	expect_rcpt "anyone@catch.example" "^250 2.1.5"
	expect_rcpt "other@virt.example" "^550 5.1.1"
	# A system user's name is no address in a virtual domain.
	expect_rcpt "$MAILUSER@virt.example" "^550 5.1.1"
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --to "info@virt.example" --body virtual
	wait_mail || atf_fail "not delivered"
	atf_check -s exit:0 -o match:"^Delivered-To: info@virt.example$" \
	    cat "$(maildir_messages)"
}
virtual_domain_maps_addresses_to_users_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case a_tag_reaches_the_user
	atf_add_test_case sub_addressing_can_be_turned_off_or_changed
	atf_add_test_case virtual_domain_maps_addresses_to_users
}
