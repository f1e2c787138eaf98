#!/bin/sh
# SPDX-License-Identifier: MIT
# damon-engine: the damon engine as DAMOS in the kernel. etmem-scan --damos
# action=pageout,... makes the kernel page out regions with no access for
# min_age aggregation intervals: the cold part goes to zram, the hot part
# stays; when etmem-scan exits its kdamond and claim are gone.
. "$ETMEM_VM_LIB"
# The DAMON options are wired into etmem-scan's main.c by scan_damon_opts.
if ! etmem-scan --help 2>/dev/null | grep -q -- '--damos'; then
	skip "DAMOS schemes" "this etmem-scan has no --damos option"; exit 0
fi

start_workload --hot 16 --cold 64 --touch-ms 20 || { notok "workload starts"; exit 0; }
cold_kb=$(kb_of "$COLD_START" "$COLD_END")
hot_kb=$(kb_of "$HOT_START" "$HOT_END")

# 100 ms aggregation: min_age=10 is 1 s without a single sampled access
# (longer under TCG). It runs until stopped: SIGTERM must clean up.
etmem-scan --backend damon -p "$WL_PID" --loop 1 --interval 1 --periods 0 \
    --damos action=pageout,min_size=4096,max_acc=0,min_age=10 > scan.etmr 2>scan.err &
sp=$!
# The scheme acts while etmem-scan runs: look before it exits. TCG is slow,
# so wait up to 40 s for 90 % of the cold part.
sleep 2
check "a kdamond runs, claimed by etmem-scan" grep -q "pid=$sp " /run/etmem/damon.kdamond
i=0
while :; do
	cold_swap=$(range_kb "$WL_PID" "$COLD_START" "$COLD_END" Swap)
	[ "$cold_swap" -ge $((cold_kb * 9 / 10)) ] && break
	i=$((i + 1)); [ $i -ge 40 ] && break
	sleep 1
done
hot_rss=$(range_kb "$WL_PID" "$HOT_START" "$HOT_END" Rss)
kill -TERM $sp; wait $sp
rc=$?
check "etmem-scan --damos exits 0 on SIGTERM (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' scan.err
echo "# cold: ${cold_swap}/${cold_kb} kB swapped; hot: ${hot_rss}/${hot_kb} kB resident"
check "DAMOS pageout swapped the cold part (${cold_swap} of ${cold_kb} kB)" [ "$cold_swap" -ge $((cold_kb * 9 / 10)) ]
check "the hot part stays resident (${hot_rss} of ${hot_kb} kB)" [ "$hot_rss" -ge $((hot_kb * 9 / 10)) ]
check "no kdamond or claim left after exit" no_kdamond
stop_workload
exit 0
