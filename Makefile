# smtpd: a privilege-separated mail transfer agent.
#
#   make run     install what is missing, build, run smtpd in the foreground
#   make test    install what is missing, build, run the regress suite
#   make deps    install missing Debian packages, create the _smtpd/_smtpq users
#   make lint    mandoc -T lint over the man pages
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

RUNTIME_OBJS	 = smtpd/log.o smtpd/imsg.o smtpd/sandbox.o smtpd/util.o
SMTPD_OBJS	 = smtpd/smtpd.o smtpd/proc.o smtpd/parse.o smtpd/config.o \
		   smtpd/smtp.o smtpd/smtp_session.o smtpd/smtp_data.o \
		   smtpd/smtp_auth.o smtpd/auth.o \
		   smtpd/mta.o smtpd/mta_session.o smtpd/mta_dns.o \
		   smtpd/mta_reply.o smtpd/mda.o smtpd/control.o smtpd/io.o \
		   smtpd/mda_mbox.o smtpd/mda_command.o smtpd/mda_lmtp.o \
		   smtpd/smtp_addr.o smtpd/auth_creds.o smtpd/forward.o \
		   smtpd/mda_user.o \
		   $(RUNTIME_OBJS)
SMTPCTL_OBJS	 = smtpd/smtpctl.o smtpd/log.o smtpd/imsg.o

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

queue/libqueue.a: $(QUEUE_OBJS)
	$(AR) rcs $@ $^
lookup/liblookup.a: $(LOOKUP_OBJS)
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

clean: regress-clean
	rm -f smtpd/*.o smtpd/parse.c queue/*.o lookup/*.o relayd-policy/*.o \
	    $(LIBS) $(PROGS)

.PHONY: all deps run test lint clean regress-build regress-clean

# Fuzzing with libFuzzer (needs clang): make fuzz [FUZZ_SECONDS=60]
FUZZ_SECONDS	?= 60
FUZZ_CFLAGS	 = -g -O1 -fsanitize=fuzzer,address,undefined -I. \
		   $(PKG_CFLAGS) -D_GNU_SOURCE \
		   -D'__unused=__attribute__((__unused__))'

regress/fuzz/fuzz_smtp_addr: regress/fuzz/fuzz_smtp_addr.c smtpd/smtp_addr.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell pkg-config --libs libbsd-overlay)

regress/fuzz/fuzz_envelope: regress/fuzz/fuzz_envelope.c queue/queue_envelope.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell pkg-config --libs libbsd-overlay)

regress/fuzz/fuzz_mta_reply: regress/fuzz/fuzz_mta_reply.c smtpd/mta_reply.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell pkg-config --libs libbsd-overlay)

fuzz: regress/fuzz/fuzz_smtp_addr regress/fuzz/fuzz_envelope
	mkdir -p /tmp/smtpd-fuzz/smtp_addr /tmp/smtpd-fuzz/envelope
	regress/fuzz/fuzz_smtp_addr -max_total_time=$(FUZZ_SECONDS) \
	    /tmp/smtpd-fuzz/smtp_addr regress/fuzz/corpus/smtp_addr
	regress/fuzz/fuzz_envelope -max_total_time=$(FUZZ_SECONDS) \
	    /tmp/smtpd-fuzz/envelope regress/fuzz/corpus/envelope

.PHONY: fuzz
