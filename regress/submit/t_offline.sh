#! /usr/bin/env atf-sh
#
# The offline directory: while smtpd is down, sendmail leaves each
# message there as a file of the user's own; at start smtpd submits
# each as its owner, and moves aside every file it cannot trust.

. "$(atf_get_srcdir)/../lib.sh"

# The daemon makes the directory at its first start; then it is down.
offline_setup()
{
	getent group _smtpsub >/dev/null ||
	    atf_fail "group _smtpsub missing: run make deps"
	smtpd_start
	smtpd_cleanup
	rm -f smtpd.pid
	chmod 0755 .
	ln -s "$SMTPCTL" sendmail
	submit_env
	atf_check -s exit:0 -o inline:"1730 root _smtpsub\n" \
	    stat -c "%a %U %G" spool-offline
}

# setpriv $(as USER) COMMAND...: run as USER with the submission group,
# as the set-group-id sendmail runs.
as()
{
	echo "--reuid=$1 --regid=$(id -g "$1") --groups=_smtpsub"
}

atf_test_case three_users_submit_while_down cleanup
three_users_submit_while_down_head()
{
	atf_set descr "Three users submit while smtpd is down; at start each" \
	    "message is delivered, submitted as its own user"
	atf_set require.user root
	atf_set require.progs setpriv
}
three_users_submit_while_down_body()
{
	offline_setup
	for u in nobody daemon bin; do
		printf 'Subject: from %s\n\nwritten offline\n' "$u" |
		    atf_check -s exit:0 setpriv $(as "$u") ./sendmail "$MAILUSER"
	done
	atf_check -s exit:0 -o inline:"bin\ndaemon\nnobody\n" \
	    sh -c "find spool-offline -maxdepth 1 -type f -printf '%u\\n' | sort"
	smtpd_start
	wait_mail 3 || atf_fail "not all delivered: $(cat smtpd.log)"
	for u in nobody daemon bin; do
		m=$(grep -l "^Subject: from $u" $(maildir_messages))
		atf_check -s exit:0 \
		    -o match:"^Received: by .* \(from userid $(id -u $u), user $u\)" \
		    -o match:"^Return-Path: <$u@" cat "$m"
		atf_check -s exit:1 grep X-Authentication-Warning "$m"
	done
	atf_check -s exit:0 -o match:"result=submitted" cat smtpd.log
	atf_check -s exit:0 -o inline:"bad\n" ls spool-offline
}
three_users_submit_while_down_cleanup()
{
	smtpd_cleanup
}

atf_test_case hostile_files_are_moved_aside cleanup
hostile_files_are_moved_aside_head()
{
	atf_set descr "A symbolic link, a hard link, garbage, a file whose" \
	    "owner is not the uid it names, one too large and a fifo are" \
	    "each moved aside and logged; the good file is delivered"
	atf_set require.user root
	atf_set require.progs setpriv
}
hostile_files_are_moved_aside_body()
{
	offline_setup
	o=spool-offline
	printf 'Subject: good\n\nfine\n' |
	    atf_check -s exit:0 setpriv $(as nobody) ./sendmail "$MAILUSER"
	printf 'Subject: linked\n\nlinked\n' |
	    atf_check -s exit:0 setpriv $(as daemon) ./sendmail "$MAILUSER"
	good=$(ls $o | grep -v bad | xargs -I{} stat -c "%U {}" $o/{} |
	    awk '$1 == "nobody" { print $2 }')
	linked=$(ls $o | grep -v bad | xargs -I{} stat -c "%U {}" $o/{} |
	    awk '$1 == "daemon" { print $2 }')
	# A second name for daemon's file, elsewhere: it has two links.
	ln "$o/$linked" daemon-copy
	ln -s /etc/shadow "$o/symlink"
	printf 'not an offline file\n' > "$o/garbage"
	chown nobody "$o/garbage"
	# nobody's file, claiming to be root's.
	sed 's/^uid .*/uid 0/' "$o/$good" > "$o/liar"
	chown nobody "$o/liar"
	truncate -s 64M "$o/large"
	chown nobody "$o/large"
	mkfifo "$o/fifo"
	smtpd_start
	wait_mail 1 || atf_fail "the good file was not delivered"
	for r in "symbolic link" "hard link" "not an offline file" \
	    "owner is not the user the file names" "too large" \
	    "not a regular file"; do
		wait_log "result=refused reason=\"$r\"" ||
		    atf_fail "no refusal for $r: $(cat smtpd.log)"
	done
	atf_check -s exit:0 -o match:"^Subject: good" cat $(maildir_messages)
	atf_check -s exit:0 \
	    -o inline:"$linked\nfifo\ngarbage\nlarge\nliar\nsymlink\n" \
	    ls "$o/bad"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd stopped"
	# Nothing else was delivered, now or later.
	atf_check -s exit:0 -o inline:"1\n" sh -c "ls Maildir/new | wc -l"
	atf_check -s exit:1 grep -r "root:" Maildir
}
hostile_files_are_moved_aside_cleanup()
{
	smtpd_cleanup
}

atf_test_case unprivileged_daemon_keeps_its_users_mail cleanup
unprivileged_daemon_keeps_its_users_mail_head()
{
	atf_set descr "An smtpd run by an ordinary user takes that user's" \
	    "submissions, offline ones too, and moves aside another's file"
	atf_set require.user root
	atf_set require.progs setpriv
}
unprivileged_daemon_keeps_its_users_mail_body()
{
	dir=$(mktemp -d /tmp/smtpd-unpriv.XXXXXX)
	echo "$dir" > unpriv-dir
	chmod 0755 "$dir"
	chown nobody "$dir"
	port=$(free_port)
	cat > "$dir/smtpd.conf" <<CONF
queue directory "$dir/spool"
control socket "$dir/smtpd.sock"
listen on 127.0.0.1 port $port
action "local" maildir "$dir/Maildir"
match from any for local action "local"
CONF
	ln -s "$SMTPCTL" "$dir/sendmail"
	export SMTPD_SUBMIT_SOCKET="$dir/smtpd-submit.sock"
	export SMTPD_OFFLINE_DIR="$dir/spool-offline"
	nobody="--reuid=nobody --regid=nogroup --clear-groups"
	start()
	{
		setpriv $nobody "$SMTPD" -d -v -f "$dir/smtpd.conf" \
		    >smtpd.log 2>&1 &
		echo $! > smtpd.pid
		wait_log "smtp-in ready" ||
		    atf_fail "smtpd did not start: $(cat smtpd.log)"
	}
	start
	atf_check -s exit:0 -o inline:"700 nobody\n" \
	    stat -c "%a %U" "$dir/spool-offline"
	printf 'Subject: online\n\nhi\n' | atf_check -s exit:0 \
	    setpriv $nobody "$dir/sendmail" nobody
	wait_log "result=delivered" || atf_fail "not delivered"
	smtpd_cleanup
	rm -f smtpd.pid
	printf 'Subject: offline\n\nhi\n' | atf_check -s exit:0 \
	    setpriv $nobody "$dir/sendmail" nobody
	# Root's file, there by root's hand: not nobody's to submit.
	sed 's/^uid .*/uid 0/' "$(ls -d "$dir"/spool-offline/* | head -1)" \
	    > "$dir/spool-offline/roots"
	start
	wait_log "result=delivered" || atf_fail "offline not delivered"
	wait_log "offline file=roots uid=0 result=refused reason=\"owner is not the user smtpd runs as\"" ||
	    atf_fail "root's file not refused: $(cat smtpd.log)"
	atf_check -s exit:0 -o inline:"roots\n" ls "$dir/spool-offline/bad"
	atf_check -s exit:0 -o match:"Subject: offline" \
	    -o match:"from userid 65534, user nobody" \
	    sh -c "cat '$dir'/Maildir/new/*"
}
unprivileged_daemon_keeps_its_users_mail_cleanup()
{
	smtpd_cleanup
	[ -f unpriv-dir ] && rm -rf "$(cat unpriv-dir)"
	return 0
}

atf_init_test_cases()
{
	atf_add_test_case unprivileged_daemon_keeps_its_users_mail
	atf_add_test_case three_users_submit_while_down
	atf_add_test_case hostile_files_are_moved_aside
}
