# smtpd: a privilege-separated mail transfer agent.
#
#   make run     install what is missing, build, run smtpd in the foreground
#   make test    install what is missing, build, run the regress suite
#   make deps    install missing Debian packages, create the _smtpd/_smtpq users
#   make lint    mandoc -T lint over the man pages
#   make install [PREFIX=/usr/local] [DESTDIR=]   and make uninstall
#   make install-sendmail-links   /usr/sbin/sendmail etc., if free
#   make fuzz    run the libFuzzer targets (needs clang) for FUZZ_SECONDS each
#   make SANITIZE=1 ...   build with AddressSanitizer and UBSan

CC		?= cc
PKGS		 = libbsd-overlay libevent libtls libseccomp libcares
PKG_CFLAGS	 = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS	 = $(shell pkg-config --libs $(PKGS)) -lcrypt

CFLAGS		?= -O2 -g
CFLAGS		+= -Wall -Wextra -Werror -Wno-unused-parameter \
		   -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith \
		   -fno-strict-aliasing
CPPFLAGS	+= $(PKG_CFLAGS) -D_GNU_SOURCE -D'__unused=__attribute__((__unused__))'
ifeq ($(SANITIZE),1)
CFLAGS		+= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
CPPFLAGS	+= -DSANITIZE
LDFLAGS		+= -fsanitize=address,undefined
endif

YACC		?= byacc

# Layers, bottom up; no file includes a header of a layer above its own
# (regress/t_layers.sh checks).  The runtime knows the roles only by
# number; the libraries know the runtime; the roles (the processes'
# code, in smtpd/ and in lookup/ and queue/ beside their libraries)
# know everything below them.
RUNTIME_OBJS	 = smtpd/log.o smtpd/imsg.o smtpd/sandbox.o smtpd/util.o \
		   smtpd/proc.o smtpd/io.o smtpd/conffile.o smtpd/control_msg.o \
		   smtpd/parent_msg.o
LOOKUP_ROLE_OBJS = lookup/lookup_process.o lookup/lookup_session.o \
		   lookup/lookup_local.o lookup/lookup_dns.o lookup/lookup_users.o
QUEUE_ROLE_OBJS	 = queue/queue_process.o queue/queue_receive.o \
		   queue/queue_dsn.o queue/queue_control.o queue/queue_relay.o
SMTPD_OBJS	 = smtpd/smtpd.o smtpd/parse.o smtpd/macro.o smtpd/config.o \
		   smtpd/config_listen.o \
		   smtpd/smtp.o smtpd/smtp_session.o smtpd/smtp_data.o \
		   smtpd/smtp_auth.o smtpd/smtp_deadline.o smtpd/auth.o \
		   smtpd/mta.o smtpd/mta_session.o smtpd/mta_dns.o \
		   smtpd/mta_reply.o smtpd/mda.o smtpd/control.o \
		   smtpd/mda_mbox.o smtpd/mda_command.o smtpd/mda_lmtp.o \
		   smtpd/mda_record.o \
		   smtpd/smtp_addr.o smtpd/auth_creds.o smtpd/forward.o \
		   smtpd/mda_user.o smtpd/smtp_local.o smtpd/enqueue.o \
		   smtpd/offline.o smtpd/reload.o smtpd/session_msg.o \
		   smtpd/forward_msg.o \
		   $(LOOKUP_ROLE_OBJS) $(QUEUE_ROLE_OBJS) $(RUNTIME_OBJS)
SMTPCTL_OBJS	 = smtpd/smtpctl.o smtpd/sendmail.o smtpd/enqueue.o \
		   smtpd/log.o smtpd/imsg.o smtpd/control_msg.o

QUEUE_OBJS	 = $(patsubst %.c,%.o,$(wildcard queue/*.c))
LOOKUP_OBJS	 = $(patsubst %.c,%.o,$(wildcard lookup/*.c))
POLICY_OBJS	 = $(patsubst %.c,%.o,$(wildcard relayd-policy/*.c))
LIBS		 = queue/libqueue.a lookup/liblookup.a \
		   relayd-policy/libpolicy.a

PROGS		 = smtpd/smtpd smtpd/smtpctl

all: $(PROGS) regress-build

smtpd/smtpd: $(SMTPD_OBJS) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $(SMTPD_OBJS) $(LIBS) $(PKG_LIBS)

smtpd/smtpctl: $(SMTPCTL_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(SMTPCTL_OBJS) $(PKG_LIBS)

queue/libqueue.a: $(filter-out $(QUEUE_ROLE_OBJS),$(QUEUE_OBJS))
	$(AR) rcs $@ $^
lookup/liblookup.a: $(filter-out $(LOOKUP_ROLE_OBJS),$(LOOKUP_OBJS))
	$(AR) rcs $@ $^
relayd-policy/libpolicy.a: $(POLICY_OBJS)
	$(AR) rcs $@ $^

smtpd/parse.c: smtpd/parse.y
	$(YACC) -o $@ $<

# The generated parser is not held to -Werror's every warning.
smtpd/parse.o: smtpd/parse.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-sign-compare -Wno-unused-but-set-variable \
	    -Wno-missing-prototypes -c -o $@ $<

%.o: %.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

HEADERS		 = $(wildcard smtpd/*.h queue/*.h lookup/*.h relayd-policy/*.h)
$(SMTPD_OBJS) $(SMTPCTL_OBJS) $(QUEUE_OBJS) $(LOOKUP_OBJS) $(POLICY_OBJS): $(HEADERS)

include regress/Makefile.inc

deps:
	@sh etc/deps.sh

run: deps
	@$(MAKE) --no-print-directory $(PROGS)
	@sh etc/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@sh regress/run.sh

lint:
	mandoc -T lint -W warning man/*.[1-9]

clean: regress-clean fuzz-clean
	rm -f smtpd/*.o smtpd/parse.c queue/*.o lookup/*.o relayd-policy/*.o \
	    $(LIBS) $(PROGS)

# Installation (etc/install.sh): binaries, sendmail links, man pages,
# the default configuration, the systemd unit, the spool directories;
# uninstall removes what install listed in its manifest.
PREFIX		?= /usr/local
INSTALL_ENV	 = DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)"

install: $(PROGS)
	@$(INSTALL_ENV) sh etc/install.sh install

uninstall:
	@$(INSTALL_ENV) sh etc/install.sh uninstall

install-sendmail-links:
	@$(INSTALL_ENV) sh etc/install.sh links

.PHONY: all deps run test lint clean regress-build regress-clean
.PHONY: install uninstall install-sendmail-links

# Fuzzing with libFuzzer (needs clang): make fuzz [FUZZ_SECONDS=60]
# [FUZZ_TARGETS="config auth"].  Each target runs for FUZZ_SECONDS and
# keeps what it learns in FUZZ_WORK; see regress/fuzz/README.md.
FUZZ_SECONDS	?= 60
FUZZ_WORK	?= /tmp/smtpd-fuzz
FUZZ_TARGETS	?= smtp_addr envelope config auth members dsn table \
		   mta_reply session lookup_session queue_receive auth_imsg \
		   control_imsg offline sendmail conffile session_msg control_msg \
		   mda_record
FUZZ_CFLAGS	 = -g -O1 -fsanitize=fuzzer,address,undefined -I. \
		   $(PKG_CFLAGS) -D_GNU_SOURCE \
		   -D'__unused=__attribute__((__unused__))'
FUZZ_LIBS	 = $(shell pkg-config --libs libbsd-overlay)
FUZZ_PROGS	 = $(patsubst %,regress/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_ALL	 = $(patsubst %,regress/fuzz/fuzz_%,smtp_addr envelope \
		   config auth members dsn table mta_reply offline sendmail \
		   conffile session_msg control_msg mda_record)
# What a process takes from the listener, through its own dispatcher;
# these play the other processes themselves and need libevent.
FUZZ_IMSG	 = $(patsubst %,regress/fuzz/fuzz_%,session lookup_session \
		   queue_receive auth_imsg control_imsg)

regress/fuzz/fuzz_smtp_addr: regress/fuzz/fuzz_smtp_addr.c smtpd/smtp_addr.c
regress/fuzz/fuzz_envelope: regress/fuzz/fuzz_envelope.c queue/queue_envelope.c
regress/fuzz/fuzz_config: regress/fuzz/fuzz_config.c regress/fuzz/fuzz_log.c \
	    smtpd/parse.c smtpd/macro.c smtpd/config.c smtpd/config_listen.c \
	    smtpd/util.c smtpd/mda_lmtp.c \
	    lookup/table.c lookup/killfile.c lookup/userbase.c \
	    lookup/include.c lookup/members.c \
	    relayd-policy/policy.c smtpd/conffile.c
# The protocols of a listener are parsed by libtls.
regress/fuzz/fuzz_config: FUZZ_LIBS += $(shell pkg-config --libs libtls)
regress/fuzz/fuzz_auth: regress/fuzz/fuzz_auth.c regress/fuzz/fuzz_log.c \
	    smtpd/util.c
regress/fuzz/fuzz_members: regress/fuzz/fuzz_members.c lookup/members.c
regress/fuzz/fuzz_dsn: regress/fuzz/fuzz_dsn.c queue/queue_bounce.c
regress/fuzz/fuzz_table: regress/fuzz/fuzz_table.c lookup/table.c \
	    lookup/killfile.c lookup/senders.c smtpd/conffile.c regress/fuzz/fuzz_log.c

regress/fuzz/fuzz_session: regress/fuzz/fuzz_session.c \
	    regress/fuzz/fuzz_log.c regress/fuzz/fuzz_proc.c \
	    smtpd/smtp_session.c smtpd/smtp_data.c smtpd/smtp_auth.c \
	    smtpd/smtp_addr.c smtpd/smtp_deadline.c smtpd/smtp_local.c \
	    smtpd/util.c smtpd/imsg.c smtpd/session_msg.c
regress/fuzz/fuzz_lookup_session: regress/fuzz/fuzz_lookup_session.c \
	    regress/fuzz/fuzz_log.c regress/fuzz/fuzz_proc.c \
	    lookup/lookup_session.c lookup/lookup_local.c lookup/killfile.c \
	    lookup/table.c lookup/senders.c \
	    lookup/members.c queue/queue_envelope.c smtpd/util.c smtpd/imsg.c \
	    smtpd/conffile.c smtpd/session_msg.c queue/queue_msg.c
regress/fuzz/fuzz_queue_receive: regress/fuzz/fuzz_queue_receive.c \
	    regress/fuzz/fuzz_log.c regress/fuzz/fuzz_proc.c \
	    queue/queue_receive.c queue/queue_envelope.c smtpd/imsg.c \
	    smtpd/session_msg.c queue/queue_msg.c
regress/fuzz/fuzz_auth_imsg: regress/fuzz/fuzz_auth_imsg.c \
	    regress/fuzz/fuzz_log.c regress/fuzz/fuzz_proc.c smtpd/auth.c \
	    smtpd/session_msg.c \
	    smtpd/auth_creds.c lookup/table.c lookup/members.c smtpd/util.c \
	    smtpd/imsg.c smtpd/conffile.c
regress/fuzz/fuzz_session_msg: regress/fuzz/fuzz_session_msg.c \
	    regress/fuzz/fuzz_log.c smtpd/session_msg.c queue/queue_msg.c \
	    smtpd/forward_msg.c smtpd/parent_msg.c smtpd/imsg.c
regress/fuzz/fuzz_control_msg: regress/fuzz/fuzz_control_msg.c \
	    regress/fuzz/fuzz_log.c smtpd/control_msg.c smtpd/imsg.c
regress/fuzz/fuzz_control_imsg: regress/fuzz/fuzz_control_imsg.c \
	    regress/fuzz/fuzz_log.c regress/fuzz/fuzz_proc.c \
	    smtpd/control.c smtpd/imsg.c smtpd/util.c smtpd/control_msg.c
regress/fuzz/fuzz_mta_reply: regress/fuzz/fuzz_mta_reply.c smtpd/mta_reply.c
regress/fuzz/fuzz_mda_record: regress/fuzz/fuzz_mda_record.c smtpd/mda_record.c
regress/fuzz/fuzz_offline: regress/fuzz/fuzz_offline.c smtpd/enqueue.c
regress/fuzz/fuzz_conffile: regress/fuzz/fuzz_conffile.c smtpd/conffile.c \
	    regress/fuzz/fuzz_log.c
# sendmail.c is compiled into its harness, not beside.
regress/fuzz/fuzz_sendmail: regress/fuzz/fuzz_sendmail.c smtpd/sendmail.c \
	    smtpd/enqueue.c

$(FUZZ_ALL): $(HEADERS)
	clang $(FUZZ_CFLAGS) -o $@ \
	    $(filter-out smtpd/sendmail.c,$(filter %.c,$^)) $(FUZZ_LIBS)

# auth.c and control.c are compiled into their harnesses, not beside.
$(FUZZ_IMSG): $(HEADERS)
	clang $(FUZZ_CFLAGS) -o $@ \
	    $(filter-out smtpd/auth.c smtpd/control.c,$(filter %.c,$^)) \
	    $(PKG_LIBS)

fuzz: $(FUZZ_PROGS)
	sh regress/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_WORK) $(FUZZ_TARGETS)

fuzz-clean:
	rm -f $(FUZZ_ALL) $(FUZZ_IMSG)

.PHONY: fuzz fuzz-clean
