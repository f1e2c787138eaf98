#!/bin/sh
# SPDX-License-Identifier: MIT
# damon-slide: DAMON regions -> slide -> swap on zram. A workload with a
# known hot and cold part runs; etmem-scan --backend damon | etmem-rank slide
# -T 1 | etmem-migrate swap must swap the cold part out and leave the hot
# part resident. The scan capture and the guest's decisions are exported:
# damon-slide.host replays the capture on the host and must decide the same.
. "$ETMEM_VM_LIB"
set -o pipefail

start_workload --hot 8 --cold 64 --touch-ms 10 || { notok "workload starts"; exit 0; }
cold_kb=$(kb_of "$COLD_START" "$COLD_END")
hot_kb=$(kb_of "$HOT_START" "$HOT_END")

etmem-scan --backend damon -p "$WL_PID" --loop 3 --interval 1 --periods 4 --text 2>scan.err |
    tee cap.txt | etmem-rank slide -T 1 --text 2>rank.err | tee dec.txt |
    etmem-migrate swap > mig.out 2>mig.err
rc=$?
check "pipeline exits 0 (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' scan.err rank.err mig.err

check "capture holds DAMON region records" grep -q "^A $WL_PID 0x[0-9a-f]* [0-9]* 4K [0-9]* [a-z]*r" cap.txt
check "region records carry DAMON's age" grep -q "^A $WL_PID .* age=[1-9]" cap.txt
check "slide decided to swap something" grep -q "^D $WL_PID .* swap" dec.txt
cold_swap=$(range_kb "$WL_PID" "$COLD_START" "$COLD_END" Swap)
hot_rss=$(range_kb "$WL_PID" "$HOT_START" "$HOT_END" Rss)
echo "# cold: ${cold_swap}/${cold_kb} kB swapped; hot: ${hot_rss}/${hot_kb} kB resident"
check "cold part swapped out (${cold_swap} of ${cold_kb} kB)" [ "$cold_swap" -ge $((cold_kb * 8 / 10)) ]
check "hot part stays resident (${hot_rss} of ${hot_kb} kB)" [ "$hot_rss" -ge $((hot_kb * 9 / 10)) ]
stop_workload
check "no kdamond left after etmem-scan exits" no_kdamond

cp cap.txt dec.txt "$ETMEM_VM_OUT/"
exit 0
