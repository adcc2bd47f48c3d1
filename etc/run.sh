#!/bin/sh
# make run: smtpd in the foreground on 127.0.0.1:2525 with etc/smtpd.conf,
# delivering into run/maildir/USER/ under the checkout.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/run/maildir"
# Agents run as the recipient: each must be able to make its own maildir.
chmod 1777 "$top/run/maildir"
echo "smtpd on 127.0.0.1:2525; mail for $(id -un)@localhost lands in" \
    "$top/run/maildir/$(id -un)/new/"
echo "try: swaks --server 127.0.0.1:2525 --to $(id -un)@localhost"
exec "$top/smtpd/smtpd" -d -D top="$top" -f "$top/etc/smtpd.conf"
