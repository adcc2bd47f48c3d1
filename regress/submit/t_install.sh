#! /usr/bin/env atf-sh
#
# make install into a DESTDIR: the tree it makes, a daemon run from it
# with the installed default configuration (moved to the test's ports
# and paths) delivering mail that bsd-mailx sent through the installed
# sendmail, the sendmail links that never replace another mail
# system's, and make uninstall leaving nothing behind.

. "$(atf_get_srcdir)/../lib.sh"

# The installed default, moved into the work directory: its queue,
# sockets and aliases, a free port, delivery into the test's maildir.
installed_config()
{
	R=$1
	W=$(pwd)
	PORT=$(free_port)
	echo "$PORT" > port
	{ echo "queue directory \"$W/spool\""
	  echo "control socket \"$W/smtpd.sock\""
	  sed -e "s|^listen on localhost port 25|listen on 127.0.0.1 port $PORT|" \
	      -e "s|file:/etc/aliases|file:$R/etc/aliases|" \
	      -e "s|^action \"local\" mbox alias|action \"local\" maildir \"$W/Maildir\" alias|" \
	      "$R/etc/smtpd/smtpd.conf"; } > smtpd.conf
}

atf_test_case install_run_uninstall cleanup
install_run_uninstall_head()
{
	atf_set descr "make install DESTDIR=... makes the tree; a daemon run" \
	    "from it delivers what mail(1) sends through its sendmail;" \
	    "make uninstall leaves DESTDIR empty"
	atf_set require.user root
	atf_set require.progs mail systemd-analyze
}
install_run_uninstall_body()
{
	R=$(pwd)/root
	mkdir "$R"
	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$TOP" -s install DESTDIR="$R" PREFIX=/usr
	for f in usr/sbin/smtpd usr/sbin/smtpctl etc/smtpd/smtpd.conf \
	    etc/aliases etc/systemd/system/smtpd.service \
	    usr/share/man/man8/sendmail.8 usr/share/man/man5/table.5 \
	    usr/share/man/man5/smtpd.conf.5; do
		[ -f "$R/$f" ] || atf_fail "$f not installed"
	done
	for n in sendmail send-mail mailq newaliases makemap; do
		atf_check -s exit:0 -o inline:"smtpctl\n" readlink "$R/usr/sbin/$n"
	done
	atf_check -s exit:0 -o inline:"2555 _smtpsub\n" \
	    stat -c "%a %G" "$R/usr/sbin/smtpctl"
	atf_check -s exit:0 -o inline:"1730 root _smtpsub\n" \
	    stat -c "%a %U %G" "$R/var/spool/smtpd-offline"
	atf_check -s exit:0 -o inline:"700 _smtpq\n" \
	    stat -c "%a %U" "$R/var/spool/smtpd"
	# The unit, with the installed paths as they are under DESTDIR.
	sed "s|/usr/sbin/|$R/usr/sbin/|g" \
	    "$R/etc/systemd/system/smtpd.service" > smtpd.service
	atf_check -s exit:0 systemd-analyze verify --man=no \
	    "$(pwd)/smtpd.service"
	atf_check -s exit:0 -o match:"no database" -e match:"no database" \
	    sh -c "'$R/usr/sbin/makemap' 2>&1; '$R/usr/sbin/makemap' >&2"

	installed_config "$R"
	SMTPD="$R/usr/sbin/smtpd"
	smtpd_start
	submit_env
	echo "set sendmail=$R/usr/sbin/sendmail" > mailrc
	export MAILRC="$(pwd)/mailrc"
	echo "sent with mail" |
	    atf_check -s exit:0 mail -s "installed" postmaster
	wait_mail || atf_fail "not delivered: $(cat smtpd.log)"
	m=$(maildir_messages)
	atf_check -s exit:0 -o match:"^Subject: installed" \
	    -o match:"^Received: by .* \(from userid 0, user root\)" \
	    -o match:"^Delivered-To: postmaster@" cat "$m"
	message_body "$m" > body
	atf_check -s exit:0 -o inline:"sent with mail\n" cat body
	smtpd_cleanup

	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$TOP" -s uninstall DESTDIR="$R" PREFIX=/usr
	atf_check -s exit:0 -o empty find "$R" -mindepth 1
}
install_run_uninstall_cleanup()
{
	smtpd_cleanup
}

atf_test_case sendmail_links_never_replace_another cleanup
sendmail_links_never_replace_another_head()
{
	atf_set descr "make install-sendmail-links refuses, changing nothing," \
	    "when another mail system's sendmail is there; otherwise the" \
	    "links are made, and uninstall removes them"
	atf_set require.user root
}
sendmail_links_never_replace_another_body()
{
	R=$(pwd)/root
	mkdir "$R"
	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$TOP" -s install DESTDIR="$R" PREFIX=/usr/local
	mkdir -p "$R/usr/lib"
	echo "another mailer" > "$R/usr/lib/sendmail"
	atf_check -s not-exit:0 -o ignore \
	    -e match:"/usr/lib/sendmail exists.*nothing was changed" \
	    make -C "$TOP" -s install-sendmail-links DESTDIR="$R" \
	    PREFIX=/usr/local
	atf_check -s exit:0 -o inline:"another mailer\n" cat "$R/usr/lib/sendmail"
	[ -e "$R/usr/sbin/sendmail" ] && atf_fail "a link was made"
	rm "$R/usr/lib/sendmail"
	rmdir "$R/usr/lib"
	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$TOP" -s install-sendmail-links DESTDIR="$R" \
	    PREFIX=/usr/local
	for n in usr/sbin/sendmail usr/lib/sendmail usr/bin/mailq \
	    usr/bin/newaliases; do
		atf_check -s exit:0 -o inline:"/usr/local/sbin/smtpctl\n" \
		    readlink "$R/$n"
	done
	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$TOP" -s uninstall DESTDIR="$R" PREFIX=/usr/local
	atf_check -s exit:0 -o empty find "$R" -mindepth 1
}
sendmail_links_never_replace_another_cleanup()
{
	:
}

atf_init_test_cases()
{
	atf_add_test_case install_run_uninstall
	atf_add_test_case sendmail_links_never_replace_another
}
