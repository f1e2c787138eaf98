#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem-rank slide --sweep: the policy simulator, on hand-written captures
# whose outcome is worked out by hand in each test.

setup() {
	RANK=$ETMEM_BIN/etmem-rank
	D=$(mktemp -d)
	P='mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0'
	# Page 0x1000 idle then accessed, page 0x2000 accessed then idle.
	cat > "$D/cap" <<-EOT
	ROUND period=1 round=1 loop=1 time_ns=1
	A 7 0x1000 1 4K 0 i
	A 7 0x2000 1 4K 1 -
	PERIOD period=1 rounds=1 time_ns=2 $P
	ROUND period=2 round=1 loop=1 time_ns=3
	A 7 0x1000 1 4K 1 -
	A 7 0x2000 1 4K 0 i
	PERIOD period=2 rounds=1 time_ns=4 $P
	END status=0
	EOT
}

teardown() {
	rm -rf "$D"
}

@test "sweep: T=1 moves both pages once and predicts one return (50 % regret)" {
	run "$RANK" slide --sweep --csv < "$D/cap"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "T,dram_percent,moved_bytes,saved_bytes,returned_bytes,regret_pct,periods" ]
	[ "${lines[1]}" = "0,0,0,0,0,0.00,2" ]
	[ "${lines[2]}" = "1,0,8192,4096,4096,50.00,2" ]
	# T=2: both out in period 1; 0x1000 returns in 2 and, count 1 < 2, goes out again.
	[ "${lines[3]}" = "2,0,12288,8192,4096,33.33,2" ]
	[ "${#lines[@]}" -eq 5 ]     # T = 0..3*loop
}

@test "sweep: a dram_percent budget keeps half resident, coldest out first" {
	run "$RANK" slide --sweep --csv --dram-percent 50 < "$D/cap"
	[ "$status" -eq 0 ]
	[ "${lines[7]}" = "2,50,8192,4096,4096,50.00,2" ]
	[ "${#lines[@]}" -eq 9 ]
}

@test "sweep: table form names the columns; 2M pages count 2 MiB" {
	cat > "$D/huge" <<-EOT
	ROUND period=1 round=1 loop=2 time_ns=1
	A 9 0x200000 2 2M 0 i
	ROUND period=1 round=2 loop=2 time_ns=2
	A 9 0x200000 2 2M 0 i
	PERIOD period=1 rounds=2 time_ns=3 $P
	END status=0
	EOT
	run "$RANK" slide --sweep < "$D/huge"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"T dram%    moved_bytes"* ]]
	[[ "${lines[2]}" == "  1   off        4194304 "* ]]
	[ "${#lines[@]}" -eq 8 ]     # header + T = 0..6
}

@test "sweep: bad budget and operands are usage errors (64)" {
	run "$RANK" slide --sweep --dram-percent 0 < "$D/cap"
	[ "$status" -eq 64 ]
	[[ "${lines[0]}" == "etmem-rank: --dram-percent: '0' is not a percentage 1..100" ]]
	run "$RANK" slide --sweep -T 1 < "$D/cap"
	[ "$status" -eq 64 ]
}

@test "sweep: a broken capture is rejected with its line (65)" {
	printf 'ROUND period=1 round=1 loop=1 time_ns=1\nA 7 0x' > "$D/bad"
	run "$RANK" slide --sweep < "$D/bad"
	[ "$status" -eq 65 ]
	[[ "$output" == *"<stdin>:2: ACCESS line"* ]]
}

@test "sweep: without --sweep, slide still ranks as before" {
	# (with a P item: under UBSan, rank.c's sort_procs passes NULL to
	# qsort_r for a period without one - reported, not this suite's code)
	sed '/^PERIOD period=1/i P 7 start_time=0 rss_kb=8 swap_kb=0 comm=x' "$D/cap" > "$D/capp"
	run "$RANK" slide -T 1 --text < "$D/capp"
	[ "$status" -eq 0 ]
	[[ "$output" == *"D 7 0x1000 1 4K swap -"* ]]
}
