#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem-migrate swap: hand-written decision streams against a real workload
# (process_madvise on this kernel) and a fixture tree for swap_pages.

load ../lib/swap

MIG=${ETMEM_BIN:-build/bin}/etmem-migrate
WORKLOAD=${ETMEM_TESTBIN:-build/tests}/workload
PERIOD_LINE='PERIOD period=1 rounds=1 time_ns=0 mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0'

setup_file() {
	swap_setup
}

teardown_file() {
	swap_teardown
}

setup() {
	T=$(mktemp -d)
	WP=
}

teardown() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null
	[ -n "${SP:-}" ] && kill "$SP" 2>/dev/null
	rm -rf "$T"
}

# Start the workload; sets WP, COLD_S, COLD_E, HOT_S, HOT_E, START_TIME.
start_workload() {
	"$WORKLOAD" --hot "${1:-8}" --cold "${2:-16}" --ready-file "$T/ready" >/dev/null &
	WP=$!
	for _ in $(seq 100); do [ -f "$T/ready" ] && break; sleep 0.05; done
	[ -f "$T/ready" ] || { echo "workload not ready" >&2; return 1; }
	local l; l=$(cat "$T/ready")
	[[ $l =~ pid=([0-9]+)\ hot=(0x[0-9a-f]+)-(0x[0-9a-f]+)\ cold=(0x[0-9a-f]+)-(0x[0-9a-f]+) ]]
	[ "${BASH_REMATCH[1]}" = "$WP" ]
	HOT_S=${BASH_REMATCH[2]} HOT_E=${BASH_REMATCH[3]}
	COLD_S=${BASH_REMATCH[4]} COLD_E=${BASH_REMATCH[5]}
	START_TIME=$(awk '{ print $22 }' "/proc/$WP/stat")
}

vmswap() { awk '/^VmSwap:/ { print $2 }' "/proc/$1/status"; }
cold_pages() { echo $(( (COLD_E - COLD_S) / 4096 )); }
# mstat KEY: the value of "S migrate 1 KEY N" in $output
mstat() { printf '%s\n' "$output" | awk -v k="$1" '$1 == "S" && $2 == "migrate" && $4 == k { print $5 }'; }

@test "--help prints the manual text and exits 0" {
	run "$MIG" swap --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: etmem-migrate swap "* ]]
	[[ $output == *"--dry-run"* && $output == *"--swapcache-high-wmark"* ]]
	run "$MIG" --help
	[ "$status" -eq 0 ]
	[[ $output == *"etmem-migrate swap"* ]]
}

@test "a bad flag, a missing action or an unknown action is usage (64)" {
	run "$MIG" swap --bogus
	[ "$status" -eq 64 ]
	[[ $output == "etmem-migrate: unknown option '--bogus'"* ]]
	run "$MIG"
	[ "$status" -eq 64 ]
	run "$MIG" shuffle
	[ "$status" -eq 64 ]
	[[ $output == "etmem-migrate: unknown action 'shuffle'"* ]]
	run "$MIG" swap --backend nope
	[ "$status" -eq 64 ]
}

@test "watermarks must come together with high > low (64)" {
	run "$MIG" swap --swapcache-high-wmark 50 </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"go together"* ]]
	run "$MIG" swap --swapcache-high-wmark 10 --swapcache-low-wmark 10 </dev/null
	[ "$status" -eq 64 ]
	run "$MIG" swap --swapcache-high-wmark 101 --swapcache-low-wmark 10 </dev/null
	[ "$status" -eq 64 ]
}

@test "a bad stream is 65 and names the line; earlier complete periods were done" {
	printf 'D 1 0x1000 zz 4K swap -\n' > "$T/bad.txt"
	run "$MIG" swap --text < "$T/bad.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"<stdin>:1"* ]]
	head -c 100 /dev/urandom > "$T/junk"
	run "$MIG" swap < "$T/junk"
	[ "$status" -eq 65 ]
}

@test "vanished pid and unmapped range are counted, exit 0, nothing touched" {
	start_workload
	before=$(vmswap "$WP")
	# A pid that cannot exist (above pid_max) and an address in no mapping.
	printf 'D 4194304 0x10000 4 4K swap -\nD %d 0x1000 4 4K swap -\n%s\nEND status=0\n' \
	    "$WP" "$PERIOD_LINE" > "$T/in.txt"
	run "$MIG" swap --text < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat skipped_vanished)" = 1 ]
	[ "$(mstat skipped_unmapped)" = 1 ]
	[ "$(mstat bytes_accepted)" = 0 ]
	[ "$(mstat bytes_requested)" = 32768 ]
	[[ $output == *"END status=0"* ]]
	[ "$(vmswap "$WP")" = "$before" ]
}

@test "a recycled pid (start time differs) is skipped and its memory untouched" {
	start_workload
	before=$(vmswap "$WP")
	printf 'D %d %s %d 4K swap - start_time=%d\n%s\n' "$WP" "$COLD_S" "$(cold_pages)" \
	    $((START_TIME + 1)) "$PERIOD_LINE" > "$T/in.txt"
	run "$MIG" swap --text < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat skipped_recycled)" = 1 ]
	[ "$(mstat bytes_accepted)" = 0 ]
	[ "$(vmswap "$WP")" = "$before" ]
}

@test "--dry-run prints the plan and changes nothing; the same run for real swaps" {
	start_workload
	before=$(vmswap "$WP")
	printf 'D %d %s %d 4K swap - start_time=%d\n%s\n' "$WP" "$COLD_S" "$(cold_pages)" \
	    "$START_TIME" "$PERIOD_LINE" > "$T/in.txt"
	run "$MIG" swap --text --dry-run < "$T/in.txt"
	[ "$status" -eq 0 ]
	[[ $output == *"plan: pid $WP swap $COLD_S-$COLD_E $(cold_pages) pages"* ]]
	[ "$(mstat bytes_accepted)" = 0 ]
	[ "$(vmswap "$WP")" = "$before" ]
	# The control: without --dry-run the cold region goes to swap.
	run "$MIG" swap --text < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat bytes_accepted)" = $((COLD_E - COLD_S)) ]
	after=$(vmswap "$WP")
	[ "$after" -ge $(( before + (COLD_E - COLD_S) / 1024 * 9 / 10 )) ]
}

@test "-p restricts: other pids are skipped_filtered" {
	start_workload
	before=$(vmswap "$WP")
	printf 'D %d %s %d 4K swap -\n%s\n' "$WP" "$COLD_S" "$(cold_pages)" "$PERIOD_LINE" > "$T/in.txt"
	run "$MIG" swap --text -p 1 < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat skipped_filtered)" = 1 ]
	[ "$(vmswap "$WP")" = "$before" ]
}

@test "actions swap cannot do are counted as skipped_unsupported" {
	start_workload
	printf 'D %d %s 4 4K demote 1\n%s\n' "$WP" "$COLD_S" "$PERIOD_LINE" > "$T/in.txt"
	run "$MIG" swap --text < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat skipped_unsupported)" = 1 ]
}

@test "decisions left at END without their PERIOD are still acted on" {
	start_workload
	printf 'D %d %s %d 4K swap -\nEND status=0\n' "$WP" "$COLD_S" "$(cold_pages)" > "$T/in.txt"
	run "$MIG" swap --text < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat bytes_accepted)" = $((COLD_E - COLD_S)) ]
}

@test "watermarks on this kernel: one clear 'unsupported' message, then work as usual" {
	start_workload
	printf 'D %d 0x1000 1 4K swap -\n%s\n%s\n' "$WP" "$PERIOD_LINE" \
	    "${PERIOD_LINE/period=1/period=2}" > "$T/in.txt"
	"$MIG" swap --text --swapcache-high-wmark 50 --swapcache-low-wmark 10 \
	    < "$T/in.txt" > "$T/out.txt" 2> "$T/err.txt"
	[ "$(grep -c unsupported "$T/err.txt")" = 1 ]
	grep -q "swapcache watermarks are unsupported on this kernel" "$T/err.txt"
	grep -q '^END status=0' "$T/out.txt"
}

@test "upstream STAT items and PERIOD are forwarded; binary output reads back" {
	printf 'S rank 7 decisions 0\nPERIOD period=7 rounds=2 time_ns=5 mem_total_kb=1 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0\n' > "$T/in.txt"
	"$MIG" swap < "$T/in.txt" > "$T/out.etmr"
	run "$MIG" swap --text < "$T/out.etmr"
	[ "$status" -eq 0 ]
	[[ $output == *"S rank 7 decisions 0"* ]]
	[[ $output == *"S migrate 7 decisions 0"* ]]
	[[ $output == *"PERIOD period=7 rounds=2 time_ns=5 mem_total_kb=1"* ]]
}

@test "SIGTERM while waiting for input: END is written, exit 0" {
	mkfifo "$T/fifo"
	exec 8<>"$T/fifo"
	"$MIG" swap --text < "$T/fifo" > "$T/out.txt" 2>/dev/null &
	local mp=$!
	printf 'S rank 1 x 1\n' >&8
	sleep 0.3
	kill -TERM "$mp"
	local rc=0
	wait "$mp" || rc=$?
	exec 8>&-
	[ "$rc" -eq 0 ]
	grep -q '^END status=0' "$T/out.txt"
}

# The swap_pages fixture: a live process (for the pidfd) whose /proc files
# come from a fixture tree; swap_pages is a regular file we can inspect.
make_fixture() {
	sleep 300 &
	SP=$!
	local d=$T/root/proc/$SP
	mkdir -p "$d" "$T/root/proc/self"
	cp "/proc/$SP/stat" "$d/stat"
	printf '7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n7f0000400000-7f0000401000 r--p 00000000 00:00 0                          [vvar]\n' > "$d/maps"
	printf 'Name:\tsleep\nVmRSS:\t4096 kB\nVmSwap:\t0 kB\n' > "$d/status"
	: > "$d/swap_pages"
	: > "$T/root/proc/self/swap_pages"
	FIX_START=$(awk '{ print $22 }' "$d/stat")
}

@test "swap_pages: whole 0x lines, each write(2) <= 4096 bytes ending in newline" {
	command -v strace >/dev/null || skip "strace not installed"
	make_fixture
	# 1024 pages from the VMA start, and one page of [vvar] (never touched).
	printf 'D %d 0x7f0000000000 1024 4K swap - start_time=%d\nD %d 0x7f0000400000 1 4K swap -\n%s\n' \
	    "$SP" "$FIX_START" "$SP" "$PERIOD_LINE" > "$T/in.txt"
	# LeakSanitizer cannot run under ptrace (sanitized builds).
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	run strace -f -y -s 8192 -e trace=write -o "$T/strace" \
	    "$MIG" swap --text --proc-root "$T/root" < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat bytes_accepted)" = $((1024 * 4096)) ]
	[ "$(mstat skipped_special)" = 1 ]
	f=$T/root/proc/$SP/swap_pages
	# Content: exactly the 1024 page addresses, one whole line each.
	[ "$(wc -l < "$f")" = 1024 ]
	[ "$(grep -cvE '^0x[0-9a-f]+$' "$f")" = 0 ]
	[ "$(head -1 "$f")" = 0x7f0000000000 ]
	[ "$(tail -1 "$f")" = 0x7f00003ff000 ]
	# Every write(2) to it: <= 4096 bytes, the string ends with \n.
	grep 'swap_pages>' "$T/strace" > "$T/writes"
	[ "$(wc -l < "$T/writes")" -ge 4 ]
	while read -r w; do
		n=${w##*= }
		[ "$n" -le 4096 ]
		[[ $w == *'\n", '[0-9]*') = '* ]]
	done < "$T/writes"
}

@test "swap_pages: recycled pid in the fixture is not written" {
	make_fixture
	printf 'D %d 0x7f0000000000 16 4K swap - start_time=%d\n%s\n' \
	    "$SP" $((FIX_START + 5)) "$PERIOD_LINE" > "$T/in.txt"
	run "$MIG" swap --text --proc-root "$T/root" < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(mstat skipped_recycled)" = 1 ]
	[ ! -s "$T/root/proc/$SP/swap_pages" ]
}

@test "swap_pages: swapcache watermarks are set once, reclaim started every due period" {
	command -v strace >/dev/null || skip "strace not installed"
	make_fixture
	# Swap cache at 60 % of RAM: above a 50 % high mark.
	printf 'MemTotal: 1000000 kB\nMemFree: 1000 kB\nSwapCached: 600000 kB\n' > "$T/root/proc/meminfo"
	printf 'D %d 0x7f0000000000 4 4K swap -\n%s\nD %d 0x7f0000000000 4 4K swap -\n%s\n' \
	    "$SP" "$PERIOD_LINE" "$SP" "${PERIOD_LINE/period=1/period=2}" > "$T/in.txt"
	# A fixture file has no ioctls: strace makes them succeed.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	run strace -y -e trace=ioctl -e inject=ioctl:retval=0 -o "$T/strace" \
	    "$MIG" swap --text --proc-root "$T/root" --swapcache-high-wmark 50 --swapcache-low-wmark 10 < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'swap_pages>, _IOC(_IOC_WRITE, 0x77, 0x2, 0x4)' "$T/strace")" = 1 ]
	[ "$(grep -c 'swap_pages>, _IOC(_IOC_WRITE, 0x77, 0x1, 0x4)' "$T/strace")" = 2 ]
	[[ $output == *"S migrate 2 swapcache_reclaims 1"* ]]
	# Below the mark nothing is sent.
	printf 'MemTotal: 1000000 kB\nMemFree: 1000 kB\nSwapCached: 500000 kB\n' > "$T/root/proc/meminfo"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	run strace -y -e trace=ioctl -e inject=ioctl:retval=0 -o "$T/strace" \
	    "$MIG" swap --text --proc-root "$T/root" --swapcache-high-wmark 50 --swapcache-low-wmark 10 < "$T/in.txt"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'swap_pages>' "$T/strace")" = 0 ]
}

@test "--backend swap_pages on a kernel without etmem_swap is 69 and names the module" {
	[ ! -e /proc/self/swap_pages ] || skip "this kernel has swap_pages"
	run "$MIG" swap --backend swap_pages </dev/null
	[ "$status" -eq 69 ]
	[[ $output == "etmem-migrate: no '/proc/self/swap_pages': openEuler's etmem_swap module"* ]]
}
