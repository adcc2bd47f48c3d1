#!/bin/sh
# Floods a daemon started under the limits an attacker would meet on a
# small server (1024 descriptors, 256 MB of memory for all of smtpd),
# then checks that a probe client is still served.  Prints what each
# flood got and the memory high-water mark.  A measurement, not a test:
# run it by hand, as root (it makes a memory cgroup), after make.
#
#	sh etc/flood-limits.sh [SESSIONS] [NOREAD_MB] [DRIBBLERS]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
sessions=${1:-1500}
noread=${2:-64}
dribblers=${3:-60}
work=$(mktemp -d /tmp/smtpd-flood.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=$(id -un)
cat > "$work/smtpd.conf" <<CONF
queue directory "$work/spool"
control socket "$work/smtpd.sock"
listen on 127.0.0.1 port $port
smtp limit command-timeout 20s
smtp limit max-sessions-per-address 5000
action "local" maildir "$work/Maildir"
match from any for local action "local"
CONF

cg=/sys/fs/cgroup/memory/smtpd-flood
mkdir -p "$cg"
echo $((256 * 1024 * 1024)) > "$cg/memory.limit_in_bytes"
# Only smtpd goes into the cgroup, not this script or its clients.
sh -c 'echo $$ > "$1/tasks"; ulimit -n 1024; exec "$2" -d -f "$3"' sh \
    "$cg" "$top/smtpd/smtpd" "$work/smtpd.conf" > "$work/smtpd.log" 2>&1 &
pid=$!
until grep -q "smtp-in ready" "$work/smtpd.log"; do sleep 0.1; done
smtp=$(ps -o pid=,args= --ppid $pid | awk '$2 == "smtpd:" && $3 == "smtp" { print $1 }')

probe()
{
	python3 - "$port" "$user@localhost" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as s:
    s.sendmail("probe@example.org", [sys.argv[2]], "Subject: probe\r\n\r\nstill here\r\n")
print("probe: delivered to the queue")
PY
}

echo "== descriptor flood: $sessions sessions into DATA, ulimit -n 1024"
python3 "$top/regress/flood.py" "$port" sessions "$sessions" "$user@localhost"
probe
echo "== memory flood: ${noread} MB of pipelined commands, replies unread"
python3 "$top/regress/flood.py" "$port" noread $((noread * 1024 * 1024)) "$smtp"
probe
echo "== slow clients: $dribblers sessions, a byte every 2 s"
i=0
while [ $i -lt "$dribblers" ]; do
	python3 "$top/regress/flood.py" "$port" dribble 2 'b"NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"' \
	    > "$work/dribble.$i" 2>&1 &
	i=$((i + 1))
done
sleep 3
probe
wait_dribblers=0
for f in "$work"/dribble.*; do
	while ! grep -q "^<- 421" "$f" && [ $wait_dribblers -lt 600 ]; do
		sleep 0.1; wait_dribblers=$((wait_dribblers + 1))
	done
done
echo "dribblers closed with 421: $(grep -l '^<- 421' "$work"/dribble.* | wc -l) of $dribblers"
kill -0 $pid && echo "smtpd: still running"
echo "memory high-water mark of all smtpd processes: $(($(cat "$cg/memory.max_usage_in_bytes") / 1024 / 1024)) MB"
echo "processes killed by the memory limit: $(awk '/^oom_kill / {print $2}' "$cg/memory.oom_control")"
kill $pid; wait $pid 2>/dev/null || true
rmdir "$cg" 2>/dev/null || true
echo "log: $work/smtpd.log"
