#!/bin/sh
# Run every C unit test of one build directory; each prints TAP.
# With build-san the sanitizers (and LeakSanitizer) are active.
set -u
B=${1:-build}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "$B"/tests/test-*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out" | sed "s/^\(not ok\|ok\) [0-9]* - /\1 - $(basename "$t")[$B]: /"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		echo "not ok - $(basename "$t")[$B]: exited $rc"
	fi
done
