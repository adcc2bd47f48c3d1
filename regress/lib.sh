# Shared by the integration tests (atf-sh): start an smtpd of the test's
# own on a free 127.0.0.1 port, with its spool, control socket, maildir
# and log in the test's work directory; wait for log lines; look at the
# maildir.  Each test reads as the scenario it checks.

TOP=$(cd "$(atf_get_srcdir)/../.." && pwd)
SMTPD="$TOP/smtpd/smtpd"
SMTPCTL="$TOP/smtpd/smtpctl"
MAILUSER=$(id -un)

# A port nobody listens on now, chosen by the kernel.
free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Write smtpd.conf for this test; lines read from stdin are appended.
smtpd_config()
{
	W=$(pwd)
	PORT=$(free_port)
	echo "$PORT" > port
	cat > smtpd.conf <<CONF
queue directory "$W/spool"
control socket "$W/smtpd.sock"
listen on 127.0.0.1 port $PORT
action "local" maildir "$W/Maildir"
match from any for local action "local"
CONF
	[ -t 0 ] || cat >> smtpd.conf
}

port()
{
	cat port
}

# Start smtpd in the foreground (in the background of this shell) and
# wait until the listener says it is ready.  SMTPD_FLAGS replaces the
# default -v.
smtpd_start()
{
	[ -f smtpd.conf ] || smtpd_config </dev/null
	"$SMTPD" -d ${SMTPD_FLAGS--v} -f smtpd.conf >smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" || atf_fail "smtpd did not start: $(cat smtpd.log)"
}

smtpd_pid()
{
	cat smtpd.pid
}

# Stop the instance if it runs; used by every cleanup routine.
smtpd_cleanup()
{
	[ -f smtpd.pid ] || return 0
	kill -TERM "$(cat smtpd.pid)" 2>/dev/null || true
	wait_gone "$(cat smtpd.pid)" || kill -KILL "$(cat smtpd.pid)" 2>/dev/null
	return 0
}

# wait_until COMMAND...: until the command succeeds, for up to 20
# seconds; each test waits on the event it needs (a log line, a file, a
# process gone), never on a fixed delay.
wait_until()
{
	_n=0
	until "$@"; do
		_n=$((_n + 1))
		[ $_n -gt 400 ] && return 1
		sleep 0.05
	done
	return 0
}

_log_has()
{
	[ "$(grep -cE -- "$1" smtpd.log 2>/dev/null)" -ge "$2" ]
}

# wait_log PATTERN [COUNT]: until smtpd.log holds COUNT lines matching
# the extended regular expression (default 1).
wait_log()
{
	wait_until _log_has "$1" "${2:-1}"
}

_gone()
{
	kill -0 "$1" 2>/dev/null || return 0
	# A zombie of ours has exited; reap it.
	if grep -q '^State:.*Z' /proc/"$1"/status 2>/dev/null; then
		wait "$1" 2>/dev/null
		return 0
	fi
	return 1
}

# wait_gone PID: until the process has exited.
wait_gone()
{
	wait_until _gone "$1"
}

# The pids of smtpd's children, one per line, with their titles.
smtpd_children()
{
	ps -o pid=,args= --ppid "$(smtpd_pid)"
}

child_pid()
{
	smtpd_children | awk -v role="smtpd: $1" '
	    { pid = $1; $1 = ""; sub(/^ /, ""); if ($0 == role) print pid }'
}

# The messages in the test's maildir, oldest first.
maildir_messages()
{
	ls -tr "$(pwd)/Maildir/new" 2>/dev/null | sed "s|^|$(pwd)/Maildir/new/|"
}

_mail_count_is()
{
	[ "$(maildir_messages | grep -c .)" -ge "$1" ]
}

# wait_mail [COUNT]: until the maildir holds COUNT messages (default 1).
wait_mail()
{
	wait_until _mail_count_is "${1:-1}"
}

# The body of a stored message: everything after the first empty line.
message_body()
{
	sed '1,/^$/d' "$1"
}

# dialog [--smtps] < script: a byte-exact SMTP conversation with this
# test's smtpd; see smtpdialog.py for the script's steps.
dialog()
{
	python3 "$TOP/regress/smtpdialog.py" "$@" "$(port)"
}

# make_pki NAME: a self-signed certificate NAME.crt and key NAME.key in
# the work directory.
make_pki()
{
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$(pwd)/$1.key" \
	    -out "$(pwd)/$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null ||
	    atf_fail "openssl could not make a certificate"
}

# add_creds FILE USER PASSWORD: append a sha512-crypt credential.
add_creds()
{
	printf '%s %s\n' "$2" "$(openssl passwd -6 "$3")" >> "$1"
}

# smtpd_start_isolated [ADDRESS]: smtpd in a network namespace of its
# own, with ADDRESS (default $OUTSIDE) on the loopback interface next to
# 127.0.0.1: a client inside that connects to ADDRESS comes from it, an
# address that is not a loopback one.
smtpd_start_isolated()
{
	unshare -n true 2>/dev/null ||
	    atf_skip "cannot make a network namespace here"
	unshare -n sh -c "ip link set lo up && ip addr add ${1:-$OUTSIDE}/32 \
	    dev lo && exec \"\$@\"" sh "$SMTPD" -d -v -f smtpd.conf \
	    >smtpd.log 2>&1 &
	echo $! > smtpd.pid
	wait_log "smtp-in ready" || atf_fail "smtpd did not start: $(cat smtpd.log)"
}

# in_netns COMMAND...: run a command in the namespace of an isolated smtpd.
in_netns()
{
	nsenter --net=/proc/"$(smtpd_pid)"/ns/net "$@"
}

# submit_env: point sendmail, mailq and newaliases (smtpctl by those
# names) at this test's smtpd: its submission socket, which is beside
# the control socket, its offline directory, beside the queue, and its
# control socket.
submit_env()
{
	export SMTPD_SUBMIT_SOCKET="$(pwd)/smtpd-submit.sock"
	export SMTPD_OFFLINE_DIR="$(pwd)/spool-offline"
	export SMTPD_CONTROL_SOCKET="$(pwd)/smtpd.sock"
}
