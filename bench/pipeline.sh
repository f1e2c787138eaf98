#!/bin/bash
# SPDX-License-Identifier: MIT
# pipeline.sh - throughput and footprint of the stream itself.
#
#   bash bench/pipeline.sh [BUILD_DIR]
#   NREC=1000000 NPER=5 RUNS=7 PIPELINE_ONLY=1 bash bench/pipeline.sh
#
# 1. Records per second: a synthetic capture (binary ETMR, NPER periods of
#    NREC scattered 4K ACCESS records, half idle; 5 x 1 M = 200 MB by
#    default) ranked by etmem-rank slide -T 1 in one process (file in,
#    /dev/null out) against the same ranking with the stream passed through
#    two more processes (etmem-cat --binary | etmem-rank | etmem-cat
#    --binary), as the scan | rank | migrate pipeline passes it. Goal: ratio
#    >= 0.9. The capture is large enough (~0.2 s a run) that process
#    start-up does not weigh, and each side is the best of RUNS runs, taken
#    alternately so that a burst of load on the host hits both.
# 2. Scanner CPU per GiB scanned: smaps (live, a 256 MiB workload-gen) and
#    the idle_pages decoder (a generated 4 GiB capture; fixture, no kernel).
# Result lines on stdout: `pipeline ...`, `scan-cpu ...`.
set -u
B=${1:-build}
BIN=$B/bin
T=$(mktemp -d /tmp/etmem-pipe.XXXXXX)
trap 'rm -rf "$T"; [ -n "${wgpid:-}" ] && kill "$wgpid" 2>/dev/null' EXIT
NREC=${NREC:-1000000} NPER=${NPER:-5} RUNS=${RUNS:-7}

# Wall nanoseconds of one run of "$1" (a shell snippet).
wall() {
	local t0 t1
	t0=$(date +%s%N); bash -c "$1"; t1=$(date +%s%N)
	echo $(( t1 - t0 ))
}

# Start addresses are written as a page number and "000": awk's %x is 32
# bits wide on some awks (mawk), and 1 M pages every other page pass 4 GiB.
awk -v n="$NREC" -v np="$NPER" 'BEGIN {
	print "ETMR 1 page_size=4096 backend=idle_pages host=bench start_ns=0"
	for (p = 1; p <= np; p++) {
		print "ROUND period=" p " round=1 loop=1 time_ns=" p
		for (i = 0; i < n; i++)   # every other page: extents do not coalesce
			printf "A 1 0x%x000 1 4K %d %s\n", 2 * i + 65536, (i * 7 + p) % 2, (i * 7 + p) % 2 ? "-" : "i"
		print "P 1 start_time=0 rss_kb=1 swap_kb=0 comm=bench"
		print "PERIOD period=" p " rounds=1 time_ns=" p " mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0"
	}
	print "END status=0" }' | "$BIN/etmem-cat" --binary > "$T/cap.bin" || exit 1
recs=$(( NREC * NPER ))
one_cmd="'$BIN/etmem-rank' slide -T 1 < '$T/cap.bin' > /dev/null"
three_cmd="'$BIN/etmem-cat' --binary < '$T/cap.bin' | '$BIN/etmem-rank' slide -T 1 | '$BIN/etmem-cat' --binary > /dev/null"
one="" three=""
for _ in $(seq "$RUNS"); do
	t=$(wall "$one_cmd"); { [ -z "$one" ] || [ "$t" -lt "$one" ]; } && one=$t
	t=$(wall "$three_cmd"); { [ -z "$three" ] || [ "$t" -lt "$three" ]; } && three=$t
done
awk -v r=$recs -v a="$one" -v b="$three" -v n="$RUNS" 'BEGIN {
	ra = r / (a / 1e9); rb = r / (b / 1e9)
	printf "pipeline records=%d best_of=%d one_process_s=%.3f three_process_s=%.3f one_process_rec_per_s=%.0f three_process_rec_per_s=%.0f ratio=%.2f (goal >= 0.9)\n", r, n, a / 1e9, b / 1e9, ra, rb, rb / ra }'
[ -n "${PIPELINE_ONLY:-}" ] && exit 0

# smaps: CPU seconds per GiB scanned, on a live 256 MiB workload.
"$B/bench/workload-gen" --pattern fixed --size 256 --vma-kib 1024 > "$T/wg.out" &
wgpid=$!
for _ in $(seq 100); do grep -q ready "$T/wg.out" && break; sleep 0.05; done
wpid=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$T/wg.out")
TIMEFORMAT='%U %S'
{ time "$BIN/etmem-scan" --backend smaps -p "$wpid" --loop 5 --interval 0 --sleep 0 --periods 2 --text > "$T/scan.txt" 2>/dev/null; } 2> "$T/cpu"
kill $wgpid; wait $wgpid 2>/dev/null; wgpid=
pages=$(awk '$1 == "S" && $4 == "pages_scanned" { n += $5 } END { print n + 0 }' "$T/scan.txt")
awk -v p="$pages" '{ c = $1 + $2 } END { g = p * 4096 / 2^30
	printf "scan-cpu backend=smaps gib_scanned=%.2f cpu_s=%.3f cpu_s_per_gib=%.3f\n", g, c, g ? c / g : 0 }' "$T/cpu"

# idle_pages decoder: 4 GiB as runs of 8 accessed / 8 idle pages.
awk 'BEGIN { print "@0x7f0000000000"; for (i = 0; i < 65536; i++) print "A8 I8" }' |
    tr ' ' '\n' | "$B/tests/gen-idle-pages" - > "$T/idle.bin" || exit 1
{ time "$BIN/etmem-scan" --decode-idle-pages "$T/idle.bin" --address 0x7f0000000000 > /dev/null; } 2> "$T/cpu"
awk '{ c = $1 + $2 } END { printf "scan-cpu backend=idle_pages(decode) gib_scanned=4.00 cpu_s=%.3f cpu_s_per_gib=%.3f\n", c, c / 4 }' "$T/cpu"
echo "scan-cpu backend=page_idle skipped=no-page_idle-on-host"
echo "scan-cpu backend=damon skipped=vm-lane-only"
