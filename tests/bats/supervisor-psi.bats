#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmemd running psi projects against a fixture cgroup v2 tree (the stages
# inherit ETMEM_SYS_ROOT): two [task]s with different cg_dir each get their
# own etmem-psi, both reclaim, and `project show --verbose` shows per cgroup
# pressure, rate and bytes reclaimed from the stages' STATS replies. The real
# kernel side of etmem-psi is the VM lane's psi scenario.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/sup

setup() {
	[ -x "$ETMEM_BIN/etmem-psi" ] || skip "etmem-psi not built"
	[ -r /proc/pressure/memory ] || skip "no PSI on this kernel"
	T=$(mktemp -d)
	SOCK="etmem-psi-bats-$$-${BATS_TEST_NUMBER}"
	DPID=
	WPIDS=()
	ROOT=$T/sys/fs/cgroup
	mkdir -p "$ROOT"
	echo "cpuset cpu io memory pids" > "$ROOT/cgroup.controllers"
	printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n' > "$ROOT/memory.pressure"
}

teardown() {
	stop_daemon_and_workloads
	rm -rf "$T"
}

# mkcg DIR usage limit avg10: a v2 cgroup whose memory.reclaim collects writes.
mkcg() {
	mkdir -p "$ROOT/$1"
	printf 'some avg10=%s avg60=0.00 avg300=0.00 total=1\n' "$4" > "$ROOT/$1/memory.pressure"
	echo "$2" > "$ROOT/$1/memory.current"
	echo "$3" > "$ROOT/$1/memory.max"
	: > "$ROOT/$1/memory.reclaim"
}

@test "psi under etmemd: two tasks, two cg_dirs, per-cgroup counters in show --verbose" {
	mkcg pod-a 1073741824 2147483648 0.00     # calm: reclaimed from
	mkcg pod-b 1073741824 2147483648 0.00
	mkcg pod-c 1073741824 2147483648 9.00     # under pressure: left alone
	ETMEM_SYS_ROOT=$T start_daemon
	# An INI file holds one group of each kind (GKeyFile merges repeats, as
	# the original): the second task comes in a file of its own.
	f=$(printf '[project]\nname=ps\nscan_type=psi\ninterval=1\n[engine]\nname=psi\nproject=ps\n[task]\nproject=ps\nengine=psi\nname=ta\ntype=pid\nvalue=1\ncg_dir=pod-a\n' | conf p.conf)
	g=$(printf '[task]\nproject=ps\nengine=psi\nname=tb\ntype=pid\nvalue=1\ncg_dir=pod-[bc]\n' | conf t.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem obj add -f "$g" -s "$SOCK"; assert_success
	run etmem project start -n ps -s "$SOCK"; assert_success
	# One etmem-psi per task, each with its own cg_dir.
	wait_for 5 sh -c "[ \$(pgrep -P $DPID -c -x etmem-psi) -eq 2 ]"
	# Both calm cgroups get a write; the pressured one never does.
	wait_for 10 test -s "$ROOT/pod-a/memory.reclaim"
	wait_for 10 test -s "$ROOT/pod-b/memory.reclaim"
	[ ! -s "$ROOT/pod-c/memory.reclaim" ]
	# (usage - floor) * rate: floor = 0.1 * 2 GiB, rate 0.05, page-rounded.
	want=$(( (1073741824 - 214748364) * 5 / 100 / 4096 * 4096 ))
	[ "$(head -1 "$ROOT/pod-a/memory.reclaim")" -eq "$want" ]
	# The stages' STATS, per cgroup, as the supervisor shows them.
	wait_for 10 sh -c "etmem project show -s $SOCK --verbose | grep -q 'cgroup=pod-b pressure=0.00 rate=0.05'"
	run verbose
	assert_output --partial "cgroup=pod-a pressure=0.00 rate=0.05"
	assert_output --partial "cgroup=pod-c pressure=9.00"
	assert_output --regexp "cgroup=pod-a pressure=0.00 rate=0.05 reclaimed_bytes=[0-9]+ asked_bytes=[1-9]"
	assert_output --partial "--cg-dir pod-a"
	assert_output --partial "--cg-dir 'pod-[bc]'"     # shell-quoted: re-runnable by hand
	run etmem project stop -n ps -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
}
