#!/bin/sh
# make install, make uninstall, make install-sendmail-links.
#
#   install.sh install | uninstall | links
#
# Paths come from the environment: DESTDIR (default empty), PREFIX
# (/usr/local), SYSCONFDIR (/etc), UNITDIR (/etc/systemd/system),
# SPOOLDIR (/var/spool).  Everything install puts in place, directories
# it had to create included, is listed in a manifest; uninstall removes
# exactly that list, newest first, directories only when empty, and
# never the configuration once it has been edited, nor a spool that
# still holds mail.  Run as root with an empty DESTDIR, install also
# creates the users and the group smtpd needs (idempotent), and makes
# smtpctl set-group-id to the submission group.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
SPOOLDIR=${SPOOLDIR:-/var/spool}
SBINDIR=$PREFIX/sbin
MANDIR=$PREFIX/share/man
MANIFEST=$DESTDIR$PREFIX/share/smtpd/manifest
root=0
[ "$(id -u)" -eq 0 ] && root=1

# What this run puts in place, added to the manifest when it ends,
# even by failure, so that what was done can be undone.
NEW=$(mktemp)
finish()
{
	if [ -s "$NEW" ] && [ -d "$(dirname "$MANIFEST")" ]; then
		cat "$NEW" >> "$MANIFEST"
	fi
	rm -f "$NEW"
}
trap finish EXIT

record()
{
	echo "$1" >> "$NEW"
}

# mkdirs PATH: make PATH under DESTDIR, recording each level it creates.
mkdirs()
{
	_p=""
	for _c in $(echo "$1" | tr '/' ' '); do
		_p="$_p/$_c"
		if [ ! -d "$DESTDIR$_p" ]; then
			mkdir "$DESTDIR$_p"
			record "$_p/"
		fi
	done
}

# put MODE SOURCE DEST
put()
{
	mkdirs "$(dirname "$3")"
	[ -e "$DESTDIR$3" ] || [ -L "$DESTDIR$3" ] || record "$3"
	install -m "$1" "$2" "$DESTDIR$3"
}

# link TARGET NAME: a symbolic link NAME -> TARGET.
link()
{
	mkdirs "$(dirname "$2")"
	[ -e "$DESTDIR$2" ] || [ -L "$DESTDIR$2" ] || record "$2"
	ln -sf "$1" "$DESTDIR$2"
}

accounts()
{
	for u in _smtpd _smtpq; do
		if ! getent passwd "$u" >/dev/null; then
			echo "creating user $u"
			useradd --system --home-dir /var/empty \
			    --shell /usr/sbin/nologin --user-group "$u"
		fi
	done
	if ! getent group _smtpsub >/dev/null; then
		echo "creating group _smtpsub"
		groupadd --system _smtpsub
	fi
}

do_install()
{
	# A DESTDIR that does not exist yet is made, as make(1) users expect.
	[ -z "$DESTDIR" ] || mkdir -p "$DESTDIR"
	mkdirs "$PREFIX/share/smtpd"
	[ $root -eq 1 ] && [ -z "$DESTDIR" ] && accounts
	put 0555 "$top/smtpd/smtpd" "$SBINDIR/smtpd"
	put 0555 "$top/smtpd/smtpctl" "$SBINDIR/smtpctl"
	if [ $root -eq 1 ] && getent group _smtpsub >/dev/null; then
		chgrp _smtpsub "$DESTDIR$SBINDIR/smtpctl"
		chmod 2555 "$DESTDIR$SBINDIR/smtpctl"
	else
		echo "note: smtpctl is not set-group-id _smtpsub (not root, or" \
		    "no such group): sendmail cannot keep mail offline" >&2
	fi
	for n in sendmail send-mail mailq newaliases makemap; do
		link smtpctl "$SBINDIR/$n"
	done
	for p in smtpd.conf.5 aliases.5 table.5; do
		put 0444 "$top/man/$p" "$MANDIR/man5/$p"
	done
	for p in smtpd.8 smtpctl.8 sendmail.8; do
		put 0444 "$top/man/$p" "$MANDIR/man8/$p"
	done
	for n in send-mail mailq newaliases makemap; do
		link sendmail.8 "$MANDIR/man8/$n.8"
	done
	# The admin's configuration is never replaced.
	if [ ! -e "$DESTDIR$SYSCONFDIR/smtpd/smtpd.conf" ]; then
		put 0644 "$top/etc/smtpd.conf.debian" \
		    "$SYSCONFDIR/smtpd/smtpd.conf"
	fi
	if [ ! -e "$DESTDIR$SYSCONFDIR/aliases" ]; then
		mkdirs "$SYSCONFDIR"
		record "$SYSCONFDIR/aliases"
		printf '# See aliases(5).\npostmaster: root\n' > \
		    "$DESTDIR$SYSCONFDIR/aliases"
	fi
	mkdirs "$UNITDIR"
	[ -e "$DESTDIR$UNITDIR/smtpd.service" ] ||
	    record "$UNITDIR/smtpd.service"
	sed "s|@SBINDIR@|$SBINDIR|g" "$top/etc/smtpd.service" > \
	    "$DESTDIR$UNITDIR/smtpd.service"
	chmod 0644 "$DESTDIR$UNITDIR/smtpd.service"
	# smtpd makes and fixes these at start; made here for a first look.
	mkdirs "$SPOOLDIR/smtpd"
	mkdirs "$SPOOLDIR/smtpd-offline"
	chmod 0700 "$DESTDIR$SPOOLDIR/smtpd"
	chmod 1730 "$DESTDIR$SPOOLDIR/smtpd-offline"
	if [ $root -eq 1 ] && getent passwd _smtpq >/dev/null &&
	    getent group _smtpsub >/dev/null; then
		chown _smtpq:_smtpq "$DESTDIR$SPOOLDIR/smtpd"
		chown root:_smtpsub "$DESTDIR$SPOOLDIR/smtpd-offline"
	fi
}

# Remove what the manifest lists, newest first.
do_uninstall()
{
	if [ ! -f "$MANIFEST" ]; then
		echo "nothing to uninstall: no $MANIFEST" >&2
		exit 1
	fi
	list=$(mktemp)
	tac "$MANIFEST" > "$list"
	rm -f "$MANIFEST"
	while read -r p; do
		case $p in
		*/)
			rmdir "$DESTDIR$p" 2>/dev/null ||
			    echo "kept $DESTDIR$p: not empty" >&2
			;;
		"$SYSCONFDIR/smtpd/smtpd.conf")
			if cmp -s "$DESTDIR$p" "$top/etc/smtpd.conf.debian"; then
				rm -f "$DESTDIR$p"
			else
				echo "kept $DESTDIR$p: edited" >&2
			fi
			;;
		*)
			rm -f "$DESTDIR$p"
			;;
		esac
	done < "$list"
	rm -f "$list"
}

# /usr/sbin/sendmail and friends, where programs look for them; never
# over another mail system's files.
do_links()
{
	if [ ! -f "$MANIFEST" ]; then
		echo "run make install first" >&2
		exit 1
	fi
	clash=0
	for n in /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq \
	    /usr/bin/newaliases; do
		if [ -e "$DESTDIR$n" ] || [ -L "$DESTDIR$n" ]; then
			# Ours already: a link to smtpctl, or smtpctl's own.
			case $(readlink "$DESTDIR$n") in
			"$SBINDIR/smtpctl")
				continue ;;
			smtpctl)
				[ "$(dirname "$n")" = "$SBINDIR" ] && continue ;;
			esac
			owner=$(dpkg -S "$n" 2>/dev/null | cut -d: -f1)
			echo "$DESTDIR$n exists${owner:+ (package $owner)}:" \
			    "remove that mail system first; nothing was" \
			    "changed" >&2
			clash=1
		fi
	done
	[ $clash -eq 0 ] || exit 1
	for n in /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq \
	    /usr/bin/newaliases; do
		link "$SBINDIR/smtpctl" "$n"
	done
}

case $1 in
install)	do_install ;;
uninstall)	do_uninstall ;;
links)		do_links ;;
*)		echo "usage: install.sh install | uninstall | links" >&2; exit 1 ;;
esac
