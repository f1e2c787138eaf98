#!/bin/sh
# SPDX-License-Identifier: MIT
# supervisor-damon: etmemd drives a slide project whose scanner is the DAMON
# backend (ETMEM_SCAN_BACKEND=damon): the workload's cold part is swapped
# out on zram, the hot part stays; `project stop` ends every stage and the
# scanner's kdamond with them.
. "$ETMEM_VM_LIB"
for b in etmemd etmem etmem-scan etmem-rank etmem-migrate; do
	command -v $b >/dev/null || { skip "etmemd slide on DAMON" "$b not built"; exit 0; }
done
sock=etmem-vm-$$

start_workload --hot 8 --cold 64 --touch-ms 10 || { notok "workload starts"; exit 0; }
cold_kb=$(kb_of "$COLD_START" "$COLD_END")
hot_kb=$(kb_of "$HOT_START" "$HOT_END")

ETMEM_SCAN_BACKEND=damon ETMEMD_LOG_STDERR=1 etmemd -l 0 -s "$sock" 2>d.log &
dpid=$!
i=0
until grep -q "@$sock\$" /proc/net/unix; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
cat > p.conf <<EOC
[project]
name=vm
loop=3
interval=1
sleep=1

[engine]
name=slide
project=vm

[task]
project=vm
engine=slide
name=t1
type=pid
value=$WL_PID
T=1
EOC
chmod 600 p.conf
check "obj add" etmem obj add -f p.conf -s "$sock"
check "project start" etmem project start -n vm -s "$sock"
i=0
while :; do
	cold_swap=$(range_kb "$WL_PID" "$COLD_START" "$COLD_END" Swap)
	[ "$cold_swap" -ge $((cold_kb * 8 / 10)) ] && break
	i=$((i + 1)); [ $i -ge 60 ] && break
	sleep 1
done
hot_rss=$(range_kb "$WL_PID" "$HOT_START" "$HOT_END" Rss)
check "etmemd runs etmem-scan --backend damon" sh -c "etmem project show -s $sock --verbose | grep -q 'etmem-scan .*--backend damon'"
echo "# cold: ${cold_swap}/${cold_kb} kB swapped; hot: ${hot_rss}/${hot_kb} kB resident"
check "cold part swapped out (${cold_swap} of ${cold_kb} kB)" [ "$cold_swap" -ge $((cold_kb * 8 / 10)) ]
check "hot part stays resident (${hot_rss} of ${hot_kb} kB)" [ "$hot_rss" -ge $((hot_kb * 9 / 10)) ]
check "project stop" etmem project stop -n vm -s "$sock"
i=0
until no_kdamond; do i=$((i + 1)); [ $i -gt 30 ] && break; sleep 0.1; done
check "no kdamond left after project stop" no_kdamond
kill -TERM $dpid; wait $dpid
[ "$(cat /sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds)" = 0 ] || sed 's/^/# d.log: /' d.log | tail -30
stop_workload
exit 0
