#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmemd-supervisor end to end on this machine, with the real stages:
# a slide project swaps out a workload's cold region (smaps backend,
# process_madvise, a swap that tests/lib/swap.bash sets up and removes)
# and keeps its hot region; stop and del leave nothing running; a killed
# stage is restarted; SIGTERM leaves no stage behind; a recycled pid is
# never acted on; two tasks never claim one process.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/swap
load ../lib/sup

setup_file() {
	swap_setup
}

teardown_file() {
	swap_teardown
}

setup() {
	for s in etmem-scan etmem-rank etmem-migrate; do
		[ -x "$ETMEM_BIN/$s" ] || skip "$s not built"
	done
	[ -x "$ETMEM_TESTBIN/workload" ] || skip "workload helper not built"
	T=$(mktemp -d)
	SOCK="etmem-e2e-bats-$$-${BATS_TEST_NUMBER}"
	DPID=
	WPIDS=()
	export ETMEM_SCAN_BACKEND=smaps
}

teardown() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true
	fi
	for w in "${WPIDS[@]}"; do kill "$w" 2>/dev/null; wait "$w" 2>/dev/null; done
	# A sanitized build's reports land in the daemon's log: fail on them.
	san=0
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/d.log" 2>/dev/null && san=1
	[ "$san" -eq 0 ] || cat "$T/d.log" >&2
	rm -rf "$T"
	[ "$san" -eq 0 ]
}

# slide_conf PROJ TASK TYPE VALUE: a full slide file (loop 1, T 1).
slide_conf() {
	printf '[project]\nname=%s\nloop=1\ninterval=1\nsleep=1\n\n' "$1"
	printf '[engine]\nname=slide\nproject=%s\n\n' "$1"
	printf '[task]\nproject=%s\nengine=slide\nname=%s\ntype=%s\nvalue=%s\nT=1\n' "$1" "$2" "$3" "$4"
}

@test "e2e: slide swaps out the cold region, keeps the hot one; stop and del leave nothing" {
	start_workload
	start_daemon
	f=$(slide_conf p1 t1 pid "$WPID" | conf a.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n p1 -s "$SOCK"; assert_success
	wait_for 5 task_running
	run verbose
	assert_output --partial "etmem-scan -p $WPID --backend smaps --loop 1 --interval 1 --sleep 1 --periods 0 --control-fd 3 | "
	assert_output --partial "etmem-rank slide -T 1 --control-fd 3 | "
	assert_output --partial "etmem-migrate swap -p $WPID --control-fd 3"
	[ "$(stage_pids | wc -l)" -eq 3 ]
	wait_for 30 cold_swapped || { cat "$T/d.log"; grep -A20 "^${COLD#0x}" /proc/$WPID/smaps; false; }
	hot_rss=$(vma_kb "$WPID" "$HOT" Rss)
	[ "$hot_rss" -ge 7000 ] || { echo "hot rss $hot_rss"; false; }
	has_stats() { verbose | grep -Eq "migrate: .*bytes_swapped=[1-9]"; }
	wait_for 8 has_stats || { verbose; false; }
	run verbose
	assert_output --regexp "scan: backend=smaps period=[0-9]+"
	run etmem project stop -n p1 -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
	run etmem obj del -f "$f" -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
	run etmem project show -s "$SOCK"
	assert_output --partial "no project exists"
	grep -q "task/t1/migrate\[" "$T/d.log"
}

@test "e2e: a killed stage is restarted and the project keeps working" {
	start_workload
	start_daemon
	f=$(slide_conf p1 t1 pid "$WPID" | conf a.conf)
	etmem obj add -f "$f" -s "$SOCK"
	etmem project start -n p1 -s "$SOCK"
	wait_for 5 task_running
	rank=$(verbose | sed -n 's/.*rank=\([0-9]*\).*/\1/p')
	[ -n "$rank" ]
	kill -9 "$rank"
	restarted() { verbose | grep -q "restarts: 1" && task_running; }
	wait_for 8 restarted || { verbose; cat "$T/d.log"; false; }
	grep -q "task/t1/rank\[$rank\]: killed by signal 9" "$T/d.log"
	new=$(verbose | sed -n 's/.*rank=\([0-9]*\).*/\1/p')
	[ "$new" != "$rank" ]
	wait_for 30 cold_swapped
	[ "$(stage_pids | wc -l)" -eq 3 ]
}

@test "e2e: SIGTERM to the daemon leaves no stage behind" {
	start_workload
	start_daemon
	f=$(slide_conf p1 t1 pid "$WPID" | conf a.conf)
	etmem obj add -f "$f" -s "$SOCK"
	etmem project start -n p1 -s "$SOCK"
	wait_for 5 task_running
	pids=$(stage_pids)
	[ "$(wc -w <<< "$pids")" -eq 3 ]
	start=$(date +%s%N)
	kill -TERM "$DPID"
	rc=0; wait "$DPID" || rc=$?
	DPID=
	[ "$rc" -eq 0 ]
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1500 ]
	for p in $pids; do ! kill -0 "$p" 2>/dev/null; done
}

@test "e2e: a target that exits ends its pipeline; a recycled pid is not acted on" {
	[ -w /proc/sys/kernel/ns_last_pid ] || skip "ns_last_pid not writable"
	sleep 1000 &
	target=$!
	WPIDS+=($target)
	start_daemon
	f=$(slide_conf p1 t1 pid "$target" | conf a.conf)
	etmem obj add -f "$f" -s "$SOCK"
	etmem project start -n p1 -s "$SOCK"
	wait_for 5 task_running
	kill "$target"; wait "$target" 2>/dev/null || true
	exited() { verbose | grep -q "state: exited"; }
	wait_for 5 exited || { verbose; false; }
	[ -z "$(stage_pids)" ]
	# Hand the same pid to a new process.
	for _ in $(seq 20); do
		echo $((target - 1)) > /proc/sys/kernel/ns_last_pid
		sleep 1000 &
		[ "$!" -eq "$target" ] && break
		kill $!; wait $! 2>/dev/null || true
	done
	WPIDS+=($!)
	[ "$!" -eq "$target" ] || skip "could not recycle pid $target"
	sleep 2.5
	run verbose
	assert_output --partial "state: exited"
	[ -z "$(stage_pids)" ]
	! grep -q "restarting" "$T/d.log"
}

@test "e2e: two tasks never claim one process; a task added to a started project starts" {
	start_workload
	start_daemon
	f=$(slide_conf p1 t1 pid "$WPID" | conf a.conf)
	g=$(slide_conf p2 t2 pid "$WPID" | conf b.conf)
	etmem obj add -f "$f" -s "$SOCK"
	etmem obj add -f "$g" -s "$SOCK"
	run etmem project start -n p1 -s "$SOCK"; assert_success
	run etmem project start -n p2 -s "$SOCK"; assert_failure 186
	grep -q "already claimed by task p1/slide/t1" "$T/d.log"
	run etmem project show -n p2 -s "$SOCK"
	assert_output --partial "false"
	[ "$(stage_pids | wc -l)" -eq 3 ]
	# A second task (by name) in the started project starts at once, and a
	# name claim on the same process is refused and rolled back.
	h=$(printf '[task]\nproject=p1\nengine=slide\nname=t3\ntype=name\nvalue=workload\nT=1\n' | conf c.conf)
	run etmem obj add -f "$h" -s "$SOCK"
	assert_failure 186
	run etmem project show -n p1 -s "$SOCK"
	refute_output --partial "t3"
	# A private name, so no process of anyone else is touched.
	cp "$(command -v sleep)" "$T/e2e-tgt-$$"
	"$T/e2e-tgt-$$" 1000 &
	WPIDS+=($!)
	h=$(printf '[task]\nproject=p1\nengine=slide\nname=t4\ntype=name\nvalue=e2e-tgt-%s\nT=1\n' $$ | conf d.conf)
	run etmem obj add -f "$h" -s "$SOCK"
	assert_success
	six() { [ "$(stage_pids | wc -l)" -eq 6 ] && verbose | grep -A1 ' t4 ' | grep -q "state: running"; }
	wait_for 5 six || { verbose; cat "$T/d.log"; false; }
}

@test "e2e: an engine command reaches the ranker; slide has none: INVAL (L13)" {
	start_workload
	start_daemon
	f=$(slide_conf p1 t1 pid "$WPID" | conf a.conf)
	etmem obj add -f "$f" -s "$SOCK"
	etmem project start -n p1 -s "$SOCK"
	wait_for 5 task_running
	run etmem engine showtaskpages -n p1 -e slide -t t1 -s "$SOCK"
	assert_failure 186
	assert_output --partial "invalid parameters"
	grep -q "task/t1/rank\[[0-9]*\]: command failed" "$T/d.log"
	run etmem engine x -n p1 -e slide -t nosuch -s "$SOCK"
	assert_failure 186
	assert_output --partial "task is not exist"
	[ "$(stage_pids | wc -l)" -eq 3 ]
}

@test "e2e: a psi project runs etmem-psi with the config's flags" {
	[ -r /proc/pressure/memory ] || skip "no PSI"
	[ -x "$ETMEM_BIN/etmem-psi" ] || skip "etmem-psi not built"
	start_daemon
	f=$(printf '[project]\nname=ps\nscan_type=psi\ninterval=2\n[engine]\nname=psi\nproject=ps\n[task]\nproject=ps\nengine=psi\nname=c1\ntype=pid\nvalue=1\ncg_dir=etmem-bats-none-%s\npressure=0.5\n' $$ | conf p.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n ps -s "$SOCK"; assert_success
	run verbose
	assert_output --partial "etmem-psi --cg-dir etmem-bats-none-$$ --interval 2 --pressure 0.5 --reclaim-rate 0.05 --reclaim-rate-min 0.01 --reclaim-rate-max 0.5 --reclaim-max-bytes 1073741824 --limit-min-bytes 0 --limit-min-ratio 0.1 --periods 0 --control-fd 3"
	refute_output --partial "target: pid"
	run etmem project stop -n ps -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
}
