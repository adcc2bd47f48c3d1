# Shared by the integration tests (atf-sh): start an smtpd of the test's
# own on a free 127.0.0.1 port, with its spool, control socket, maildir
# and log in the test's work directory; wait for log lines; look at the
# maildir.  Each test reads as the scenario it checks.

TOP=$(cd "$(atf_get_srcdir)/../.." && pwd)
SMTPD="$TOP/smtpd/smtpd"
SMTPCTL="$TOP/smtpd/smtpctl"
MAILUSER=$(id -un)

# A port that refuses every connection for the whole test: nothing
# listens on port 1, and only root could bind it.  A free_port() may be
# taken by another test running meanwhile.
DEAD_PORT=1

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
	# Relayed mail never reaches the system's resolver (and through it
	# real hosts): a test that relays by MX runs its own DNS server.
	grep -q '^mta resolver' smtpd.conf ||
	    printf '\nmta resolver 127.0.0.1 port %s\n' "$(free_port)" \
	    >> smtpd.conf
	# A log left by an earlier instance must not answer the wait below.
	: > smtpd.log
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

# send_body FROM MESSAGE-ID [SUBJECT]: the file "body" (lines ending in
# LF, sent as CRLF) as one message from FROM to $MAILUSER@localhost with
# Python's smtplib, under a Message-ID: and, when given, a Subject:.
send_body()
{
	atf_check -s exit:0 python3 - "$(port)" "$MAILUSER@localhost" \
	    "$@" <<'PY'
import smtplib, sys
port, rcpt, sender, msgid = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    sys.argv[4]
head = "Message-ID: <%s>\n" % msgid
if len(sys.argv) > 5:
    head = "Subject: %s\n" % sys.argv[5] + head
msg = (head.encode() + b"\n" + open("body", "rb").read()).replace(b"\n",
    b"\r\n")
with smtplib.SMTP("127.0.0.1", port) as s:
    s.ehlo("client.test")
    refused = s.sendmail(sender, [rcpt], msg)
    assert refused == {}, refused
PY
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
# address that is not a loopback one.  With HOSTS set to a file's path,
# smtpd also has a mount namespace where that file is /etc/hosts.
smtpd_start_isolated()
{
	unshare -n true 2>/dev/null ||
	    atf_skip "cannot make a network namespace here"
	unshare -n ${HOSTS:+-m} sh -c "${HOSTS:+mount --bind '$HOSTS' \
	    /etc/hosts && }ip link set lo up && ip addr add \
	    ${1:-$OUTSIDE}/32 dev lo && exec \"\$@\"" sh "$SMTPD" -d -v \
	    -f smtpd.conf >smtpd.log 2>&1 &
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

# ------------------------------------------------------------------
# Outbound relay: a DNS server and receivers of the test's own.  Each
# listens on an address of 127.0.0.0/8 of its own, so that receivers
# can share one port (mta mx-port), as mail exchangers share port 25.

# port_listening ADDRESS PORT: a TCP socket listens there.
port_listening()
{
	ss -Hltn "src $1:$2" 2>/dev/null | grep -q .
}

# dns_start: nsd on 127.0.0.1 (its port in dns.port) serving the zone
# "test.", whose records are read from stdin, relative to "test.".
dns_start()
{
	W=$(pwd)
	free_port > dns.port
	{
		printf '$ORIGIN test.\n$TTL 60\n'
		printf '@ IN SOA ns.test. admin.test. 1 3600 600 86400 60\n'
		printf '@ IN NS ns.test.\nns IN A 127.0.0.1\n'
		cat
	} > test.zone
	cat > nsd.conf <<CONF
server:
	ip-address: 127.0.0.1@$(cat dns.port)
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$W"
	database: ""
	pidfile: "$W/nsd.pid"
	xfrdfile: "$W/nsd.xfrd"
	zonelistfile: "$W/nsd.zones"
	logfile: "$W/nsd.log"
	server-count: 1
remote-control:
	control-enable: no
zone:
	name: "test"
	zonefile: "test.zone"
CONF
	/usr/sbin/nsd -d -c "$W/nsd.conf" >nsd.out 2>&1 &
	echo $! > nsd.ppid
	wait_until grep -q "nsd started" nsd.log 2>/dev/null ||
	    atf_fail "nsd did not start: $(cat nsd.out nsd.log 2>/dev/null)"
}

dns_port()
{
	cat dns.port
}

# sink_start ADDRESS PORT [OPTION ...]: Postfix's smtp-sink there, each
# connection and command logged to sink-ADDRESS.log.
sink_start()
{
	_addr=$1 _port=$2
	shift 2
	if [ "$(id -u)" -eq 0 ]; then
		set -- -u nobody "$@"
	fi
	smtp-sink -v "$@" "$_addr:$_port" 100 >"sink-$_addr.log" 2>&1 &
	echo $! >> receivers.pid
	wait_until port_listening "$_addr" "$_port" ||
	    atf_fail "smtp-sink did not start: $(cat "sink-$_addr.log")"
}

# fake_start ADDRESS PORT MODE [ARG]: regress/fakesmtp.py there,
# logging to fake-ADDRESS.log.
fake_start()
{
	python3 "$TOP/regress/fakesmtp.py" "$@" >"fake-$1.log" 2>&1 &
	echo $! >> receivers.pid
	wait_until port_listening "$1" "$2" ||
	    atf_fail "fakesmtp did not start: $(cat "fake-$1.log")"
}

# Stop the DNS server and the receivers; for cleanup routines.
relay_cleanup()
{
	smtpd_cleanup
	if [ -f nsd.ppid ]; then
		kill -TERM "$(cat nsd.ppid)" 2>/dev/null
		wait_gone "$(cat nsd.ppid)"
	fi
	if [ -f receivers.pid ]; then
		for _p in $(cat receivers.pid); do
			kill -TERM "$_p" 2>/dev/null
		done
	fi
	return 0
}

# postfix_start PORT DOMAIN: a private Postfix instance (root only) in
# postfix/, listening on 127.0.0.1:PORT with STARTTLS, taking mail for
# DOMAIN into the maildir postfix/vmail/box/; its log in
# postfix/maillog.  Started with postfix(1) -c, never as the system's.
postfix_start()
{
	_pf=$(pwd)/postfix
	mkdir -p "$_pf/etc" "$_pf/queue" "$_pf/data" "$_pf/vmail"
	chown postfix "$_pf/data"
	chown nobody "$_pf/vmail"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$_pf/etc/key.pem" \
	    -out "$_pf/etc/cert.pem" -days 2 -subj "/CN=postfix.test" \
	    2>/dev/null || atf_fail "openssl could not make a certificate"
	{
		echo "127.0.0.1:$1 inet n - n - - smtpd"
		# The stock services, none chrooted: the spool is the test's.
		sed -n '/^pickup/,/^postlog/p' /etc/postfix/master.cf |
		    awk '/^[a-z]/ && $5 == "y" { $5 = "n" } { print }'
	} > "$_pf/etc/master.cf"
	cat > "$_pf/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $_pf/queue
data_directory = $_pf/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
mynetworks = 127.0.0.0/8
maillog_file_prefixes = $_pf
maillog_file = $_pf/maillog
alias_maps =
alias_database =
virtual_mailbox_domains = $2
virtual_mailbox_base = $_pf/vmail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
smtpd_tls_cert_file = $_pf/etc/cert.pem
smtpd_tls_key_file = $_pf/etc/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
CONF
	postfix -c "$_pf/etc" start >/dev/null 2>&1 ||
	    atf_fail "postfix did not start: $(cat "$_pf/maillog" 2>/dev/null)"
	wait_until port_listening 127.0.0.1 "$1" ||
	    atf_fail "postfix does not listen"
}

postfix_cleanup()
{
	[ -d postfix/etc ] || return 0
	postfix -c "$(pwd)/postfix/etc" stop >/dev/null 2>&1
	return 0
}
