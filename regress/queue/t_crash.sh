#! /usr/bin/env atf-sh
#
# The queue's promise under crashes: smtpd killed (SIGKILL, whole process
# group) at random points while it receives and delivers, then started
# again; every message that got 250 is delivered, and exactly once.

. "$(atf_get_srcdir)/../lib.sh"

atf_test_case acknowledged_mail_survives_kills_and_arrives_once cleanup
acknowledged_mail_survives_kills_and_arrives_once_head()
{
	atf_set descr "300 messages from 4 clients while smtpd is killed 6" \
	    "times: each one acknowledged is delivered exactly once, and the" \
	    "queue ends empty"
	atf_set timeout 300
}
acknowledged_mail_survives_kills_and_arrives_once_body()
{
	smtpd_config </dev/null
	MAILUSER=$MAILUSER atf_check -s exit:0 -o save:summary -e ignore \
	    python3 "$(atf_get_srcdir)/crashload.py" "$SMTPD" \
	    "$(pwd)/smtpd.conf" "$(port)" "$(pwd)/Maildir" "$(pwd)/smtpd.log" \
	    300 6 "$(pwd)/spool"
	cat summary
	atf_check -s exit:0 -o match:"lost=0 duplicates=0" cat summary
	atf_check -s exit:0 -o empty ls spool/corrupt
}
acknowledged_mail_survives_kills_and_arrives_once_cleanup()
{
	pkill -KILL -f "smtpd -d -f $(pwd)/smtpd.conf" 2>/dev/null
	return 0
}

atf_init_test_cases()
{
	atf_add_test_case acknowledged_mail_survives_kills_and_arrives_once
}
