#! /usr/bin/env atf-sh
#
# The layers of the source tree, bottom up: the runtime (log, imsg and
# its catalogue, proc, sandbox, util, io, conffile, control_msg,
# parent_msg), then
# the libraries (what the Makefile puts in liblookup.a, libqueue.a and
# libpolicy.a), then the roles.  No file includes a header of a layer
# above its own.

. "$(atf_get_srcdir)/../lib.sh"

RUNTIME_HEADERS="log.h imsg.h imsg_types.h proc.h util.h sandbox.h io.h
    conffile.h control_msg.h parent_msg.h"

# includes FILE: the local headers FILE includes, one per line, as the
# file names them without a directory.
includes()
{
	sed -n 's/^#include "\(.*\)"/\1/p' "$1" | sed 's|.*/||'
}

# check_only FILE ALLOWED...: FILE includes no local header but these.
check_only()
{
	file=$1
	shift
	for h in $(includes "$file"); do
		case " $* " in
		*" $h "*) ;;
		*) echo "$file includes $h" ;;
		esac
	done
}

atf_test_case runtime_includes_only_runtime
runtime_includes_only_runtime_head()
{
	atf_set descr "The runtime's files include only runtime headers:" \
	    "nothing of the configuration, the tables or the queue"
}
runtime_includes_only_runtime_body()
{
	for f in log imsg proc sandbox util io conffile control_msg parent_msg; do
		check_only "$TOP/smtpd/$f.c" $RUNTIME_HEADERS
		check_only "$TOP/smtpd/$f.h" $RUNTIME_HEADERS
	done > bad
	check_only "$TOP/smtpd/imsg_types.h" $RUNTIME_HEADERS >> bad
	atf_check -o empty cat bad
}

atf_test_case libraries_include_no_role_header
libraries_include_no_role_header_head()
{
	atf_set descr "Every file of liblookup.a, libqueue.a and libpolicy.a" \
	    "includes only its library's headers, another library's public" \
	    "header below it, and the runtime's: never smtpd.h"
}
libraries_include_no_role_header_body()
{
	for lib in lookup/liblookup.a queue/libqueue.a \
	    relayd-policy/libpolicy.a; do
		[ -f "$TOP/$lib" ] || atf_fail "$lib is not built"
		dir=$(dirname "$lib")
		own=$(cd "$TOP/$dir" && ls *.h | tr '\n' ' ')
		for o in $(ar t "$TOP/$lib"); do
			check_only "$TOP/$dir/${o%.o}.c" $own \
			    lookup.h policy.h $RUNTIME_HEADERS
		done
		for h in $own; do
			check_only "$TOP/$dir/$h" $own lookup.h policy.h \
			    $RUNTIME_HEADERS
		done
	done > bad
	atf_check -o empty cat bad
	# The roles' code beside them is not in the libraries.
	{ ar t "$TOP/lookup/liblookup.a"; ar t "$TOP/queue/libqueue.a"; } \
	    > members
	atf_check -s exit:1 -o empty grep _process members
}

atf_init_test_cases()
{
	atf_add_test_case runtime_includes_only_runtime
	atf_add_test_case libraries_include_no_role_header
}
