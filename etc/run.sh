#!/bin/sh
# make run: smtpd in the foreground with etc/smtpd.conf (127.0.0.1 port
# 2525), delivering into run/maildir/USER/ under the checkout.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/run/maildir"
# Agents run as the recipient: each must be able to make its own maildir.
chmod 1777 "$top/run/maildir"
# The address and port the configuration really names.
listen=$(awk '$1 == "listen" && $2 == "on" && $3 != "socket" {
	port = 25
	for (i = 4; i < NF; i++) if ($i == "port") port = $(i + 1)
	print $3 ":" port; exit }' "$top/etc/smtpd.conf")
echo "smtpd on $listen; mail for $(id -un)@localhost lands in" \
    "$top/run/maildir/$(id -un)/new/"
echo "try: swaks --server $listen --to $(id -un)@localhost"
exec "$top/smtpd/smtpd" -d -D top="$top" -f "$top/etc/smtpd.conf"
