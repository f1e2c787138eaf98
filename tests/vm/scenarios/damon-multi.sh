#!/bin/sh
# SPDX-License-Identifier: MIT
# damon-multi: several DAMON tasks in one daemon (the original fails here).
# One etmem-scan, one kdamond, two targets: the stream carries region
# records of both (per-target stat schemes with target filters), and a
# DAMOS pageout scheme restricted to the second (pids=) swaps only its
# cold part.
. "$ETMEM_VM_LIB"
damos=
# The DAMON options reach etmem-scan through main.c splicing scan_damon_opts.
if etmem-scan --help 2>/dev/null | grep -q -- '--damos'; then damos=1; fi

start_workload --hot 4 --cold 32 --touch-ms 20 || { notok "workload A starts"; exit 0; }
a=$WL_PID a_cs=$COLD_START a_ce=$COLD_END
start_workload --hot 4 --cold 32 --touch-ms 20 || { notok "workload B starts"; kill $a; exit 0; }
b=$WL_PID b_cs=$COLD_START b_ce=$COLD_END
cold_kb=$(kb_of "$b_cs" "$b_ce")

if [ -n "$damos" ]; then
	etmem-scan --backend damon -p "$a" -p "$b" --loop 1 --interval 1 --periods 0 --text \
	    --damos action=pageout,max_acc=0,min_age=10,pids=$b > cap.txt 2>scan.err &
else
	etmem-scan --backend damon -p "$a" -p "$b" --loop 1 --interval 1 --periods 0 --text \
	    > cap.txt 2>scan.err &
fi
sp=$!
i=0
while :; do  # up to 40 s for B's scheme to act (TCG is slow); 4 s without one
	sleep 1
	b_swap=$(range_kb "$b" "$b_cs" "$b_ce" Swap)
	[ -z "$damos" ] && [ $i -ge 3 ] && break
	[ "$b_swap" -ge $((cold_kb * 9 / 10)) ] && break
	i=$((i + 1)); [ $i -ge 40 ] && break
done
a_swap=$(range_kb "$a" "$a_cs" "$a_ce" Swap)
kill -TERM $sp; wait $sp
rc=$?
check "etmem-scan with two targets exits 0 on SIGTERM (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' scan.err
check "region records for target A" grep -q "^A $a .*r" cap.txt
check "region records for target B" grep -q "^A $b .*r" cap.txt
echo "# A cold swapped ${a_swap} kB, B cold swapped ${b_swap} kB of ${cold_kb}"
if [ -n "$damos" ]; then
	check "B's cold part swapped by its scheme (${b_swap} kB)" [ "$b_swap" -ge $((cold_kb * 9 / 10)) ]
	check "A's cold part untouched (${a_swap} kB swapped)" [ "$a_swap" -eq 0 ]
else
	skip "a scheme restricted to one target" "this etmem-scan has no --damos option"
fi
kill $a $b; wait $a $b 2>/dev/null
check "no kdamond left" no_kdamond
exit 0
