#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Host lane, end to end and for real: scanner -> ranker -> migrator on a live
# workload, with swap that this suite sets up (zram or a file) and removes.
# Checks what the kernel says afterwards: the cold VMA's Swap in smaps and
# smaps_rollup, and pagemap's present bit (63) for every hot page.

load ../lib/swap

BIN=${ETMEM_BIN:-build/bin}
WORKLOAD=${ETMEM_TESTBIN:-build/tests}/workload

setup_file() {
	swap_setup
}

teardown_file() {
	swap_teardown
}

setup() {
	for b in etmem-scan etmem-rank etmem-migrate; do
		[ -x "$BIN/$b" ] || skip "$b not built"
	done
	T=$(mktemp -d)
	WP=
}

teardown() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null
	rm -rf "$T"
}

start_workload() {
	"$WORKLOAD" --hot "$1" --cold "$2" --ready-file "$T/ready" >/dev/null &
	WP=$!
	for _ in $(seq 200); do [ -f "$T/ready" ] && break; sleep 0.05; done
	[ -f "$T/ready" ] || { echo "workload not ready" >&2; return 1; }
	local l; l=$(cat "$T/ready")
	[[ $l =~ pid=([0-9]+)\ hot=(0x[0-9a-f]+)-(0x[0-9a-f]+)\ cold=(0x[0-9a-f]+)-(0x[0-9a-f]+) ]]
	HOT_S=${BASH_REMATCH[2]} HOT_E=${BASH_REMATCH[3]}
	COLD_S=${BASH_REMATCH[4]} COLD_E=${BASH_REMATCH[5]}
}

# Swap: (kB) of the VMA of pid $1 that starts at address $2.
vma_swap_kb() {
	local start=${2#0x}
	awk -v s="$start" '
		/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); cur = (r[1] == s) }
		cur && $1 == "Swap:" { print $2; exit }' "/proc/$1/smaps"
}

rollup_swap_kb() { awk '$1 == "Swap:" { print $2 }' "/proc/$1/smaps_rollup"; }

# Pages of [$2, $3) of pid $1 that are present in RAM (pagemap bit 63).
resident_pages() {
	local pid=$1 s=$(($2)) e=$(($3))
	dd if="/proc/$pid/pagemap" iflag=skip_bytes,count_bytes bs=64K \
	    skip=$((s / 4096 * 8)) count=$(((e - s) / 4096 * 8)) status=none |
		od -An -v -t x8 | awk '{ for (i = 1; i <= NF; i++) if (substr($i, 1, 1) ~ /[89a-f]/) n++ }
		    END { print n + 0 }'
}

@test "host lane: cold memory goes to swap, hot memory stays (smaps, pagemap)" {
	start_workload 32 64
	cold_kb=$(( (COLD_E - COLD_S) / 1024 ))
	hot_pages=$(( (HOT_E - HOT_S) / 4096 ))
	[ "$(vma_swap_kb "$WP" "$COLD_S")" -lt $((cold_kb / 10)) ]
	"$BIN/etmem-scan" --backend smaps -p "$WP" --loop 2 --interval 0.5 --periods 1 |
		"$BIN/etmem-rank" slide -T 1 |
		"$BIN/etmem-migrate" swap --text > "$T/out.txt" 2> "$T/err.txt"
	cat "$T/out.txt" "$T/err.txt" >&2
	swapped=$(vma_swap_kb "$WP" "$COLD_S")
	rollup=$(rollup_swap_kb "$WP")
	hot=$(resident_pages "$WP" "$HOT_S" "$HOT_E")
	echo "cold VMA swap ${swapped} kB of ${cold_kb} kB; rollup ${rollup} kB; hot resident ${hot}/${hot_pages}" >&2
	[ "$swapped" -ge $((cold_kb * 9 / 10)) ]
	[ "$rollup" -ge $((cold_kb * 9 / 10)) ]
	[ "$hot" -ge $((hot_pages * 95 / 100)) ]
	grep -q '^S migrate 1 bytes_swapped [1-9]' "$T/out.txt"
	grep -q '^END status=0' "$T/out.txt"
}

@test "host lane: a captured scan replays to identical decisions" {
	start_workload 8 16
	"$BIN/etmem-scan" --backend smaps -p "$WP" --loop 2 --interval 0.5 --periods 1 |
		tee "$T/cap.etmr" | "$BIN/etmem-rank" slide -T 1 --text > "$T/live.txt"
	"$BIN/etmem-rank" slide -T 1 --text < "$T/cap.etmr" > "$T/replay.txt"
	grep -q '^D ' "$T/live.txt"
	# Byte for byte, header included (the ranker passes the scanner's on).
	cmp "$T/live.txt" "$T/replay.txt"
}
