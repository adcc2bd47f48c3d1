#!/bin/sh
# Run libFuzzer targets one after the other, each for SECONDS, and print
# for each the CPU seconds it used and how many inputs it ran.
#
#	run.sh SECONDS WORK NAME...
#
# Target NAME is regress/fuzz/fuzz_NAME, seeded from corpus/NAME (and
# NAME.dict, if there is one).  Inputs it finds interesting are kept in
# WORK/NAME for the next run; its output goes to WORK/NAME.log and what
# it finds to WORK/NAME-crash-*, -leak-*, -timeout-* or -oom-*.  Exits 1
# when a target found something.
dir=$(cd "$(dirname "$0")" && pwd)
secs=$1
work=$2
shift 2
status=0

mkdir -p "$work" || exit 1
for name in "$@"; do
	mkdir -p "$work/$name" || exit 1
	set -- -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$work/$name-"
	[ -f "$dir/$name.dict" ] && set -- "$@" -dict="$dir/$name.dict"
	# The subshell's children are the fuzzer alone: times says its CPU.
	(
		"$dir/fuzz_$name" "$@" "$work/$name" "$dir/corpus/$name" \
		    > "$work/$name.log" 2>&1
		echo $? > "$work/$name.rc"
		times > "$work/$name.times"
	)
	cpu=$(sed -n 2p "$work/$name.times" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, p, "m")
			sub("s", "", p[2])
			t += p[1] * 60 + p[2]
		}
		printf "%.1f", t
	}')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$work/$name.log" | tail -n 1)
	if [ "$(cat "$work/$name.rc")" = 0 ]; then
		result=ok
	else
		result="FAILED, see $work/$name.log"
		status=1
	fi
	echo "fuzz_$name: ${cpu} s CPU, ${execs:-?} executions, $result"
done
exit $status
