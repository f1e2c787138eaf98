#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the benchmarks of one build directory and print their result lines
# (each a ratio against a baseline measured in the same run). Details go to
# stderr. Not a test lane: nothing is timed out.
#
#   sh bench/run.sh [BUILD_DIR]
#
# 1. every bench-* program in $1/bench (bench-rank: ranker vs the original's
#    list), 2. accuracy against ground truth (bench/accuracy.sh), 3. stream
#    throughput and scanner CPU (bench/pipeline.sh), 4. effect and regret,
#    etmem vs the kernel's reclaim (bench/effect.sh; root only: swap and a
#    memory cgroup), 5. the policy simulator over the accuracy run's zipf and
#    phase captures (etmem-rank slide --sweep) with a savings-vs-regret plot.
# Everything printed on stdout is also written to bench/results/latest.txt;
# the sweep's CSV and PNG go beside it.
set -u
B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
RES=$HERE/results
mkdir -p "$RES"
KEEP=$(mktemp -d /tmp/etmem-bench.XXXXXX)
trap 'rm -rf "$KEEP"' EXIT INT TERM
main() {
rc=0
found=0
echo "# etmem bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -nr) $(nproc) cpus $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo); sh bench/run.sh $B"
for b in "$B"/bench/bench-*; do
	[ -x "$b" ] || continue
	found=1
	echo "# bench: $(basename "$b")" >&2
	if ! "$b"; then
		echo "bench $(basename "$b"): failed" >&2
		rc=1
	fi
done
[ $found -eq 1 ] || echo "no bench programs in $B/bench (run make first)" >&2
echo "# accuracy" >&2
ETMEM_ACC_KEEP=$KEEP sh "$HERE/accuracy.sh" "$B" || rc=1
echo "# pipeline" >&2
bash "$HERE/pipeline.sh" "$B" || rc=1
if [ "$(id -u)" = 0 ]; then
	echo "# effect" >&2
	bash "$HERE/effect.sh" "$B" || rc=1
else
	echo "effect skipped=needs-root"
fi
echo "# vm lane (qemu TCG): damon accuracy, etmem vs the kernel's reclaim" >&2
if [ "$(id -u)" -eq 0 ]; then
	ETMEM_VM_BENCH_OUT=$RES sh "$HERE/../tests/vm/run.sh" --tap bench-damon-acc bench-peers |
	    sed 's/^/vm: /' || rc=1
else
	echo "vm skipped=needs-root"
fi
echo "# sweep" >&2
: > "$RES/sweep.csv"
for p in zipf phase; do
	f=$KEEP/idle_pages-$p.etmr
	[ -f "$f" ] || continue
	"$B/bin/etmem-rank" slide --sweep --csv --dram-percent 50 < "$f" |
	    awk -v p=$p -F, 'NR == 1 { if (!h) print "pattern," $0; next } { print p "," $0 }' h=$([ -s "$RES/sweep.csv" ] && echo 1) >> "$RES/sweep.csv"
	"$B/bin/etmem-rank" slide --sweep < "$f" | sed "s/^/sweep $p: /"
done
if command -v gnuplot > /dev/null && [ -s "$RES/sweep.csv" ]; then
	gnuplot -e "set terminal pngcairo size 800,500; set output '$RES/sweep.png'; \
	    set datafile separator ','; set key autotitle columnhead; \
	    set title 'etmem-rank slide --sweep: savings vs regret (idle\_pages fixture captures)'; \
	    set xlabel 'saved MiB (average bytes kept out per period)'; set ylabel 'regret MiB (returned)'; \
	    plot for [p in 'zipf phase'] '$RES/sweep.csv' using (strcol(1) eq p && \$3 == 0 ? \$5/1048576 : 1/0):(\$6/1048576) \
	        with linespoints title p.' (T=0..3, no budget)', \
	        for [p in 'zipf phase'] '$RES/sweep.csv' using (strcol(1) eq p && \$3 == 50 ? \$5/1048576 : 1/0):(\$6/1048576) \
	        with points title p.' (dram 50%)'" 2>&1 | head -3 >&2
	[ -s "$RES/sweep.png" ] && echo "sweep plot=bench/results/sweep.png csv=bench/results/sweep.csv"
else
	echo "sweep plot skipped=no-gnuplot-or-no-capture"
fi
echo $rc > "$KEEP/rc"
}
main | tee "$RES/latest.txt"
exit "$(cat "$KEEP/rc" 2>/dev/null || echo 1)"
