#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# cslide on this (one-node) host: etmem-rank cslide refuses pairs naming a
# node that does not exist and bad options; it plans from a text stream and a
# two-node --sys-root fixture exactly; etmem-migrate numa against a real
# process: a move to node 0 is "already there", a move to node 1 is refused
# and counted without stopping the batch, the quota guard cuts. Real moves
# between two nodes: tests/vm/scenarios/cslide.sh.

RANK=${ETMEM_BIN:-build/bin}/etmem-rank
MIG=${ETMEM_BIN:-build/bin}/etmem-migrate
WORKLOAD=${ETMEM_TESTBIN:-build/tests}/workload
PERIOD_LINE='PERIOD period=1 rounds=2 time_ns=1764095000000000000 mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0'
OPTS='--hot-threshold 2 --node-mig-quota 8 --node-hot-reserve 4'

setup() {
	T=$(mktemp -d)
	WP=
}

teardown() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null
	rm -rf "$T"
}

# fixture NODE NR FREE: a node with NR 2 MiB hugepages, FREE of them free.
fixture() {
	local d=$T/sys/devices/system/node/node$1/hugepages/hugepages-2048kB
	mkdir -p "$d"
	echo "$2" > "$d/nr_hugepages"
	echo "$3" > "$d/free_hugepages"
}

# A period: pid 100 has 4 hot 2 MiB pages on AEP node 1 and 4 cold on DRAM
# node 0, plus 4K pages that are not hugetlb.
stream() {
	local extra; extra=$(printf '%s\n' "$@")
	cat <<-EOF
	ROUND period=1 round=1 loop=2 time_ns=0
	A 100 0x40000000 4 2M 1 aH node=1
	A 100 0x40800000 4 2M 0 aH node=0
	A 100 0x50000000 4 4K 1 a node=0
	ROUND period=1 round=2 loop=2 time_ns=0
	A 100 0x40000000 4 2M 1 aH node=1
	A 100 0x40800000 4 2M 0 aH node=0
	P 100 start_time=77 rss_kb=0 swap_kb=0 comm=qemu
	$extra
	$PERIOD_LINE
	END status=0
	EOF
}

rstat() { printf '%s\n' "$output" | awk -v k="$1" '$1 == "S" && $2 == "rank" && $4 == k { print $5 }'; }
mstat() { printf '%s\n' "$output" | awk -v k="$1" '$1 == "S" && $2 == "migrate" && $4 == k { print $5 }'; }

start_workload() {
	"$WORKLOAD" --hot 1 --cold 8 --ready-file "$T/ready" >/dev/null &
	WP=$!
	for _ in $(seq 100); do [ -f "$T/ready" ] && break; sleep 0.05; done
	[ -f "$T/ready" ]
	local l; l=$(cat "$T/ready")
	[[ $l =~ cold=(0x[0-9a-f]+)-(0x[0-9a-f]+) ]]
	COLD_S=${BASH_REMATCH[1]} COLD_E=${BASH_REMATCH[2]}
	START_TIME=$(awk '{ print $22 }' "/proc/$WP/stat")
}

# decisions ACTION NODE [NPAGES]: D lines over the workload's cold region.
decisions() {
	local n=${3:-$(( (COLD_E - COLD_S) / 4096 ))}
	printf 'D %s %s %s 4K %s %s start_time=%s\n' "$WP" "$COLD_S" "$n" "$1" "$2" "$START_TIME"
	echo "${PERIOD_LINE/rounds=2/rounds=1}"
}

@test "rank cslide: --node-pair naming a node this host lacks is refused (69), clearly" {
	[ "$(ls -d /sys/devices/system/node/node* | wc -l)" -eq 1 ] || skip "host has several nodes"
	run "$RANK" cslide --node-pair 0,1 $OPTS </dev/null
	[ "$status" -eq 69 ]
	[[ $output == *"option '--node-pair': '0,1': NUMA node 1 does not exist: this host has 1 NUMA node"* ]]
	[[ $output == *"a DRAM node and an AEP node"* ]]
}

@test "rank cslide: missing or bad options are usage (64) and name the option" {
	fixture 0 10 10; fixture 1 10 10
	run "$RANK" cslide --node-pair 0,1 --hot-threshold 1 --node-mig-quota 1 --sys-root "$T" </dev/null
	[ "$status" -eq 64 ]
	[[ ${lines[0]} == "etmem-rank: cslide needs --node-hot-reserve" ]]
	run "$RANK" cslide --node-pair "0,1;1,0" $OPTS --sys-root "$T" </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"node 1 appears twice"* ]]
	run "$RANK" cslide --node-pair "0,x" $OPTS --sys-root "$T" </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"expected a node number at 'x'"* ]]
	run "$RANK" cslide --node-pair 0,1 $OPTS --vm-flags rd --sys-root "$T" </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"option '--vm-flags': 'rd'"* ]]
	run "$RANK" cslide --node-pair 0,1 $OPTS --anon-only maybe --sys-root "$T" </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"option '--anon-only': 'maybe' is not yes or no"* ]]
	run "$RANK" cslide --node-pair 0,1 --hot-threshold -1 --node-mig-quota 1 --node-hot-reserve 1 --sys-root "$T" </dev/null
	[ "$status" -eq 64 ]
}

@test "rank cslide --help documents the pair order and the phases" {
	run "$RANK" cslide --help
	[ "$status" -eq 0 ]
	[[ $output == *"first node of a pair"* && $output == *"--node-mig-quota"* ]]
	[[ $output == *"(A) promote"* && $output == *"(C) demote"* ]]
}

@test "rank cslide: the plan from a stream and sysfs facts (promote 3, demote 1)" {
	fixture 0 100 2; fixture 1 100 50
	run bash -c "$(declare -f stream); PERIOD_LINE='$PERIOD_LINE' stream | \
	    '$RANK' cslide --node-pair 0,1 $OPTS --sys-root '$T' --text"
	[ "$status" -eq 0 ]
	# free 4 MiB, quota 8: cap 4 + (8-4)/2 = 6 MiB promoted; the 2 MiB
	# beyond the free space displaces one cold page (quota now spent).
	[ "$(printf '%s\n' "$output" | grep -c '^D ')" -eq 2 ]
	[[ $output == *"D 100 0x40000000 3 2M promote 0 score=2 start_time=77"* ]]
	[[ $output == *"D 100 0x40800000 1 2M demote 1 start_time=77"* ]]
	[ "$(rstat bytes_promoted)" = $((6 << 20)) ]
	[ "$(rstat bytes_demoted)" = $((2 << 20)) ]
	[ "$(rstat skipped_not_hugetlb)" = 4 ]
	[ "$(rstat facts_from_stream)" = 0 ]
	[ "$(rstat located_live)" = 0 ]
}

@test "rank cslide: hugepage facts from the stream win over sysfs (replay)" {
	fixture 0 100 2; fixture 1 100 50
	# The stream says node 0 has 100 free: room for all 4 hot pages.
	run bash -c "$(declare -f stream); PERIOD_LINE='$PERIOD_LINE' stream \
	    'S scan 1 huge2m_total_n0 100' 'S scan 1 huge2m_free_n0 100' \
	    'S scan 1 huge2m_total_n1 100' 'S scan 1 huge2m_free_n1 50' | \
	    '$RANK' cslide --node-pair 0,1 $OPTS --sys-root '$T' --text"
	[ "$status" -eq 0 ]
	[ "$(rstat facts_from_stream)" = 1 ]
	[ "$(rstat bytes_promoted)" = $((8 << 20)) ]
	[ "$(rstat bytes_demoted)" = 0 ]
	# The upstream counters travel on.
	[[ $output == *"S scan 1 huge2m_free_n0 100"* ]]
}

@test "migrate numa: --help, and unknown actions still usage" {
	run "$MIG" numa --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: etmem-migrate numa "* ]]
	[[ $output == *"--node-mig-quota"* && $output == *"pages_already"* ]]
	run "$MIG" numa --swapcache-high-wmark 5 </dev/null
	[ "$status" -eq 64 ]
}

@test "migrate numa: a move to node 0 (where the pages are) is counted as already there" {
	start_workload
	run bash -c "$(declare -f decisions); WP=$WP COLD_S=$COLD_S COLD_E=$COLD_E \
	    START_TIME=$START_TIME PERIOD_LINE='$PERIOD_LINE' decisions demote 0 | '$MIG' numa --text"
	[ "$status" -eq 0 ]
	[ "$(mstat pages_already)" = $(( (COLD_E - COLD_S) / 4096 )) ]
	[ "$(mstat pages_moved)" = 0 ]
	[ "$(mstat pages_failed)" = 0 ]
	[ "$(mstat bytes_skipped)" = 0 ]
}

@test "migrate numa: a move to a missing node is counted as failed, nothing aborts" {
	start_workload
	run bash -c "$(declare -f decisions); WP=$WP COLD_S=$COLD_S COLD_E=$COLD_E \
	    START_TIME=$START_TIME PERIOD_LINE='$PERIOD_LINE'; \
	    { decisions promote 1 | head -1; decisions demote 0; } | '$MIG' numa --text"
	[ "$status" -eq 0 ]
	n=$(( (COLD_E - COLD_S) / 4096 ))
	[ "$(mstat pages_failed)" = "$n" ]
	# The demotion to node 0 ran although the promotion to node 1 failed.
	[ "$(mstat pages_already)" = "$n" ]
	[ "$(mstat decisions)" = 2 ]
	[[ $output == *"END status=0"* ]]
}

@test "migrate numa: the quota guard cuts what exceeds MB per node and period" {
	start_workload
	# 8 MiB cold = 2048 pages; quota 1 MiB = 256 pages may be tried.
	run bash -c "$(declare -f decisions); WP=$WP COLD_S=$COLD_S COLD_E=$COLD_E \
	    START_TIME=$START_TIME PERIOD_LINE='$PERIOD_LINE' decisions demote 1 | \
	    '$MIG' numa --node-mig-quota 1 --text"
	[ "$status" -eq 0 ]
	n=$(( (COLD_E - COLD_S) / 4096 ))
	[ "$(mstat pages_failed)" = 256 ]
	[ "$(mstat pages_over_quota)" = $((n - 256)) ]
}

@test "migrate numa: swap decisions are not its business (skipped_unsupported); --dry-run moves nothing" {
	start_workload
	run bash -c "$(declare -f decisions); WP=$WP COLD_S=$COLD_S COLD_E=$COLD_E \
	    START_TIME=$START_TIME PERIOD_LINE='$PERIOD_LINE'; \
	    { decisions swap - | head -1; decisions demote 1; } | '$MIG' numa --dry-run --text"
	[ "$status" -eq 0 ]
	[ "$(mstat skipped_unsupported)" = 1 ]
	[ "$(mstat pages_failed)" = 0 ]
	[[ $output == *"plan: pid $WP demote node 1 $COLD_S-"* ]]
}

@test "scan --vm-flags ht carries each node's hugepage facts; the ranker uses them" {
	fixture 0 8 3
	sleep 30 & SP=$!
	run "${ETMEM_BIN:-build/bin}/etmem-scan" -p "$SP" --vm-flags ht --backend smaps \
	    --periods 1 --interval 0 --sleep 0 --sys-root "$T" --text
	kill "$SP"
	[ "$status" -eq 0 ]
	[[ $output == *"S scan 1 huge2m_total_n0 8"* && $output == *"S scan 1 huge2m_free_n0 3"* ]]
	# Without --vm-flags ht (not a cslide scan): no such counters.
	sleep 30 & SP=$!
	run "${ETMEM_BIN:-build/bin}/etmem-scan" -p "$SP" --backend smaps \
	    --periods 1 --interval 0 --sleep 0 --sys-root "$T" --text
	kill "$SP"
	[[ $output != *"huge2m_"* ]]
}

@test "rank cslide: pages without node= are located live, only in the PROC item's process" {
	fixture 0 100 50; fixture 1 100 50
	start_workload
	# The first 2 MiB boundary inside the 8 MiB cold region: mapped, touched.
	base=$(printf '0x%x' $(( (COLD_S + 0x1fffff) & ~0x1fffff )))
	# A recycled pid (start time differs): never asked about.
	printf 'ROUND period=1 round=1 loop=1 time_ns=0\nA %s %s 1 2M 0 aH\nP %s start_time=1 rss_kb=0 swap_kb=0 comm=x\n%s\nEND status=0\n' \
	    "$WP" "$base" "$WP" "${PERIOD_LINE/rounds=2/rounds=1}" > "$T/in"
	run "$RANK" cslide --node-pair 0,1 $OPTS --sys-root "$T" --text < "$T/in"
	[ "$status" -eq 0 ]
	[ "$(rstat locate_not_same_pid)" = 1 ]
	[ "$(rstat located_live)" = 0 ]
	# The real process: asked, and its page found on node 0 (this host's
	# only node), so the cold page on DRAM is in the show picture.
	sed -i "s/start_time=1 /start_time=$START_TIME /" "$T/in"
	run "$RANK" cslide --node-pair 0,1 $OPTS --sys-root "$T" --text < "$T/in"
	[ "$status" -eq 0 ]
	[ "$(rstat locate_not_same_pid)" = 0 ]
	[ "$(rstat located_live)" = 1 ]
}
