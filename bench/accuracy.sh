#!/bin/sh
# SPDX-License-Identifier: MIT
# accuracy.sh - how well etmem finds the cold set of a workload whose truth is
# known (bench/workload-gen), per backend and access pattern.
#
#   sh bench/accuracy.sh [BUILD_DIR] [--quick|--full] [CASE...]
#
# CASE is backend:pattern (idle_pages:fixed, smaps:fixed-split, ...; all
# when none given). --quick: 16 MiB arena, 1.5 s per run.
#
# Backends measured:
#   idle_pages  fixture lane: the workload's own per-window touched set is
#               encoded as the openEuler kernel would (tests/helpers/
#               gen-idle-pages), decoded by etmem-scan --decode-idle-pages and
#               ranked by etmem-rank slide -T 1; one window = one period.
#               This measures decoder + ranker against a faithful kernel, not
#               the kernel's own fidelity.
#   smaps       live on this host: etmem-scan --backend smaps on the running
#               workload, unsplit (one VMA) and split (--vma-kib 1024).
#   page_idle   fixture lane, the same windows: bench/page-idle-window runs
#               etmem-scan's page_idle backend (its real prepare and collect)
#               on a pagemap + bitmap fixture and plays the kernel between
#               them, clearing the idle bit of each touched page's PFN (a
#               THP's head PFN). Neither this host nor the VM kernel has
#               CONFIG_IDLE_PAGE_TRACKING.
#   damon       not measured here: DAMON runs only in the VM lane, where the
#               bench-damon-acc scenario scores it (tests/vm/scenarios/).
# Output: one `accuracy backend=.. pattern=.. ...` line per run on stdout
# (recall/precision of the cold set, averaged over periods; found_after = the
# first period whose recall >= 0.9; for phase, refound_after = periods after
# the hot set moved until recall >= 0.9 again). Per-period lines on stderr.
# ETMEM_ACC_KEEP=DIR keeps each fixture lane's capture there as
# BACKEND-PATTERN.etmr (text ETMR). Exit 0 unless a tool failed; no threshold is asserted here (see
# tests/bats/accuracy.bats).
set -u
B=${1:-build}
QUICK=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$B/bin
WG=$B/bench/workload-gen
GEN=$B/tests/gen-idle-pages
PIW=$B/bench/page-idle-window
SCORE=$HERE/acc-score.awk
T=$(mktemp -d /tmp/etmem-acc.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
SIZE=32
DUR=3
[ "$QUICK" = --quick ] && { SIZE=16; DUR=1.5; }
for f in "$WG" "$GEN" "$PIW" "$BIN/etmem-scan" "$BIN/etmem-rank"; do
	[ -x "$f" ] || { echo "accuracy: missing $f (run make first)" >&2; exit 66; }
done

# ready line -> shell variables wpid, base, pages, stride
parse_ready() {
	wpid=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$1")
	base=$(sed -n 's/.* base=\(0x[0-9a-f]*\).*/\1/p' "$1")
	pages=$(sed -n 's/.* pages=\([0-9]*\).*/\1/p' "$1")
	stride=$(sed -n 's/.* stride=\([0-9]*\).*/\1/p' "$1")
}

# Wait (up to 10 s) for the workload's ready line in $1.
wait_ready() {
	i=0
	while ! grep -q '^ready' "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && return 1
		sleep 0.05
	done
	parse_ready "$1"
}

# Summarize acc-score.awk lines (stdin) into one result line.
summarize() {
	awk -v tag="$1" '
	function kv(k,  i, a, n) { n = split($0, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
	{ n++; r = kv("recall"); p = kv("precision"); sr += r; sp += p
	  if (found == "" && r >= 0.9) found = n
	  ph = kv("phase"); if (ph == 1 && p1 == "") p1 = n
	  if (p1 != "" && refound == "" && r >= 0.9) refound = n - p1 + 1 }
	END { if (!n) { print "accuracy " tag " periods=0 error=no-periods"; exit }
	  printf "accuracy %s periods=%d recall=%.3f precision=%.3f found_after=%s", tag, n, sr / n, sp / n, found == "" ? "never" : found
	  if (p1 != "") printf " refound_after=%s", refound == "" ? "never" : refound
	  printf "\n" }'
}

# Turn one truth window's T lines into gen-idle-pages tokens (4K, or 2M for thp).
tokens() {
	awk -v base="$base" -v pages="$pages" -v stride="$stride" -v thp="$2" '
	function hex(s,  i, v) { sub(/^0x/, "", s); v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
	function tohex(v,  s, d) { s = ""; while (v > 0) { d = v % 16; s = substr("0123456789abcdef", d + 1, 1) s; v = (v - d) / 16 } return "0x" (s == "" ? "0" : s) }
	function run(c, n) { if (n > 0) print c n }
	$1 == "T" { s0 = (hex($2) - b) / 4096; for (i = 0; i < $3; i++) tch[s0 + i] = 1 }
	BEGIN { b = hex(base) }
	END {
		unit = thp ? 512 : 1
		for (c = 0; c * stride < pages; c++) {
			first = c * (stride + 1); n = pages - c * stride; if (n > stride) n = stride
			print "@" tohex(b + first * 4096)
			cur = ""; len = 0
			for (u = 0; u < n; u += unit) {
				a = 0; for (k = 0; k < unit; k++) if ((first + u + k) in tch) a = 1
				t = thp ? (a ? "M" : "m") : (a ? "A" : "I")
				if (t != cur) { run(cur, len); cur = t; len = 0 }
				len++
			}
			run(cur, len)
		}
	}' "$1"
}

# The ACCESS lines one fixture backend ($1: idle_pages or page_idle) gives
# for one window's tokens ($2).
window_access() {
	case $1 in
	idle_pages)
		"$GEN" - < "$2" > "$2.cap" &&
		    "$BIN/etmem-scan" --decode-idle-pages "$2.cap" --address "$base" --text ;;
	page_idle)
		"$PIW" --pid "$wpid" - < "$2" ;;
	esac
}

# A fixture lane (idle_pages or page_idle) for one pattern.
acc_fixture() {
	be=$1; pat=$2; shift 2
	d=$T/$be-$pat; mkdir -p "$d"
	"$WG" --pattern "$pat" --size $SIZE --duration $DUR --window-ms 250 \
	    --truth "$d/truth" "$@" > "$d/out" || return 1
	parse_ready "$d/out"
	thp=0; [ "$pat" = thp ] && thp=1
	# Split the truth into windows; window k becomes period k.
	awk -v d="$d" '$1 == "W" { n++ } n { print > (d "/win." n) }' "$d/truth"
	{
		echo "ETMR 1 page_size=4096 backend=$be host=fixture start_ns=0"
		k=1
		while [ -f "$d/win.$k" ]; do
			tns=$(sed -n '1s/.* t_ns=\([0-9]*\).*/\1/p' "$d/win.$k")
			tokens "$d/win.$k" $thp > "$d/tok.$k" || return 1
			echo "ROUND period=$k round=1 loop=1 time_ns=$tns"
			window_access "$be" "$d/tok.$k" > "$d/acc.$k" || return 1
			awk -v pid="$wpid" '$1 == "A" { $2 = pid; print }' "$d/acc.$k"
			echo "PERIOD period=$k rounds=1 time_ns=$tns mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0"
			k=$((k + 1))
		done
		echo "END status=0"
	} > "$d/stream" || return 1
	"$BIN/etmem-rank" slide -T 1 --text < "$d/stream" > "$d/dec" || return 1
	# Keep the capture for the policy simulator (bench/run.sh).
	[ -n "${ETMEM_ACC_KEEP:-}" ] && cp "$d/stream" "$ETMEM_ACC_KEEP/$be-$pat.etmr"
	awk -f "$SCORE" -v base="$base" -v pages="$pages" -v stride="$stride" \
	    -v pid="$wpid" "$d/truth" "$d/dec" > "$d/score"
	sed "s/^/# $be $pat: /" "$d/score" >&2
	summarize "backend=$be pattern=$pat" < "$d/score"
}

# smaps, live on this host, for one pattern (extra args go to workload-gen).
acc_smaps() {
	tag=$1; pat=$2; shift 2
	d=$T/sm-$tag; mkdir -p "$d"
	"$WG" --pattern "$pat" --size $SIZE --window-ms 250 --truth "$d/truth" "$@" > "$d/out" &
	wgpid=$!
	if ! wait_ready "$d/out"; then kill $wgpid; return 1; fi
	periods=$(awk -v d="$DUR" 'BEGIN { print int(d / 0.25) }')
	"$BIN/etmem-scan" --backend smaps -p "$wpid" --loop 1 --interval 0.25 --sleep 0 \
	    --periods "$periods" --text 2> "$d/scan.err" |
	    "$BIN/etmem-rank" slide -T 1 --text > "$d/dec" 2> "$d/rank.err"
	kill $wgpid 2>/dev/null; wait $wgpid 2>/dev/null
	awk -f "$SCORE" -v base="$base" -v pages="$pages" -v stride="$stride" \
	    -v pid="$wpid" "$d/truth" "$d/dec" > "$d/score"
	sed "s/^/# smaps $tag: /" "$d/score" >&2
	summarize "backend=smaps pattern=$tag" < "$d/score"
}

echo "# accuracy: arena $SIZE MiB, 250 ms periods, $DUR s per run, T=1 loop=1; $(uname -r), $(nproc) cpus" >&2
[ $# -gt 2 ] && { shift 2; CASES=$*; } ||
	CASES="idle_pages:fixed idle_pages:zipf idle_pages:phase idle_pages:thp idle_pages:fork page_idle:fixed page_idle:zipf page_idle:phase page_idle:thp smaps:fixed smaps:fixed-split smaps:zipf-split smaps:phase-split damon"
rc=0
for c in $CASES; do
	case $c in
	idle_pages:zipf) acc_fixture idle_pages zipf --rate 20000 ;;
	idle_pages:*) acc_fixture idle_pages "${c#*:}" ;;
	page_idle:zipf) acc_fixture page_idle zipf --rate 20000 ;;
	page_idle:*) acc_fixture page_idle "${c#*:}" ;;
	smaps:fixed) acc_smaps fixed fixed ;;
	smaps:fixed-split) acc_smaps fixed-split fixed --vma-kib 1024 ;;
	smaps:zipf-split) acc_smaps zipf-split zipf --rate 20000 --vma-kib 1024 ;;
	smaps:phase-split) acc_smaps phase-split phase --duration "$DUR" --vma-kib 1024 ;;
	damon) echo "accuracy backend=damon skipped=vm-lane-only(scenario bench-damon-acc)" ;;
	*) echo "accuracy: unknown case '$c'" >&2; false ;;
	esac || { echo "accuracy case=$c error=failed"; rc=1; }
done
exit $rc
