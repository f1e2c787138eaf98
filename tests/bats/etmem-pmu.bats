#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem-pmu on this host: software page-fault sampling of a real target
# (tests/helpers/pmu-touch: known first touches), the "no hardware PMU"
# verdict, usage and target errors, SIGTERM and --control-fd.

setup() {
	PMU="${ETMEM_BIN:-$PWD/build/bin}/etmem-pmu"
	TB="${ETMEM_TESTBIN:-$PWD/build/tests}"
	T=$(mktemp -d)
	HP=
	PP=
}

teardown() {
	for p in $PP $HP; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}

# Start pmu-touch with N pages, touching every K-th (more pmu-touch
# options may follow); sets HP, START.
start_touch() {
	n=$1 k=$2
	shift 2
	"$TB/pmu-touch" --pages "$n" --every "$k" --ready-file "$T/ready" \
	    --touched-file "$T/touched" "$@" &
	HP=$!
	for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.05; done
	[ -s "$T/ready" ]
	START=$(sed -n 's/.* start=\(0x[0-9a-f]*\) .*/\1/p' "$T/ready")
	[ -n "$START" ]
}

# Wait until etmem-pmu says it is sampling (events are open and enabled).
wait_sampling() {
	for _ in $(seq 100); do
		grep -q 'pmu: sampling' "$T/err" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

@test "etmem-pmu: --help exits 0 and documents events, ranges and exit codes" {
	run "$PMU" --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:\ etmem-pmu* ]]
	[[ "$output" == *"--event EVENT"* ]]
	[[ "$output" == *"page-faults"* ]]
	[[ "$output" == *"--sample-period N"* ]]
	[[ "$output" == *"--vma-updata-rate N"* ]]
	[[ "$output" == *"--cooling-interval N"* ]]
	[[ "$output" == *"--cpu-set-size N"* ]]
	[[ "$output" == *"--control-fd FD"* ]]
	[[ "$output" == *"69"* ]]
}

@test "etmem-pmu: bad flags and values are usage errors (64), before any stream" {
	run "$PMU" --no-such-flag
	[ "$status" -eq 64 ]
	[[ "$output" == *"--no-such-flag"* ]]
	[[ "$output" == *"usage: etmem-pmu"* ]]
	run "$PMU" -p 1 --sample-period 0
	[ "$status" -eq 64 ]
	[[ "$output" == *"--sample-period"* ]]
	run "$PMU" -p 1 --sample-period 10001
	[ "$status" -eq 64 ]
	run "$PMU" -p 1 --vma-updata-rate 51
	[ "$status" -eq 64 ]
	[[ "$output" == *"--vma-updata-rate"* ]]
	run "$PMU" -p 1 --cooling-interval 5
	[ "$status" -eq 64 ]
	[[ "$output" == *"--cooling-interval"* ]]
	run "$PMU" -p 1 --anon-only maybe
	[ "$status" -eq 64 ]
	run "$PMU"
	[ "$status" -eq 64 ]
	[[ "$output" == *"no target"* ]]
	run "$PMU" -p 1 --event no-such-event-xyz --periods 1
	[ "$status" -eq 64 ]
	[[ "$output" == *"no-such-event-xyz"* ]]
}

@test "etmem-pmu: a missing target exits 66 naming it" {
	run "$PMU" -p 2147483000 --event page-faults --periods 1
	[ "$status" -eq 66 ]
	[[ "$output" == *"no process 2147483000"* ]]
	run "$PMU" -n no-such-comm-xyz --event page-faults --periods 1
	[ "$status" -eq 66 ]
	[[ "$output" == *"no process named 'no-such-comm-xyz'"* ]]
}

@test "etmem-pmu: default event without a hardware PMU exits 69 saying what was looked for" {
	d=/sys/bus/event_source/devices
	if [ -e $d/cpu ] || [ -e $d/cpu_core ] || [ -e $d/ibs_op ] || [ -e $d/arm_spe_0 ]; then
		skip "this host has a hardware PMU"
	fi
	"$PMU" -p $$ --periods 1 >"$T/out" 2>"$T/err" && rc=0 || rc=$?
	cat "$T/err"
	[ "$rc" -eq 69 ]
	[ ! -s "$T/out" ]               # no stream was started
	grep -q 'no hardware PMU' "$T/err"
	grep -q '/sys/bus/event_source/devices' "$T/err"
	grep -q 'cpu_core, ibs_op, arm_spe_0' "$T/err"
	grep -q 'perf_event_open(PERF_TYPE_HARDWARE, cycles): ' "$T/err"
	grep -q -- '--event page-faults' "$T/err"
}

@test "etmem-pmu: --sys-root fixture with only arm_spe_0 is 69, SPE not decoded" {
	mkdir -p "$T/sys/bus/event_source/devices/arm_spe_0" \
	    "$T/sys/bus/event_source/devices/software"
	run "$PMU" --sys-root "$T" -p $$ --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == *"arm_spe_0 is present"* ]]
	rm -rf "$T/sys/bus/event_source/devices/arm_spe_0"
	run "$PMU" --sys-root "$T" -p $$ --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == *"found: software"* ]]
}

# Sample pmu-touch (96 pages, every 3rd touched, $1 threads) with event $2
# (default page-faults) and --sample-period 1: the counted pages of its
# region are its touched pages.
check_touched() {
	start_touch 96 3 --threads "$1"
	"$PMU" -p "$HP" --event "${2:-page-faults}" --sample-period 1 --interval 2 \
	    --periods 1 --text >"$T/out" 2>"$T/err" &
	PP=$!
	wait_sampling
	kill -USR1 "$HP"
	wait "$PP" && rc=0 || rc=$?
	PP=
	cat "$T/err"
	[ "$rc" -eq 0 ]
	[ -s "$T/touched" ]
	[ "$(wc -l <"$T/touched")" -eq 32 ]
	# the stream's shape: header, V, ROUND, A, P, S, PERIOD, END
	head -1 "$T/out" | grep -q '^ETMR 1 .*backend=pmu'
	grep -q "^V $HP $START $(printf 0x%x $((START + 96 * 4096))) rw-p 4K a$" "$T/out"
	grep -q '^ROUND period=1 round=1 loop=1 ' "$T/out"
	grep -q "^P $HP .*comm=pmu-touch" "$T/out"
	grep -q '^S pmu 1 samples ' "$T/out"
	grep -q '^PERIOD period=1 rounds=1 ' "$T/out"
	tail -1 "$T/out" | grep -qx 'END status=0'
	# the A items inside the mapped region (bash arithmetic reads 0x...)
	s=$((START)); e=$((START + 96 * 4096)); bad=0
	while read -r kind pid addr np size count flags _; do
		[ "$kind" = A ] && [ "$pid" = "$HP" ] && [ "$count" -gt 0 ] || continue
		a=$((addr))
		[ "$a" -ge "$s" ] && [ "$a" -lt "$e" ] || continue
		if [ "$np" != 1 ] || [ "$size" != 4K ] || [[ "$flags" != *p* ]]; then
			echo "BAD: $kind $pid $addr $np $size $count $flags"
			bad=$((bad + 1))
		fi
		printf '0x%x\n' "$a"
	done <"$T/out" | sort >"$T/counted"
	sort "$T/touched" >"$T/want"
	[ "$(grep -c BAD "$T/counted")" -eq 0 ]
	[ -s "$T/counted" ]
	# every counted page was touched ...
	[ -z "$(comm -23 "$T/counted" "$T/want")" ]
	# ... and every touched page was counted (sample period 1)
	missing=$(comm -13 "$T/counted" "$T/want" | wc -l)
	echo "missing: $missing"
	[ "$missing" -le 1 ]
	grep -q "^S pmu 1 events $(( ($1 + 1) * $(getconf _NPROCESSORS_ONLN) ))\$" "$T/out"
}

@test "etmem-pmu: page-fault sampling counts exactly the pages the target first-touched" {
	check_touched 1
}

@test "etmem-pmu: every thread is sampled (per-thread events share one ring per CPU)" {
	check_touched 4
}

@test "etmem-pmu: a libpfm4 event name is encoded (perf::PAGE-FAULTS)" {
	check_touched 1 perf::PAGE-FAULTS
	grep -q 'sampling perf::PAGE-FAULTS' "$T/err"
}

@test "etmem-pmu: SIGTERM ends the period, writes END and exits 0 within 1 s" {
	start_touch 8 1
	"$PMU" -p "$HP" --event page-faults --interval 30 --text \
	    >"$T/out" 2>"$T/err" &
	PP=$!
	wait_sampling
	t0=$(date +%s%N)
	kill -TERM "$PP"
	wait "$PP" && rc=0 || rc=$?
	PP=
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "rc $rc after $ms ms"
	[ "$rc" -eq 0 ]
	[ "$ms" -lt 1000 ]
	grep -q '^PERIOD period=1 rounds=0 ' "$T/out"
	tail -1 "$T/out" | grep -qx 'END status=0'
}

@test "etmem-pmu: a -p target that exits ends the run (0) without spinning" {
	start_touch 8 1
	"$PMU" -p "$HP" --event page-faults --interval 0.3 --sleep 0.1 --text \
	    >"$T/out" 2>"$T/err" &
	PP=$!
	wait_sampling
	kill "$HP"; wait "$HP" || true
	HP=
	for _ in $(seq 50); do kill -0 "$PP" 2>/dev/null || break; sleep 0.1; done
	wait "$PP" && rc=0 || rc=$?
	PP=
	[ "$rc" -eq 0 ]
	grep -q 'every target has exited' "$T/err"
	tail -1 "$T/out" | grep -qx 'END status=0'
}

@test "etmem-pmu: --control-fd: HELLO, STATS with the pmu counters, STOP ends with END" {
	command -v python3 >/dev/null || skip "python3 not installed"
	start_touch 8 1
	run env PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$BATS_TEST_DIRNAME/../lib" python3 - "$PMU" "$HP" "$T/out" <<-'PY'
	import sys, time
	from ctl_peer import Peer, STATS, END, TEXT, text_of
	pmu, pid, outp = sys.argv[1:4]
	p = Peer([pmu, "-p", pid, "--event", "page-faults", "--interval", "0.2",
	          "--sleep", "0.1", "--text"], out=outp)
	p.expect_hello("etmem-pmu")
	time.sleep(0.8)
	reply = p.request(STATS, seq=7)   # echoes seq 7, TEXT frames then END
	assert reply[-1][0] == END and all(f[0] == TEXT for f in reply[:-1]), reply
	print(text_of(reply))
	t0 = time.time()
	p.send_stop(seq=8)
	rc = p.wait(timeout=5)
	print("rc", rc, "stop_ms", int((time.time() - t0) * 1000))
	PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"event page-faults"* ]]
	[[ "$output" == *"samples_counted "* ]]
	[[ "$output" == *"rc 0"* ]]
	tail -1 "$T/out" | grep -qx 'END status=0'
}
