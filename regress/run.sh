#!/bin/sh
# Run the whole regress suite with kyua and end with one line
# "N passed, N failed" (broken tests count as failed).  Details of every
# test that did not pass are printed above it.
top=$(cd "$(dirname "$0")/.." && pwd)
results=$(mktemp -d /tmp/smtpd-regress.XXXXXX)
trap 'rm -rf "$results"' EXIT
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0

cd "$top/regress" || exit 1
kyua test --results-file="$results/store.db" 2>&1 | tee "$results/out"
status=0
if grep -qE '\->  (failed|broken)' "$results/out"; then
	kyua report --results-file="$results/store.db" \
	    --results-filter=broken,failed --verbose 2>&1 | tail -n 200
	status=1
fi
passed=$(grep -cE '\->  (passed|expected_failure)' "$results/out")
failed=$(grep -cE '\->  (failed|broken)' "$results/out")
skipped=$(grep -cE '\->  skipped' "$results/out")
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
	echo "no test ran" >&2
	status=1
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
exit $status
