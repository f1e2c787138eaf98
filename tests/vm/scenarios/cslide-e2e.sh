#!/bin/sh
# SPDX-License-Identifier: MIT
# cslide-e2e: the whole cslide pipeline for real, scanner included. A
# target holds 10 hugetlb pages allocated on node 0 (the DRAM node) and
# keeps writing pages 0-3 (hot); pages 5-9 are never touched again (cold);
# page 4 sits between them and is not asserted (a DAMON region may straddle
# the hot/cold boundary for a while: cslide counts a 2 MiB page as accessed
# when any part of it is). The pipeline
#   etmem-scan --vm-flags ht (node of every page, from move_pages queries)
#   | etmem-rank cslide --node-pair 0,1 --hot-threshold 1 ...
#   | etmem-migrate numa --node-mig-quota 4
# must leave the cold pages on node 1 and the hot ones on node 0 (moving
# back what an early period may have demoted), never more than 4 MiB (2
# pages) a period, without the ranker asking the kernel where pages are.
# The scanner is DAMON's: of the mainline interfaces only DAMON sees
# accesses to hugetlb pages (page_idle skips non-LRU folios; clear_refs
# and smaps' Referenced ignore hugetlb VMAs). cslide-e2e.host replays the
# capture on the host and must decide the same.
. "$ETMEM_VM_LIB"
set -o pipefail

HP=/sys/devices/system/node
TOUCH=$ETMEM_TESTBIN/hugetlb-touch
WL_PID=
cleanup() {
	[ -n "$WL_PID" ] && kill "$WL_PID" 2>/dev/null && wait "$WL_PID" 2>/dev/null
	hugepages_restore
}
trap cleanup EXIT

if [ ! -d $HP/node1 ]; then
	skip "cslide-e2e" "needs two NUMA nodes"
	exit 0
fi
if ! etmem-scan --help 2>&1 | grep -q -- --numa-node; then
	skip "cslide-e2e" "etmem-scan has no --numa-node"
	exit 0
fi
hugepages_reserve 16
n0=$(cat $HP/node0/hugepages/hugepages-2048kB/nr_hugepages)
n1=$(cat $HP/node1/hugepages/hugepages-2048kB/nr_hugepages)
if [ "$n0" -ne 16 ] || [ "$n1" -ne 16 ]; then
	notok "reserve 16 hugepages on each node (got $n0 and $n1)"
	exit 0
fi

"$TOUCH" --pages 10 --node 0 --hot 4 --ready-file "$PWD/ready" >/dev/null &
WL_PID=$!
i=0
while [ ! -s ready ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { notok "hugetlb-touch ready"; exit 0; }
	kill -0 $WL_PID 2>/dev/null || { notok "hugetlb-touch started"; exit 0; }
	sleep 0.1
done
BASE=$(sed -n 's/.*base=\(0x[0-9a-f]*\).*/\1/p' ready)
echo "# target: $(cat ready)"

# nodes: the node of each of the 10 pages, as one word ("0000000000").
nodes() {
	"$TOUCH" --where "$WL_PID" "$BASE" 10 | awk '{ printf "%s", $2 } END { print "" }'
}
check "all 10 pages start on node 0" [ "$(nodes)" = 0000000000 ]

# DRAM (node 0) has 6 free hugepages (12 MiB) under a 32 MiB reserve: the
# ranker demotes cold pages towards it, 4 MiB a period.
etmem-scan --backend damon -p "$WL_PID" --vm-flags ht --anon-only no \
    --min-nr-regions 100 --max-nr-regions 1000 \
    --loop 2 --interval 1 --sleep 0.5 --periods 8 --text 2>scan.err |
    tee cap.txt |
    etmem-rank cslide --node-pair 0,1 --hot-threshold 1 --node-mig-quota 4 \
    --node-hot-reserve 32 --vm-flags ht --text 2>rank.err | tee dec.txt |
    etmem-migrate numa --node-mig-quota 4 --text > mig.out 2>mig.err
rc=$?
check "pipeline exits 0 (got $rc)" [ $rc -eq 0 ]
sed 's/^/# /' scan.err rank.err mig.err
grep '^D ' dec.txt | sed 's/^/# /'
awk '$1 == "S" && $2 == "migrate" && $4 ~ /^pages_(moved|over_quota|already)$/' mig.out | sed 's/^/# /'

check "the scanner gave every hugetlb extent a node" \
    awk -v p="$WL_PID" '$1 == "A" && $2 == p { n++; if ($0 !~ / node=[01]/) bad++ } END { exit !(n > 0 && bad == 0) }' cap.txt
check "the scanner located pages in each period (S scan node_pages_located)" \
    awk '$1 == "S" && $2 == "scan" && $4 == "node_pages_located" { n++; if ($5 == 0) bad++ } END { exit !(n == 8 && bad == 0) }' cap.txt
check "the ranker never asked the kernel (located_live 0 in every period)" \
    awk '$1 == "S" && $2 == "rank" && $4 == "located_live" { n++; if ($5 != 0) bad++ } END { exit !(n == 8 && bad == 0) }' dec.txt
check "the ranker decided demotions to node 1" grep -q "^D $WL_PID .* 2M demote 1 " dec.txt
check "no period moved more than the quota (2 pages of 2 MiB)" \
    awk '$1 == "S" && $2 == "migrate" && $4 == "pages_moved" { n++; if ($5 > 2) bad++ } END { exit !(n > 0 && bad == 0) }' mig.out
moved=$(awk '$1 == "S" && $2 == "migrate" && $4 == "pages_moved" { s += $5 } END { print s + 0 }' mig.out)
check "pages were moved ($moved)" [ "$moved" -ge 5 ]

w=$(nodes)
echo "# nodes after: $w (pages 0-9)"
check "hot pages 0-3 on node 0 ($w)" [ "$(echo "$w" | cut -c1-4)" = 0000 ]
check "cold pages 5-9 on node 1 ($w)" [ "$(echo "$w" | cut -c6-10)" = 11111 ]
# numa_maps counts hugetlb mappings in huge pages; the helper's mprotect
# round-trips split its mapping into several VMAs (lines): sum them.
grep 'kernelpagesize_kB=2048' /proc/$WL_PID/numa_maps | sed 's/^/# numa_maps: /'
n1pages=$(grep 'kernelpagesize_kB=2048' /proc/$WL_PID/numa_maps | tr ' ' '\n' |
    awk -F= '$1 == "N1" { s += $2 } END { print s + 0 }')
on1=$(echo "$w" | awk '{ print gsub(/1/, "") }')
check "numa_maps agrees: $n1pages huge pages on node 1, as move_pages says ($on1)" \
    [ "$n1pages" -eq "$on1" ]
check "no kdamond left after etmem-scan exits" no_kdamond

cp cap.txt dec.txt "$ETMEM_VM_OUT/"
exit 0
