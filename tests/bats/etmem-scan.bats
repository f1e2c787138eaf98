#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem-scan on this host (smaps backend, real workload) and on fixtures
# (idle_pages captures, a --proc-root tree).

setup() {
	SCAN="${ETMEM_BIN:-$PWD/build/bin}/etmem-scan"
	TB="${ETMEM_TESTBIN:-$PWD/build/tests}"
	FIX="$BATS_TEST_DIRNAME/../fixtures"
	T=$(mktemp -d)
	WL_PID=
}

teardown() {
	if [ -n "$WL_PID" ]; then
		kill "$WL_PID" 2>/dev/null || true
		wait "$WL_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}

# Start the workload; sets WL_PID, HOT (start address) and COLD.
start_workload() {
	"$TB/workload" --hot 8 --cold 16 --ready-file "$T/ready" "$@" >/dev/null &
	WL_PID=$!
	for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.05; done
	[ -s "$T/ready" ]
	HOT=$(sed -n 's/.* hot=\(0x[0-9a-f]*\)-.*/\1/p' "$T/ready")
	COLD=$(sed -n 's/.* cold=\(0x[0-9a-f]*\)-.*/\1/p' "$T/ready")
	[ -n "$HOT" ] && [ -n "$COLD" ]
}

@test "etmem-scan: --help exits 0 and documents the backends" {
	run "$SCAN" --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:\ etmem-scan* ]]
	[[ "$output" == *"--backend NAME"* ]]
	[[ "$output" == *"--decode-idle-pages FILE"* ]]
}

@test "etmem-scan: a bad flag is a usage error (64)" {
	run "$SCAN" --no-such-flag
	[ "$status" -eq 64 ]
	[[ "$output" == *"--no-such-flag"* ]]
	[[ "$output" == *"usage: etmem-scan"* ]]
	run "$SCAN" -p 1 --loop 121
	[ "$status" -eq 64 ]
	[[ "$output" == *"--loop"* ]]
	run "$SCAN"
	[ "$status" -eq 64 ]
	[[ "$output" == *"no target"* ]]
}

@test "etmem-scan: a missing target pid exits 66 naming it" {
	run "$SCAN" -p 2147483000 --backend smaps --periods 1
	[ "$status" -eq 66 ]
	[[ "$output" == *"no process 2147483000"* ]]
	run "$SCAN" -n no-such-comm-xyz --backend smaps --periods 1
	[ "$status" -eq 66 ]
	[[ "$output" == *"no process named 'no-such-comm-xyz'"* ]]
}

@test "etmem-scan: idle_pages and page_idle are unavailable here (69, naming what is missing)" {
	run "$SCAN" --backend idle_pages -p $$ --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == *"etmem_scan"* ]]
	run "$SCAN" --backend page_idle -p $$ --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == *"CONFIG_IDLE_PAGE_TRACKING"* ]]
	run "$SCAN" --backend nonsense -p $$
	[ "$status" -eq 64 ]
}

@test "etmem-scan: --list-backends gives every backend's verdict" {
	run "$SCAN" --list-backends
	[ "$status" -eq 0 ]
	[ "${lines[0]%%	*}" = idle_pages ]
	[ "${lines[1]%%	*}" = page_idle ]
	[ "${lines[2]%%	*}" = damon ]
	[[ "${lines[3]}" == smaps*available ]]
	# auto takes the first that works and says which on stderr
	run sh -c "'$SCAN' -p $$ --interval 0 --periods 1 --text 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"backend auto: using smaps"* ]]
}

@test "etmem-scan: smaps backend sees the hot VMA accessed and the cold one idle in every round" {
	start_workload
	run "$SCAN" -p "$WL_PID" --backend smaps --loop 2 --interval 0.3 --periods 1 --text
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "ETMR 1 page_size="*" backend=smaps "* ]]
	echo "$output" | grep -q "^V $WL_PID $HOT "
	# one A per round for each region: hot count 1, cold count 0 (idle)
	[ "$(echo "$output" | grep -c "^A $WL_PID $HOT 2048 4K 1 av$")" -eq 2 ]
	[ "$(echo "$output" | grep -c "^A $WL_PID $COLD 4096 4K 0 aiv$")" -eq 2 ]
	[ "$(echo "$output" | grep -c '^ROUND period=1 ')" -eq 2 ]
	echo "$output" | grep -q "^P $WL_PID start_time=[0-9]* rss_kb=[1-9][0-9]* swap_kb=0 comm=workload$"
	echo "$output" | grep -q "^S scan 1 rounds 2$"
	echo "$output" | grep -q "^PERIOD period=1 rounds=2 .*mem_total_kb=[1-9]"
	[ "${lines[${#lines[@]}-1]}" = "END status=0" ]
	# the stream order is V* (ROUND A*)* P* S* PERIOD END
	order=$(echo "$output" | cut -c1 | uniq | tr -d '\n')
	[ "$order" = "EVRARAPSPE" ]
}

@test "etmem-scan: -n NAME finds the workload; the binary stream is valid" {
	start_workload
	run "$SCAN" -n workload --loop 1 --interval 0.1 --periods 2 --sleep 0.1 --text
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c "^A $WL_PID $HOT ")" -eq 2 ]
	[ "$(echo "$output" | grep -c '^PERIOD ')" -eq 2 ]
	if [ -x "${ETMEM_BIN:-$PWD/build/bin}/etmem-cat" ]; then
		"$SCAN" -p "$WL_PID" --interval 0.1 --periods 1 > "$T/s.etmr"
		run "${ETMEM_BIN:-$PWD/build/bin}/etmem-cat" --check "$T/s.etmr"
		[ "$status" -eq 0 ]
	fi
}

@test "etmem-scan: -n NAME --wait-for-name waits for a process that starts later" {
	# A private copy, so its comm is a name no other process has.
	name="wl$$$RANDOM"; name=${name:0:15}
	cp "$TB/workload" "$T/$name"
	run "$SCAN" -n "$name" --periods 1 --interval 0.1
	[ "$status" -eq 66 ]
	[[ "$output" == *"no process named '$name'"* ]]
	"$SCAN" -n "$name" --wait-for-name --interval 0.1 --sleep 0.2 --periods 25 \
	    --text > "$T/out" 2> "$T/err" &
	scan=$!
	sleep 0.6
	"$T/$name" --hot 1 --cold 1 --ready-file "$T/ready" > /dev/null &
	WL_PID=$!
	wait "$scan"
	# Periods without targets first, then the process found by name.
	first=$(grep -n "^P $WL_PID " "$T/out" | head -1 | cut -d: -f1)
	[ -n "$first" ]
	[ "$(head -n "$first" "$T/out" | grep -c '^PERIOD ')" -ge 1 ]
	grep -q "^A $WL_PID " "$T/out"
	grep -q '^END status=0' "$T/out"
}

@test "etmem-scan: SIGTERM in a long run writes END and exits 0 within a second" {
	start_workload
	"$SCAN" -p "$WL_PID" --loop 3 --interval 30 --text > "$T/out" 2>"$T/err" &
	spid=$!
	sleep 0.5
	t0=$(date +%s%N)
	kill -TERM "$spid"
	rc=0; wait "$spid" || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$rc" -eq 0 ]
	[ "$ms" -lt 1000 ]
	[ "$(tail -n1 "$T/out")" = "END status=0" ]
	grep -q '^PERIOD period=1 rounds=0 ' "$T/out"
}

@test "etmem-scan: when every -p target has exited it writes END and exits 0" {
	start_workload
	"$SCAN" -p "$WL_PID" --interval 0.1 --sleep 0.1 --text > "$T/out" 2>"$T/err" &
	spid=$!
	sleep 0.5
	kill "$WL_PID"; wait "$WL_PID" || true; WL_PID=
	rc=0
	for _ in $(seq 40); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	wait "$spid" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(tail -n1 "$T/out")" = "END status=0" ]
	grep -q "exited" "$T/err"
}

@test "etmem-scan: --decode-idle-pages is bit-exact on the worked example" {
	run "$SCAN" --decode-idle-pages "$FIX/idle-pages-example.bin" \
	    --address 0x7f1234567000 --pid 1234 --text
	[ "$status" -eq 0 ]
	diff <(echo "$output" | grep '^A ') "$FIX/idle-pages-example.txt"
}

@test "etmem-scan: --decode-idle-pages matches the encoder on chunked and truncated streams" {
	pat="@0x7f0000000000"
	for i in $(seq 6000); do pat="$pat A1 I1"; done
	pat="$pat H7 A20 @0x7f0040000000 M3 m4 P2 I100 h1 W1 @0x7f4000000000 U1"
	echo "$pat" > "$T/pat"
	"$TB/gen-idle-pages" --truncate - < "$T/pat" > "$T/raw"
	"$TB/gen-idle-pages" --expect --pid 77 - < "$T/pat" > "$T/want"
	# 12000 run bytes: two 8000-byte kernel chunks, each with its command
	[ "$(stat -c %s "$T/raw")" -gt 8000 ]
	run "$SCAN" --decode-idle-pages "$T/raw" --address 0x7f0000000000 --pid 77 --text
	[ "$status" -eq 0 ]
	[[ "$output" == *"truncated address command"* ]]
	diff <(echo "$output" | grep '^A ') "$T/want"
}

@test "etmem-scan: --decode-idle-pages rejects a byte no kernel writes (65, byte offset)" {
	printf '\xa0\x00\x00\x7f\x00\x00\x00\x00\x00\x01\xc2' > "$T/bad"
	run "$SCAN" --decode-idle-pages "$T/bad" --address 0x7f0000000000 --text
	[ "$status" -eq 65 ]
	[[ "$output" == *"byte offset 10"* ]]
	run "$SCAN" --decode-idle-pages "$T/bad"
	[ "$status" -eq 64 ]
}

@test "etmem-scan: --proc-root reads a fixture tree (smaps backend)" {
	P="$T/root/proc"
	mkdir -p "$P/4242" "$P/self"
	: > "$P/self/clear_refs"; : > "$P/4242/clear_refs"
	echo "4242 (fix me) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 999 0 0" > "$P/4242/stat"
	printf 'Name:\tfix me\nVmRSS:\t 300 kB\nVmSwap:\t 20 kB\n' > "$P/4242/status"
	printf '%s\n' "7f0000000000-7f0000100000 rw-p 00000000 00:00 0" \
	    "7f0000100000-7f0000200000 rw-p 00000000 00:00 0" \
	    "7f0000200000-7f0000201000 r--p 00000000 00:00 0  [vvar]" > "$P/4242/maps"
	printf '%s\n' "7f0000000000-7f0000100000 rw-p 00000000 00:00 0" "Referenced:  12 kB" \
	    "7f0000100000-7f0000200000 rw-p 00000000 00:00 0" "Referenced:   0 kB" \
	    "7f0000200000-7f0000201000 r--p 00000000 00:00 0  [vvar]" "Referenced:   4 kB" > "$P/4242/smaps"
	printf 'MemTotal: 1000 kB\nMemFree: 500 kB\nMemAvailable: 600 kB\nSwapCached: 1 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n' > "$P/meminfo"
	run "$SCAN" --proc-root "$T/root" --backend smaps -p 4242 --interval 0 --periods 1 --text
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^V ')" -eq 2 ]
	echo "$output" | grep -qx 'A 4242 0x7f0000000000 256 4K 1 av'
	echo "$output" | grep -qx 'A 4242 0x7f0000100000 256 4K 0 aiv'
	echo "$output" | grep -qx 'P 4242 start_time=999 rss_kb=300 swap_kb=20 comm=fix%20me'
	echo "$output" | grep -q '^PERIOD period=1 rounds=1 .*mem_total_kb=1000 mem_free_kb=500 '
	[ "$(cat "$P/4242/clear_refs")" = 1 ]
}
