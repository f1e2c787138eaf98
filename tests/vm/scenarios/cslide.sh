#!/bin/sh
# SPDX-License-Identifier: MIT
# cslide: real hugetlb pages moved between two real NUMA nodes. Node 0 is
# the DRAM node, node 1 its AEP pair (--node-pair 0,1). A target holds 8
# hugetlb pages allocated on node 0. The access counts are written by hand
# (the point here is the ranker's plan on live hugepage facts, the live
# node lookup and the kernel moves, not a scanner's view of hugetlb pages):
#   round 1, 2: pages 0-3 hot, 4-7 cold; DRAM has 16 MiB free and the
#               reserve is 24 MiB, so cold pages are demoted, 2 per round
#               (node_mig_quota 4 MiB per round);
#   round 3:    4-7 hot, 0-3 cold: the ranker promotes 4-7, but the
#               migrator's own guard (--node-mig-quota 2) lets one through;
#   round 4:    the rest is promoted, and the quota left demotes one
#               cold page towards the reserve.
# Each page's node is checked after every round with move_pages (query).
. "$ETMEM_VM_LIB"

HP=/sys/devices/system/node
TOUCH=$ETMEM_TESTBIN/hugetlb-touch
WL_PID=
cleanup() {
	[ -n "$WL_PID" ] && kill "$WL_PID" 2>/dev/null && wait "$WL_PID" 2>/dev/null
	hugepages_restore
}
trap cleanup EXIT

if [ ! -d $HP/node1 ]; then
	skip "cslide" "needs two NUMA nodes"
	exit 0
fi
# 16 hugepages (32 MiB) per node, reserved per node through sysfs.
hugepages_reserve 16
n0=$(cat $HP/node0/hugepages/hugepages-2048kB/nr_hugepages)
n1=$(cat $HP/node1/hugepages/hugepages-2048kB/nr_hugepages)
if [ "$n0" -ne 16 ] || [ "$n1" -ne 16 ]; then
	notok "reserve 16 hugepages on each node (got $n0 and $n1)"
	exit 0
fi
ok "16 hugepages reserved on node 0 and on node 1"

"$TOUCH" --pages 8 --node 0 --ready-file "$PWD/ready" >/dev/null &
WL_PID=$!
i=0
while [ ! -s ready ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { notok "hugetlb-touch ready"; exit 0; }
	kill -0 $WL_PID 2>/dev/null || { notok "hugetlb-touch started"; exit 0; }
	sleep 0.1
done
BASE=$(sed -n 's/.*base=\(0x[0-9a-f]*\).*/\1/p' ready)
ST=$(awk '{ print $22 }' /proc/$WL_PID/stat)
echo "# target: $(cat ready)"

# nodes: the node of each of the 8 pages, as one word ("00000000").
nodes() {
	"$TOUCH" --where "$WL_PID" "$BASE" 8 | awk '{ printf "%s", $2 } END { print "" }'
}
check "all 8 pages start on node 0 (move_pages query)" [ "$(nodes)" = 00000000 ]

# stream HOTSET: one period, loop 1; pages in HOTSET (e.g. "0 1 2 3") count 3.
stream() {
	echo "ROUND period=1 round=1 loop=1 time_ns=0"
	for p in 0 1 2 3 4 5 6 7; do
		c=0
		for h in $1; do [ "$h" = "$p" ] && c=3; done
		printf 'A %s 0x%x 1 2M %s aH\n' "$WL_PID" $((BASE + p * 2097152)) "$c"
	done
	echo "P $WL_PID start_time=$ST rss_kb=0 swap_kb=0 comm=hugetlb-touch"
	echo "PERIOD period=1 rounds=1 time_ns=0 mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0"
	echo "END status=0"
}

# round HOTSET RANK_QUOTA MIG_QUOTA: rank + migrate one period; output in out.
round() {
	stream "$1" | etmem-rank cslide --node-pair 0,1 --hot-threshold 1 \
	    --node-mig-quota "$2" --node-hot-reserve 24 --vm-flags ht \
	    --anon-only no --ign-host no --text > rank.out 2> rank.err &&
	    etmem-migrate numa --node-mig-quota "$3" --text < rank.out > out 2> mig.err
	rc=$?
	sed 's/^/# /' rank.err mig.err
	grep '^D ' rank.out | sed 's/^/# /'
	return $rc
}
stat_of() { awk -v s="$1" -v k="$2" '$1 == "S" && $2 == s && $4 == k { print $5 }' "$3"; }

check "round 1 runs" round "0 1 2 3" 4 0
check "round 1: pages located live by the ranker" [ "$(stat_of rank located_live rank.out)" = 8 ]
check "round 1: 2 coldest pages demoted (quota 4 MiB)" [ "$(stat_of migrate pages_moved out)" = 2 ]
check "round 1: pages 4 and 5 now on node 1" [ "$(nodes)" = 00001100 ]
n1free=$(cat $HP/node1/hugepages/hugepages-2048kB/free_hugepages)
check "round 1: node 1's free hugepages went down by 2" [ "$n1free" -eq 14 ]

check "round 2 runs" round "0 1 2 3" 4 0
check "round 2: 2 more demoted" [ "$(stat_of migrate pages_moved out)" = 2 ]
check "round 2: all cold pages on node 1" [ "$(nodes)" = 00001111 ]

check "round 3 runs" round "4 5 6 7" 8 2
check "round 3: the ranker asked for 4 promotions to node 0" \
    [ "$(stat_of rank bytes_promoted rank.out):$(grep -c ' 2M promote 0 ' rank.out)" = "$((8 << 20)):1" ]
check "round 3: the migrator's quota let 1 through, 3 over quota" \
    [ "$(stat_of migrate pages_moved out):$(stat_of migrate pages_over_quota out)" = 1:3 ]
check "round 3: page 4 back on node 0" [ "$(nodes)" = 00000111 ]

# Round 4: DRAM has 22 MiB free. The 3 promotions (6 MiB) leave 2 MiB of
# quota, which phase C spends on the coldest DRAM page (page 0) to get back
# towards the 24 MiB reserve: one budget for both directions.
check "round 4 runs" round "4 5 6 7" 8 0
check "round 4: 3 promoted, 1 demoted with the quota left" \
    [ "$(stat_of rank bytes_promoted rank.out):$(stat_of rank bytes_demoted rank.out):$(stat_of migrate pages_moved out)" = "$((6 << 20)):$((2 << 20)):4" ]
check "round 4: hot pages 4-7 on node 0, page 0 demoted to node 1" [ "$(nodes)" = 10000000 ]
check "numa_maps agrees: N0=7 N1=1" grep -q "N0=7 N1=1" /proc/$WL_PID/numa_maps
exit 0
