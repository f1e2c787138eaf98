#!/bin/sh
# Build the libFuzzer targets and run each for a bounded time; a crash, leak
# or sanitizer report is a failure. Corpus seeds come from tests/fuzz/corpus/NAME.
set -u
secs=${1:-20}
if ! command -v clang >/dev/null 2>&1; then
	echo "ok - fuzz # SKIP clang not installed"; exit 0
fi
if ! make -s fuzz >build/fuzz-build.log 2>&1; then
	tail -30 build/fuzz-build.log; echo "not ok - fuzz: targets do not build"; exit 0
fi
for f in build-fuzz/bin/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	n=$(basename "$f")
	work=build/fuzz-work/$n; mkdir -p "$work"
	seeds=tests/fuzz/corpus/$n
	[ -d "$seeds" ] || seeds=
	if "$f" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$work/" $work $seeds >"$work/log" 2>&1; then
		echo "ok - fuzz $n: ${secs}s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | awk '{print $2}') runs, no crash"
	else
		tail -30 "$work/log"; echo "not ok - fuzz $n: crash (artifacts in $work)"
	fi
done
