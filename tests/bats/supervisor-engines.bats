#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmemd-supervisor runs every engine's pipeline (etmemd-supervisor/
# pipeline.c): thirdparty (etmem-rank plugin) and exec (etmem-rank exec)
# swap a workload's cold region and a plugin's private command round-trips
# through `etmem engine`; a slide task with PMU keys runs etmem-pmu; cslide
# is refused on a one-node host and, on a fake two-node sysfs tree, runs
# scan | rank cslide | migrate numa with showhostpages relayed; a damon
# project runs one etmem-scan for all its tasks and, on this host (DAMON
# owned by the machine), reports etmem-scan's exit 69. Nothing here writes
# under /sys/kernel/mm/damon: etmem-scan refuses before writing when it
# does not own the kdamond.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/swap
load ../lib/sup

SRC="$BATS_TEST_DIRNAME/../.."

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
	chmod 0700 "$T"         # etmem-rank plugin checks every directory
	SOCK="etmem-eng-bats-$$-${BATS_TEST_NUMBER}"
	DPID=
	WPIDS=()
	export ETMEM_SCAN_BACKEND=smaps
	unset ETMEM_PMU_EVENT ETMEM_SYS_ROOT
}

teardown() {
	stop_daemon_and_workloads
	san=0
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/d.log" 2>/dev/null && san=1
	[ "$san" -eq 0 ] || cat "$T/d.log" >&2
	rm -rf "$T"
	[ "$san" -eq 0 ]
}

project() {  # project NAME: a page project, loop 1, 1 s timing
	printf '[project]\nname=%s\nloop=1\ninterval=1\nsleep=1\n\n' "$1"
}

install_plugin() {
	built="$ETMEM_BIN/../examples/plugin-coldest.so"
	if [ -f "$built" ]; then
		cp "$built" "$T/coldest.so"
	else
		cc -std=c11 -Wall -Wextra -Werror -I"$SRC/include" -fPIC -shared \
		    -o "$T/coldest.so" "$SRC/examples/plugin-coldest/coldest.c"
	fi
	chown 0:0 "$T/coldest.so"
	chmod 0700 "$T/coldest.so"
}

@test "engines: thirdparty runs etmem-rank plugin; its decisions swap the cold region; a private command round-trips" {
	install_plugin
	start_workload
	start_daemon
	f=$( { project p1
		printf '[engine]\nname=thirdparty\nproject=p1\neng_name=coldest\nlibname=%s\nops_name=coldest_ops\nthreshold=0\n\n' "$T/coldest.so"
		printf '[task]\nproject=p1\nengine=coldest\nname=t1\ntype=pid\nvalue=%s\nmax_pages=1000000\n' "$WPID"
	} | conf tp.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n p1 -s "$SOCK"; assert_success
	wait_for 5 task_running || { verbose; cat "$T/d.log"; false; }
	run verbose
	assert_output --partial "etmem-rank plugin --lib $T/coldest.so --ops coldest_ops --engine-key threshold=0 --task-key max_pages=1000000 --control-fd 3 | "
	assert_output --partial "etmem-migrate swap -p $WPID --control-fd 3"
	wait_for 30 cold_swapped || { verbose; cat "$T/d.log"; false; }
	hot_rss=$(vma_kb "$WPID" "$HOT" Rss)
	[ "$hot_rss" -ge 7000 ] || { echo "hot rss $hot_rss"; false; }
	# The private command reaches the plugin; its reply comes back.
	run etmem engine keys -n p1 -e coldest -t t1 -s "$SOCK"
	assert_success
	assert_output --partial "engine:threshold=0 task:max_pages=1000000"
	run etmem engine stats -n p1 -e coldest -s "$SOCK"
	assert_success
	assert_output --regexp "periods [1-9]"
	# A failing command: its text first, then the error.
	run etmem engine fail -n p1 -e coldest -t t1 -s "$SOCK"
	assert_failure 186
	assert_output --partial "failing on purpose"
	# showtaskpages is cslide's: a plugin without it answers an error.
	run etmem engine showtaskpages -n p1 -e coldest -t t1 -s "$SOCK"
	assert_failure 186
	run etmem project stop -n p1 -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
}

@test "engines: a bad plugin library passes obj add's checks but fails at start in etmem-rank, not in the daemon" {
	start_workload
	# Root-owned 0700 but not a shared object: only loading can tell.
	printf 'not an ELF file\n' > "$T/bad.so"
	chmod 0700 "$T/bad.so"
	start_daemon
	f=$( { project p1
		printf '[engine]\nname=thirdparty\nproject=p1\neng_name=bad\nlibname=%s\nops_name=x_ops\n\n' "$T/bad.so"
		printf '[task]\nproject=p1\nengine=bad\nname=t1\ntype=pid\nvalue=%s\n' "$WPID"
	} | conf bad.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n p1 -s "$SOCK"; assert_success
	failed() { verbose | grep -q "last error: rank\[[0-9]*\] exited 65"; }
	wait_for 8 failed || { cat "$T/d.log"; verbose; false; }
	grep -q "cannot load plugin" "$T/d.log"
	kill -0 "$DPID"
}

@test "engines: an exec engine (examples/exec-engine.py) drives a swap-out" {
	command -v python3 >/dev/null || skip "no python3"
	start_workload
	start_daemon
	cmd="python3 $SRC/examples/exec-engine.py --threshold 0"
	f=$( { project p1
		printf '[engine]\nname=exec\nproject=p1\ncommand=%s\n\n' "$cmd"
		printf '[task]\nproject=p1\nengine=exec\nname=t1\ntype=pid\nvalue=%s\n' "$WPID"
	} | conf ex.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n p1 -s "$SOCK"; assert_success
	wait_for 5 task_running || { verbose; cat "$T/d.log"; false; }
	run verbose
	assert_output --partial "etmem-rank exec --command '$cmd' --control-fd 3 | "
	wait_for 30 cold_swapped || { verbose; cat "$T/d.log"; false; }
	hot_rss=$(vma_kb "$WPID" "$HOT" Rss)
	[ "$hot_rss" -ge 7000 ] || { echo "hot rss $hot_rss"; false; }
	# exec engines have no private commands: the original's INVAL.
	run etmem engine keys -n p1 -e exec -t t1 -s "$SOCK"
	assert_failure 186
}

@test "engines: an exec engine without command is refused at obj add" {
	start_daemon
	f=$( { project p1; printf '[engine]\nname=exec\nproject=p1\n'; } | conf ex.conf)
	run etmem obj add -f "$f" -s "$SOCK"
	assert_failure
	grep -q "key 'command' in \[engine\]: required key is missing" "$T/d.log"
}

pmu_conf() {
	project p1
	printf '[engine]\nname=slide\nproject=p1\n\n'
	printf '[task]\nproject=p1\nengine=slide\nname=t1\ntype=pid\nvalue=%s\nT=1\nsample_period=1\nvma_updata_rate=2\ncpu_set_size=1\n' "$WPID"
}

@test "engines: a slide task with PMU keys runs etmem-pmu (ETMEM_PMU_EVENT=page-faults)" {
	[ -x "$ETMEM_BIN/etmem-pmu" ] || skip "etmem-pmu not built"
	start_workload
	export ETMEM_PMU_EVENT=page-faults
	start_daemon
	f=$(pmu_conf | conf pmu.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n p1 -s "$SOCK"; assert_success
	wait_for 5 task_running || { verbose; cat "$T/d.log"; false; }
	run verbose
	assert_output --partial "etmem-pmu -p $WPID --loop 1 --interval 1 --sleep 1 --periods 0 --sample-period 1 --vma-updata-rate 2 --cpu-set-size 1 --event page-faults --control-fd 3 | "
	assert_output --partial "etmem-rank slide -T 1 --control-fd 3 | "
	assert_output --regexp "pids: pmu=[0-9]+ rank=[0-9]+ migrate=[0-9]+"
	has_stats() { verbose | grep -Eq "pmu: .*period=[1-9]"; }
	wait_for 8 has_stats || { verbose; cat "$T/d.log"; false; }
	run etmem project stop -n p1 -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
}

@test "engines: without ETMEM_PMU_EVENT etmem-pmu finds no hardware PMU here: exit 69 is the task's last error" {
	[ -x "$ETMEM_BIN/etmem-pmu" ] || skip "etmem-pmu not built"
	ls /sys/bus/event_source/devices/ 2>/dev/null | grep -qE '^(cpu|ibs_op)$' && skip "this host has a hardware PMU"
	start_workload
	start_daemon
	f=$(pmu_conf | conf pmu.conf)
	etmem obj add -f "$f" -s "$SOCK"
	etmem project start -n p1 -s "$SOCK"
	failed() { verbose | grep -q "last error: pmu\[[0-9]*\] exited 69"; }
	wait_for 8 failed || { cat "$T/d.log"; verbose; false; }
}

cslide_conf() {
	project c1
	printf '[engine]\nname=cslide\nproject=c1\nnode_pair=0,1\nhot_threshold=1\nnode_mig_quota=1024\nnode_hot_reserve=512\n\n'
	printf '[task]\nproject=c1\nengine=cslide\nname=t1\ntype=pid\nvalue=%s\nvm_flags=ht\nanon_only=no\nign_host=yes\n' "$1"
}

@test "engines: cslide on a one-node host is refused with a clear message" {
	n=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
	[ "$n" -eq 1 ] || skip "this host has $n NUMA nodes"
	start_workload
	start_daemon
	f=$(cslide_conf "$WPID" | conf cs.conf)
	run etmem obj add -f "$f" -s "$SOCK"
	assert_failure
	grep -q "engine cslide: this machine has 1 NUMA node(s), node_pair describes 2" "$T/d.log"
	run etmem project show -s "$SOCK"
	assert_output --partial "no project exists"
}

@test "engines: cslide (fake two-node sysfs) runs scan | rank cslide | migrate numa; show commands are relayed" {
	[ -d /sys/devices/system/node/node0 ] || skip "no NUMA sysfs"
	start_workload
	# A two-node tree: the daemon's node count and the ranker's hugepage
	# facts come from it; nothing real is moved (no hugetlb pages).
	for n in 0 1; do
		d="$T/root/sys/devices/system/node/node$n/hugepages/hugepages-2048kB"
		mkdir -p "$d"
		echo 0 > "$d/nr_hugepages"; echo 0 > "$d/free_hugepages"
	done
	export ETMEM_SYS_ROOT="$T/root"
	start_daemon
	f=$(cslide_conf "$WPID" | conf cs.conf)
	run etmem obj add -f "$f" -s "$SOCK"; assert_success
	run etmem project start -n c1 -s "$SOCK"; assert_success
	run verbose
	assert_output --partial "etmem-scan -p $WPID --backend smaps --loop 1 --interval 1 --sleep 1 --periods 0 --vm-flags ht --anon-only no --control-fd 3 | "
	assert_output --partial "etmem-rank cslide --node-pair 0,1 --hot-threshold 1 --node-mig-quota 1024 --node-hot-reserve 512 --vm-flags ht --anon-only no --ign-host yes --control-fd 3 | "
	assert_output --partial "etmem-migrate numa -p $WPID --node-mig-quota 1024 --control-fd 3"
	wait_for 5 task_running || { verbose; cat "$T/d.log"; false; }
	# The ranker answers (here: nothing ranked yet, or an empty table).
	run etmem engine showhostpages -n c1 -e cslide -s "$SOCK"
	if [ "$status" -eq 0 ]; then
		assert_output --partial "host pages info (KB)"
	else
		grep -q "showhostpages: no working pid" "$T/d.log"
	fi
	run etmem engine showtaskpages -n c1 -e cslide -t t1 -s "$SOCK"
	if [ "$status" -eq 0 ]; then
		assert_output --partial "task $WPID pages info (KB)"
	else
		grep -q "showtaskpages: no working pid" "$T/d.log"
	fi
	# showtaskpages needs -t; unknown commands fail (cli-contract 3.4).
	run etmem engine showtaskpages -n c1 -e cslide -s "$SOCK"
	assert_failure 186
	run etmem engine nosuch -n c1 -e cslide -t t1 -s "$SOCK"
	assert_failure 186
	run etmem project stop -n c1 -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
}

@test "engines: a damon project runs one etmem-scan for all its tasks; here DAMON is unavailable (exit 69)" {
	kd=/sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds
	before=$(cat "$kd" 2>/dev/null || echo none)
	start_workload
	w1=$WPID
	rm -f "$T/ready"
	start_workload
	w2=$WPID
	start_daemon
	# The YAML form: several tasks in one file.
	cat > "$T/d.yaml" <<-EOF
	project:
	  name: d1
	  scan_type: region
	  sample_interval: 5000
	  aggr_interval: 100000
	  update_interval: 1000000
	  min_nr_regions: 10
	  max_nr_regions: 1000
	engines:
	  - project: d1
	    name: damon
	    min_size: 4096
	    max_size: 1073741824
	    min_acc: 0
	    max_acc: 0
	    min_age: 10
	    max_age: 4294967295
	    action: pageout
	tasks:
	  - {project: d1, engine: damon, name: t1, type: pid, value: $w1}
	  - {project: d1, engine: damon, name: t2, type: pid, value: $w2}
	EOF
	chmod 600 "$T/d.yaml"
	run etmem obj add -f "$T/d.yaml" -s "$SOCK"; assert_success
	run etmem project start -n d1 -s "$SOCK"; assert_success
	run verbose
	assert_output --partial "etmem-scan -p $w1 -p $w2 --backend damon --sample-interval 5000 --aggr-interval 100000 --update-interval 1000000 --min-nr-regions 10 --max-nr-regions 1000 --damos action=pageout,min_size=4096,max_size=1073741824,min_acc=0,max_acc=0,min_age=10,max_age=4294967295 --periods 0 --control-fd 3"
	assert_output --partial "last error: monitored by the etmem-scan of task t1"
	[ "$(grep -c 'command:' <<< "$output")" -eq 1 ]
	# This host's kdamond belongs to the machine: etmem-scan refuses (69)
	# before writing. (An etmem-scan built without the DAMON options yet
	# refuses them: 64.)
	want=69
	"$ETMEM_BIN/etmem-scan" --help | grep -q -- '--damos' || want=64
	failed() { verbose | grep -q "last error: scan\[[0-9]*\] exited $want"; }
	wait_for 8 failed || { cat "$T/d.log"; verbose; false; }
	[ "$want" = 64 ] || grep -qi "damon" "$T/d.log"
	# A task added to the started project restarts the one scanner with
	# every target.
	printf '[task]\nproject=d1\nengine=damon\nname=t3\ntype=pid\nvalue=%s\n' $$ > "$T/t3.conf"
	chmod 600 "$T/t3.conf"
	run etmem obj add -f "$T/t3.conf" -s "$SOCK"; assert_success
	run verbose
	assert_output --partial "etmem-scan -p $w1 -p $w2 -p $$ --backend damon"
	[ "$(grep -c 'command:' <<< "$output")" -eq 1 ]
	[ "$(grep -c 'monitored by the etmem-scan of task t1' <<< "$output")" -eq 2 ]
	run etmem project stop -n d1 -s "$SOCK"; assert_success
	[ -z "$(stage_pids)" ]
	[ "$(cat "$kd" 2>/dev/null || echo none)" = "$before" ]
}

@test "engines: a slide engine in a region project, or damon in a page project, is refused at start" {
	start_workload
	start_daemon
	f=$( { project p1; printf '[engine]\nname=damon\nproject=p1\nmin_size=0\nmax_size=0\nmin_acc=0\nmax_acc=0\nmin_age=0\nmax_age=0\naction=stat\n\n'
		printf '[task]\nproject=p1\nengine=damon\nname=t1\ntype=pid\nvalue=%s\n' "$WPID"; } | conf dp.conf)
	etmem obj add -f "$f" -s "$SOCK"
	run etmem project start -n p1 -s "$SOCK"
	assert_failure
	grep -q "engine damon has no stage programs in a scan_type=page project (it needs scan_type=region)" "$T/d.log"
	[ -z "$(stage_pids)" ]
}
