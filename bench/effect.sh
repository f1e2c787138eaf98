#!/bin/bash
# SPDX-License-Identifier: MIT
# effect.sh - what moving cold memory costs and gains, etmem against the
# kernel's own reclaim, on bench/workload-gen patterns with known truth.
#
#   bash bench/effect.sh [BUILD_DIR] [--quick] [PATTERN...]
#
# Needs root (swap, cgroups). Swap comes from tests/lib/swap.bash (zram or a
# swap file it creates and removes; an existing swap is used untouched).
# Per pattern, three runs of the same workload (64 MiB arena split into
# 1 MiB mappings so the host's VMA-granular smaps backend can find cold
# memory; --quick: 32 MiB, shorter runs):
#   base     unmanaged: touches per second, major faults
#   etmem    etmem-scan --backend smaps | etmem-rank slide -T 1 |
#            etmem-migrate swap, for a few periods: bytes swapped, which
#            pages (pagemap: swapped hot vs cold pages by the truth), the
#            workload's major faults (regret), CPU seconds of the three etmem
#            processes, throughput against base
#   kernel   the workload started in a cgroup-v1 memory cgroup created here;
#            memory.limit_in_bytes lowered by the bytes etmem moved, at the
#            same point in the run: same figures, plus the reclaim's time.
#            The cgroup is removed afterwards.
# Then one swap-out rate comparison on the same data (no touching at all):
# etmem-migrate given one decision for the whole arena vs the kernel
# reclaiming the same bytes through the limit.
# Result lines on stdout: `effect pattern=.. ...` and `swapout ...`.
set -u
B=${1:-build}
QUICK=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$B/bin
WG=$B/bench/workload-gen
SIZE=64; DUR=8; PERIODS=4
[ "$QUICK" = --quick ] && { SIZE=32; DUR=5; PERIODS=2; }
if [ $# -gt 2 ]; then shift 2; PATTERNS=$*; else PATTERNS="fixed zipf phase fork"; fi
CG=/sys/fs/cgroup/memory/etmem-bench.$$
T=$(mktemp -d /tmp/etmem-effect.XXXXXX)

# shellcheck source=../tests/lib/swap.bash
. "$HERE/../tests/lib/swap.bash"
cleanup() {
	[ -n "${wgpid:-}" ] && kill "$wgpid" 2>/dev/null && wait "$wgpid" 2>/dev/null
	[ -d "$CG" ] && rmdir "$CG" 2>/dev/null
	if [ -n "${OWN_SWAP:-}" ]; then
		swapoff "$OWN_SWAP" 2>/dev/null
		rm -rf "$(dirname "$OWN_SWAP")"
	fi
	swap_teardown
	[ -n "${ETMEM_BENCH_KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || { echo "effect: needs root (swap, cgroups)" >&2; exit 77; }
[ -x "$WG" ] || { echo "effect: missing $WG (run make first)" >&2; exit 66; }
swap_setup || { echo "effect: no swap" >&2; exit 69; }
# Someone else's swap may be switched off under us mid-run (another test's
# teardown): then add a swap file of our own, at a higher priority, that
# only we remove.
OWN_SWAP=
if [ "$ETMEM_SWAP_KIND" = existing ]; then
	OWN_SWAP=$(mktemp -d /var/tmp/etmem-bench-swap.XXXXXX)/swapfile
	if fallocate -l 512M "$OWN_SWAP" && chmod 600 "$OWN_SWAP" &&
	    mkswap "$OWN_SWAP" > /dev/null 2>&1 && swapon -p 1000 "$OWN_SWAP"; then
		ETMEM_SWAP_KIND="existing+own-file"
	else
		echo "effect: cannot add a swap file of our own; using the existing swap" >&2
		rm -rf "$(dirname "$OWN_SWAP")"; OWN_SWAP=
	fi
fi
echo "# effect: swap=$ETMEM_SWAP_KIND arena=${SIZE}MiB duration=${DUR}s periods=$PERIODS $(uname -r) $(nproc) cpus" >&2

kv() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" "$2" | tail -1; }

# Start the workload (args) with stdout to $1; set wgpid, wpid, base, pages, stride.
start_wg() {
	local out=$1; shift
	"$WG" "$@" > "$out" &
	wgpid=$!
	local i=0
	until grep -q '^ready' "$out" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && return 1; sleep 0.05
	done
	read_ready "$out"
}

# The ready line of workload-gen's stdout $1 -> wpid, base, pages, stride.
read_ready() {
	wpid=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$1")
	base=$(sed -n 's/.* base=\(0x[0-9a-f]*\).*/\1/p' "$1")
	pages=$(sed -n 's/.* pages=\([0-9]*\).*/\1/p' "$1")
	stride=$(sed -n 's/.* stride=\([0-9]*\).*/\1/p' "$1")
}

finish_wg() { wait "$wgpid" 2>/dev/null; wgpid=; }

# Which arena pages are swapped out, against the hot set in force now:
# prints "swapped_hot=N swapped_cold=N".
swapped_now() {
	local truth=$1 nslots=$(( pages + pages / stride ))
	kill -USR1 "$wpid"; sleep 0.1
	dd if=/proc/$wpid/pagemap bs=8 skip=$(( base / 4096 )) count=$nslots 2>/dev/null |
	    od -An -v -tx8 | tr -s ' ' '\n' | grep . |
	    awk -v base="$base" -v stride="$stride" -v pages="$pages" '
	    function hex(s,  i, v) { sub(/^0x/, "", s); v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
	    FNR == NR { if ($1 == "W") { delete hot; b = hex(base) } else if ($1 == "H") { s0 = (hex($2) - b) / 4096; for (i = 0; i < $3; i++) hot[s0 + i] = 1 } next }
	    { s = FNR - 1; if (stride != pages && s % (stride + 1) == stride) next
	      d = index("0123456789abcdef", substr($1, 1, 1)) - 1
	      if (int(d / 4) % 2) { if (s in hot) sh++; else sc++ } }
	    END { printf "swapped_hot=%d swapped_cold=%d\n", sh, sc }' "$truth" -
}

WARM=1
effect_pattern() {
	local p=$1 d=$T/$1 extra=()
	mkdir -p "$d"
	[ "$p" = zipf ] && extra=(--rate 20000)
	local args=(--pattern "$p" --size $SIZE --vma-kib 1024 --duration $DUR "${extra[@]}")

	# base: unmanaged; run again after the others and the better run is
	# kept (the machine is shared: a single base run is noisy).
	start_wg "$d/base.out" "${args[@]}" || return 1
	finish_wg
	local tps0 maj0
	tps0=$(kv touches_per_sec "$d/base.out"); maj0=$(kv majflt "$d/base.out")

	# etmem
	start_wg "$d/etmem.out" "${args[@]}" --truth "$d/etmem.truth" || return 1
	sleep $WARM
	local TIMEFORMAT='%U %S'
	{ time { "$BIN/etmem-scan" --backend smaps -p "$wpid" --loop 1 --interval 0.5 --sleep 0.5 \
	    --periods $PERIODS 2> "$d/scan.err" |
	    "$BIN/etmem-rank" slide -T 1 2> "$d/rank.err" |
	    "$BIN/etmem-migrate" swap --text > "$d/mig.out" 2> "$d/mig.err"; }; } 2> "$d/cpu"
	local took moved cpu
	took=$(swapped_now "$d/etmem.truth")
	moved=$(awk '$1 == "S" && $2 == "migrate" && $4 == "bytes_swapped" { n += $5 } END { print n + 0 }' "$d/mig.out")
	cpu=$(tail -1 "$d/cpu" | awk '{ printf "%.2f", $1 + $2 }')
	finish_wg
	local tps1 maj1
	tps1=$(kv touches_per_sec "$d/etmem.out"); maj1=$(kv majflt "$d/etmem.out")

	# kernel: same workload in a memory cgroup; reclaim `moved` bytes at
	# the point where etmem had finished its first period.
	mkdir "$CG" || return 1
	(echo $BASHPID > "$CG/cgroup.procs" && exec "$WG" "${args[@]}" --truth "$d/kernel.truth") > "$d/kernel.out" &
	wgpid=$!
	local i=0
	until grep -q '^ready' "$d/kernel.out" 2>/dev/null; do i=$((i + 1)); [ $i -gt 200 ] && return 1; sleep 0.05; done
	read_ready "$d/kernel.out"
	sleep "$(awk -v w=$WARM 'BEGIN { print w + 1 }')"
	local usage limit t0 t1 ktook kmoved swap0 swap1
	usage=$(cat "$CG/memory.usage_in_bytes")
	limit=$(( usage - moved ))
	swap0=$(awk '/^VmSwap/ { print $2 }' /proc/$wpid/status)
	t0=$(date +%s%N)
	echo $limit > "$CG/memory.limit_in_bytes" 2> "$d/limit.err" || echo "effect: limit $limit: $(cat "$d/limit.err")" >&2
	t1=$(date +%s%N)
	swap1=$(awk '/^VmSwap/ { print $2 }' /proc/$wpid/status)
	kmoved=$(( (swap1 - swap0) * 1024 ))
	ktook=$(swapped_now "$d/kernel.truth")
	finish_wg
	rmdir "$CG" 2>/dev/null || echo "effect: cannot remove $CG" >&2
	local tps2 maj2
	tps2=$(kv touches_per_sec "$d/kernel.out"); maj2=$(kv majflt "$d/kernel.out")

	start_wg "$d/base2.out" "${args[@]}" || return 1
	finish_wg
	tps0=$(awk -v a="$tps0" -v b="$(kv touches_per_sec "$d/base2.out")" 'BEGIN { print (b > a ? b : a) }')
	local skips
	skips=$(awk '$1 == "S" && $2 == "migrate" && $4 ~ /^skipped_/ && $5 > 0 { n[$4] += $5 } END { for (k in n) printf " %s=%d", k, n[k] }' "$d/mig.out")
	echo "# $p: etmem-migrate skips:${skips:- none}" >&2
	[ "$(awk 'NR > 1' /proc/swaps | wc -l)" -gt 0 ] ||
		{ echo "effect pattern=$p error=swap-vanished-during-run"; return 1; }
	echo "# $p: base tps=$tps0 majflt=$maj0" >&2
	echo "# $p: etmem moved=$moved $took majflt=$maj1 cpu_s=$cpu tps=$tps1" >&2
	echo "# $p: kernel moved=$kmoved $ktook majflt=$maj2 reclaim_ms=$(( (t1 - t0) / 1000000 )) tps=$tps2" >&2
	awk -v p="$p" -v m="$moved" -v km="$kmoved" -v r1="$maj1" -v r2="$maj2" \
	    -v t0="$tps0" -v t1="$tps1" -v t2="$tps2" -v cpu="$cpu" -v took="$took" -v ktook="$ktook" \
	    -v kms="$(( (t1 - t0) / 1000000 ))" 'BEGIN {
		split(took, a, /[ =]/); split(ktook, k, /[ =]/)
		printf "effect pattern=%s etmem_moved_mib=%.1f kernel_moved_mib=%.1f etmem_hot_taken=%d kernel_hot_taken=%d etmem_regret_majflt=%d kernel_regret_majflt=%d etmem_cpu_s=%s kernel_reclaim_ms=%d etmem_tput=%.3f kernel_tput=%.3f moved_ratio=%s regret_ratio=%s\n",
		    p, m / 1048576, km / 1048576, a[2], k[2], r1, r2, cpu, kms,
		    t0 ? t1 / t0 : 0, t0 ? t2 / t0 : 0,
		    km ? sprintf("%.2f", m / km) : "-", r2 ? sprintf("%.2f", r1 / r2) : (r1 ? "inf" : "-") }'
}

# Swap-out rate on the same data: nothing is touched (hot set 0.01 %).
swapout_rate() {
	local d=$T/rate args=(--pattern fixed --size $SIZE --hot-percent 0.01 --duration 0)
	mkdir -p "$d"
	start_wg "$d/etmem.out" "${args[@]}" || return 1
	local nslots=$(( pages ))
	local s0 s1 t0 t1
	s0=$(awk '/^VmSwap/ { print $2 }' /proc/$wpid/status)
	t0=$(date +%s%N)
	printf 'D %d %s %d 4K swap -\nEND status=0\n' "$wpid" "$base" $nslots |
	    "$BIN/etmem-migrate" swap --text > "$d/mig.out" 2> "$d/mig.err"
	t1=$(date +%s%N)
	s1=$(awk '/^VmSwap/ { print $2 }' /proc/$wpid/status)
	kill "$wgpid"; finish_wg
	local eb=$(( (s1 - s0) * 1024 )) ens=$(( t1 - t0 ))

	mkdir "$CG" || return 1
	(echo $BASHPID > "$CG/cgroup.procs" && exec "$WG" "${args[@]}") > "$d/kernel.out" &
	wgpid=$!
	local i=0
	until grep -q '^ready' "$d/kernel.out" 2>/dev/null; do i=$((i + 1)); [ $i -gt 200 ] && return 1; sleep 0.05; done
	read_ready "$d/kernel.out"
	local usage
	usage=$(cat "$CG/memory.usage_in_bytes")
	s0=$(awk '/^VmSwap/ { print $2 }' /proc/$wpid/status)
	t0=$(date +%s%N)
	echo $(( usage - eb )) > "$CG/memory.limit_in_bytes" 2> /dev/null
	t1=$(date +%s%N)
	s1=$(awk '/^VmSwap/ { print $2 }' /proc/$wpid/status)
	kill "$wgpid"; finish_wg
	rmdir "$CG" 2>/dev/null || echo "effect: cannot remove $CG" >&2
	local kb=$(( (s1 - s0) * 1024 )) kns=$(( t1 - t0 ))
	awk -v eb=$eb -v ens=$ens -v kb=$kb -v kns=$kns 'BEGIN {
		er = ens ? eb / (ens / 1e9) / 1048576 : 0; kr = kns ? kb / (kns / 1e9) / 1048576 : 0
		printf "swapout etmem_mib=%.1f etmem_mib_per_s=%.0f kernel_mib=%.1f kernel_mib_per_s=%.0f ratio=%s (goal >= 1.0; etmem time includes process start)\n",
		    eb / 1048576, er, kb / 1048576, kr, kr ? sprintf("%.2f", er / kr) : "-" }'
}

rc=0
for p in $PATTERNS; do
	effect_pattern "$p" || { echo "effect pattern=$p error=failed"; rc=1; }
done
swapout_rate || { echo "swapout error=failed"; rc=1; }
exit $rc
