#!/bin/sh
# Install the Debian packages smtpd needs to build and test, when any is
# missing, and (as root) create the users its processes run as and the
# group that may leave files in the offline directory.  Does nothing when
# everything is there.
set -e

PKGS="build-essential pkg-config byacc libbsd-dev libtls-dev libevent-dev
libseccomp-dev libc-ares-dev libcrypt-dev libatf-dev atf-sh kyua mandoc
swaks python3 procps openssl libnet-ssleay-perl libauthen-sasl-perl
bsd-mailx systemd nsd postfix"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "smtpd needs these packages:$missing" >&2
		echo "run 'make deps' as root, or install them with apt-get" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The outbound tests run nsd and Postfix's smtp-sink and smtpd as
	# programs of their own: neither may come up as a system service.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	norc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		norc=1
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d
fi

if [ "$(id -u)" -eq 0 ]; then
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
fi
exit 0
