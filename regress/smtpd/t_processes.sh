#! /usr/bin/env atf-sh
#
# The process model on a running daemon: one process per role, each in
# its sandbox, under its user and root; the death of any stops them all.

. "$(atf_get_srcdir)/../lib.sh"

ROLES="smtp lookup auth queue mta control"

atf_test_case every_role_runs_in_its_own_process cleanup
every_role_runs_in_its_own_process_head()
{
	atf_set descr "The parent starts one child per role, each titled" \
	    "with its role"
}
every_role_runs_in_its_own_process_body()
{
	smtpd_start
	atf_check -s exit:0 -o match:"^smtpd: parent" \
	    cat /proc/"$(smtpd_pid)"/cmdline
	for role in $ROLES; do
		pid=$(child_pid "$role")
		[ -n "$pid" ] || atf_fail "no $role process: $(smtpd_children)"
	done
	atf_check_equal 6 "$(smtpd_children | grep -c .)"
}
every_role_runs_in_its_own_process_cleanup()
{
	smtpd_cleanup
}

atf_test_case every_child_is_sandboxed cleanup
every_child_is_sandboxed_head()
{
	atf_set descr "Every child runs under a seccomp filter with" \
	    "no_new_privs set; the parent, which forks agents, does not"
}
every_child_is_sandboxed_body()
{
	smtpd_start
	for role in $ROLES; do
		pid=$(child_pid "$role")
		atf_check -s exit:0 -o match:"^Seccomp:[[:space:]]+2$" \
		    grep '^Seccomp:' /proc/"$pid"/status
		atf_check -s exit:0 -o match:"^NoNewPrivs:[[:space:]]+1$" \
		    grep '^NoNewPrivs:' /proc/"$pid"/status
	done
	atf_check -s exit:0 -o match:"^Seccomp:[[:space:]]+0$" \
	    grep '^Seccomp:' /proc/"$(smtpd_pid)"/status
}
every_child_is_sandboxed_cleanup()
{
	smtpd_cleanup
}

# expect_identity ROLE USER ROOT
expect_identity()
{
	pid=$(child_pid "$1")
	uid=$(awk '/^Uid:/ { print $2 " " $3 " " $4 " " $5 }' \
	    /proc/"$pid"/status)
	want=$(id -u "$2")
	atf_check_equal "$want $want $want $want" "$uid"
	atf_check_equal "$3" "$(readlink /proc/"$pid"/root)"
}

atf_test_case children_run_as_their_users_in_their_roots cleanup
children_run_as_their_users_in_their_roots_head()
{
	atf_set descr "As root, the network-facing children run as _smtpd" \
	    "chrooted to /var/empty and the queue as _smtpq in the spool;" \
	    "as anyone else, all run as that user, without chroot"
}
children_run_as_their_users_in_their_roots_body()
{
	smtpd_start
	if [ "$(id -u)" -eq 0 ]; then
		expect_identity smtp _smtpd /var/empty
		expect_identity mta _smtpd /var/empty
		expect_identity control _smtpd /var/empty
		expect_identity lookup _smtpd /
		expect_identity auth _smtpd /
		expect_identity queue _smtpq "$(pwd)/spool"
	else
		for role in $ROLES; do
			expect_identity "$role" "$(id -un)" /
		done
	fi
}
children_run_as_their_users_in_their_roots_cleanup()
{
	smtpd_cleanup
}

atf_test_case unprivileged_instance_keeps_the_sandbox cleanup
unprivileged_instance_keeps_the_sandbox_head()
{
	atf_set descr "An smtpd started by an ordinary user runs the same" \
	    "sandboxed processes without chroot and delivers to that user"
	atf_set require.user root
	atf_set require.progs setpriv
}
unprivileged_instance_keeps_the_sandbox_body()
{
	# The instance runs as nobody, so its files live where nobody can go.
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
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$SMTPD" -d -v -f "$dir/smtpd.conf" >smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" || atf_fail "smtpd did not start: $(cat smtpd.log)"
	for role in $ROLES; do
		expect_identity "$role" nobody /
		pid=$(child_pid "$role")
		atf_check -s exit:0 -o match:"^Seccomp:[[:space:]]+2$" \
		    grep '^Seccomp:' /proc/"$pid"/status
	done
	atf_check -s exit:0 -o match:"250 2.0.0 Ok" -e ignore swaks \
	    --server 127.0.0.1 --port "$port" --to nobody@localhost \
	    --body "to nobody"
	atf_check -s not-exit:0 -o match:"550 5.1.1" -e ignore swaks \
	    --server 127.0.0.1 --port "$port" --to root@localhost
	wait_log "result=delivered" || atf_fail "not delivered"
	atf_check -s exit:0 -o inline:"nobody\n" sh -c \
	    "stat -c %U '$dir'/Maildir/new/*"
}
unprivileged_instance_keeps_the_sandbox_cleanup()
{
	smtpd_cleanup
	[ -f unpriv-dir ] && rm -rf "$(cat unpriv-dir)"
	return 0
}

atf_test_case a_killed_child_stops_the_daemon cleanup
a_killed_child_stops_the_daemon_head()
{
	atf_set descr "When any child dies the parent logs which and how," \
	    "stops every other process and exits non-zero"
}
a_killed_child_stops_the_daemon_body()
{
	smtpd_start
	children=$(smtpd_children | awk '{ print $1 }')
	victim=$(child_pid lookup)
	kill -KILL "$victim"
	wait_gone "$(smtpd_pid)" || atf_fail "parent still running"
	wait "$(smtpd_pid)"
	status=$?
	atf_check_equal 1 "$status"
	atf_check -s exit:0 -o ignore grep -E \
	    "child lookup \(pid $victim\) killed by signal 9" smtpd.log
	for pid in $children; do
		kill -0 "$pid" 2>/dev/null && atf_fail "child $pid survived"
	done
	return 0
}
a_killed_child_stops_the_daemon_cleanup()
{
	smtpd_cleanup
}

atf_test_case sigterm_stops_every_process cleanup
sigterm_stops_every_process_head()
{
	atf_set descr "SIGTERM to the parent stops all processes, exit 0," \
	    "and removes the control socket"
}
sigterm_stops_every_process_body()
{
	smtpd_start
	children=$(smtpd_children | awk '{ print $1 }')
	kill -TERM "$(smtpd_pid)"
	wait_gone "$(smtpd_pid)" || atf_fail "parent still running"
	wait "$(smtpd_pid)"
	atf_check_equal 0 "$?"
	for pid in $children; do
		kill -0 "$pid" 2>/dev/null && atf_fail "child $pid survived"
	done
	atf_check -s exit:1 test -e smtpd.sock
}
sigterm_stops_every_process_cleanup()
{
	smtpd_cleanup
}

atf_test_case smtpctl_stops_the_daemon_on_its_own_socket cleanup
smtpctl_stops_the_daemon_on_its_own_socket_head()
{
	atf_set descr "smtpctl -s reaches an instance on a non-default" \
	    "control socket and stops it"
}
smtpctl_stops_the_daemon_on_its_own_socket_body()
{
	smtpd_start
	atf_check -s exit:0 -o inline:"smtpd stopping\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" stop
	wait_gone "$(smtpd_pid)" || atf_fail "parent still running"
	atf_check -s exit:0 -o ignore grep "smtpd stopping on request" \
	    smtpd.log
}
smtpctl_stops_the_daemon_on_its_own_socket_cleanup()
{
	smtpd_cleanup
}

atf_test_case control_socket_is_for_the_owner_only cleanup
control_socket_is_for_the_owner_only_head()
{
	atf_set descr "The control socket is mode 0600; another user's" \
	    "smtpctl gets a permission error and the daemon carries on"
}
control_socket_is_for_the_owner_only_body()
{
	smtpd_start
	atf_check -s exit:0 -o inline:"600\n" stat -c %a smtpd.sock
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		chmod 0755 .
		atf_check -s exit:1 -e match:"permission denied" \
		    setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    "$SMTPCTL" -s "$(pwd)/smtpd.sock" stop
		kill -0 "$(smtpd_pid)" || atf_fail "smtpd stopped"
	fi
}
control_socket_is_for_the_owner_only_cleanup()
{
	smtpd_cleanup
}

atf_test_case control_socket_group_members_are_served cleanup
control_socket_group_members_are_served_head()
{
	atf_set descr "With control socket group, the socket is mode 0660 in" \
	    "that group; a member is served, anyone else is refused"
	atf_set require.user root
	atf_set require.progs setpriv
}
control_socket_group_members_are_served_body()
{
	smtpd_config <<CONF
control socket group "nogroup"
CONF
	smtpd_start
	chmod 0755 .
	atf_check -s exit:0 -o inline:"660 nogroup\n" stat -c "%a %G" smtpd.sock
	atf_check -s exit:0 -o match:"^smtp.sessions=" \
	    setpriv --reuid=nobody --regid=daemon --groups=nogroup \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" show stats
	atf_check -s exit:0 -o match:"^smtp.sessions=" \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" show stats
	atf_check -s exit:1 -e match:"permission denied" \
	    setpriv --reuid=nobody --regid=daemon --clear-groups \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" show stats
}
control_socket_group_members_are_served_cleanup()
{
	smtpd_cleanup
}

atf_test_case a_session_hangs_up_when_lookup_does_not_answer cleanup
a_session_hangs_up_when_lookup_does_not_answer_head()
{
	atf_set descr "A session waiting on a stuck lookup process is closed" \
	    "after the command timeout; the late answer finds it gone and" \
	    "the daemon carries on"
}
a_session_hangs_up_when_lookup_does_not_answer_body()
{
	smtpd_config <<CONF
smtp limit command-timeout 1s
CONF
	smtpd_start
	lookup=$(child_pid lookup)
	kill -STOP "$lookup"
	echo "$lookup" > lookup.stopped
	python3 - "$(port)" <<'PY' || atf_fail "the session was not closed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 20)
s.settimeout(20)
# No banner comes while lookup is stopped; the connection must end.
data = s.recv(512)
sys.exit(0 if data == b"" else "got %r" % data)
PY
	wait_log "result=timeout reason=no-answer" || atf_fail "not logged"
	kill -CONT "$lookup"
	rm lookup.stopped
	atf_check -s exit:0 -o match:"^220 " python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $(port)), 20)
print(s.recv(512).decode().strip())"
	kill -0 "$(smtpd_pid)" || atf_fail "smtpd died"
}
a_session_hangs_up_when_lookup_does_not_answer_cleanup()
{
	[ -f lookup.stopped ] && kill -CONT "$(cat lookup.stopped)"
	smtpd_cleanup
}

atf_test_case a_second_instance_does_not_steal_the_socket cleanup
a_second_instance_does_not_steal_the_socket_head()
{
	atf_set descr "A second smtpd on a live control socket refuses to" \
	    "start and leaves the first one running"
}
a_second_instance_does_not_steal_the_socket_body()
{
	smtpd_start
	sed "s/port $(port)/port $(free_port)/" smtpd.conf > second.conf
	atf_check -s exit:1 -e match:"another smtpd is running" \
	    "$SMTPD" -d -f second.conf
	atf_check -s exit:0 -o inline:"smtpd stopping\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" stop
}
a_second_instance_does_not_steal_the_socket_cleanup()
{
	smtpd_cleanup
}

atf_test_case runs_as_a_daemon_without_d cleanup
runs_as_a_daemon_without_d_head()
{
	atf_set descr "Without -d smtpd detaches, still delivers, and stops" \
	    "on smtpctl stop"
}
runs_as_a_daemon_without_d_body()
{
	smtpd_config </dev/null
	atf_check -s exit:0 -o empty -e empty "$SMTPD" -f smtpd.conf
	wait_until test -S smtpd.sock || atf_fail "no control socket"
	atf_check -s exit:0 -o match:"250 2.0.0 Ok" -e ignore swaks \
	    --server 127.0.0.1 --port "$(port)" --to "$MAILUSER@localhost"
	wait_mail || atf_fail "not delivered"
	atf_check -s exit:0 -o inline:"smtpd stopping\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" stop
	wait_until test ! -S smtpd.sock || atf_fail "still running"
}
runs_as_a_daemon_without_d_cleanup()
{
	[ -S smtpd.sock ] && "$SMTPCTL" -s "$(pwd)/smtpd.sock" stop
	return 0
}

atf_test_case smtpctl_log_verbose_reaches_every_process cleanup
smtpctl_log_verbose_reaches_every_process_head()
{
	atf_set descr "smtpctl log verbose turns on debug logging in the" \
	    "listener too, and log brief turns it off again"
}
smtpctl_log_verbose_reaches_every_process_body()
{
	SMTPD_FLAGS= smtpd_start
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --quit-after EHLO
	wait_log "result=closed" 1 || atf_fail "no session"
	atf_check -s exit:1 grep -q 'command="EHLO' smtpd.log
	atf_check -s exit:0 -o inline:"verbose logging\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" log verbose
	wait_log "smtp: verbose logging on" || atf_fail "smtp did not hear"
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --quit-after EHLO
	wait_log "result=closed" 2 || atf_fail "no session"
	atf_check -s exit:0 grep -q 'command="EHLO' smtpd.log
	atf_check -s exit:0 -o inline:"brief logging\n" \
	    "$SMTPCTL" -s "$(pwd)/smtpd.sock" log brief
	wait_log "smtp: verbose logging off" || atf_fail "smtp did not hear"
	atf_check -s exit:0 -o ignore -e ignore swaks --server 127.0.0.1 \
	    --port "$(port)" --quit-after EHLO
	wait_log "result=closed" 3 || atf_fail "no session"
	atf_check_equal 1 "$(grep -c 'command="EHLO' smtpd.log)"
}
smtpctl_log_verbose_reaches_every_process_cleanup()
{
	smtpd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case smtpctl_log_verbose_reaches_every_process
	atf_add_test_case runs_as_a_daemon_without_d
	atf_add_test_case every_role_runs_in_its_own_process
	atf_add_test_case every_child_is_sandboxed
	atf_add_test_case children_run_as_their_users_in_their_roots
	atf_add_test_case unprivileged_instance_keeps_the_sandbox
	atf_add_test_case a_killed_child_stops_the_daemon
	atf_add_test_case sigterm_stops_every_process
	atf_add_test_case smtpctl_stops_the_daemon_on_its_own_socket
	atf_add_test_case control_socket_is_for_the_owner_only
	atf_add_test_case control_socket_group_members_are_served
	atf_add_test_case a_session_hangs_up_when_lookup_does_not_answer
	atf_add_test_case a_second_instance_does_not_steal_the_socket
}
