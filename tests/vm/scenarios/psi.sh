#!/bin/sh
# SPDX-License-Identifier: MIT
# psi: etmem-psi on a real cgroup v2. A workload with 8 MiB hot and 64 MiB
# cold anonymous memory runs inside etmem-psi.$$/w (memory.max 256 MiB, so
# the default floor is 10 % of it). With --pressure 0 nothing may be
# reclaimed; with a reachable target etmem-psi must write memory.reclaim and
# the kernel must take the cold memory to zram: memory.current drops towards
# the floor (never below it), memory.stat's pgsteal grows, and the workload's
# cold range shows Swap in smaps.
. "$ETMEM_VM_LIB"

P=/sys/fs/cgroup/etmem-psi.$$
CG=$P/w
cleanup() {
	stop_workload
	rmdir "$CG" "$P" 2>/dev/null
}
trap cleanup EXIT

mkdir "$P" && echo +memory > "$P/cgroup.subtree_control" && mkdir "$CG" &&
    echo $((256 << 20)) > "$CG/memory.max" || { notok "cgroup setup"; exit 0; }
floor=$(( (256 << 20) / 10 ))

# Start the workload inside $CG, so its memory is charged there (v2 never
# moves charges). A child sh writes its own pid: in a ( ) subshell $$ would
# still be this script's pid.
start_in_cg() {
	rf=$(pwd)/wl-ready
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
	    "$ETMEM_TESTBIN/workload" --ready-file "$rf" "$@" > /dev/null &
	WL_PID=$!
	i=0
	while [ ! -s "$rf" ]; do
		i=$((i + 1))
		[ $i -gt 600 ] && return 1
		kill -0 $WL_PID 2>/dev/null || return 1
		sleep 0.1
	done
	line=$(cat "$rf")
	echo "# workload: $line"
	COLD_START=$(echo "$line" | sed -n 's/.*cold=\(0x[0-9a-f]*\)-.*/\1/p')
	COLD_END=$(echo "$line" | sed -n 's/.*cold=0x[0-9a-f]*-\(0x[0-9a-f]*\).*/\1/p')
	[ -n "$COLD_START" ] && [ -n "$COLD_END" ]
}
start_in_cg --hot 8 --cold 64 --touch-ms 50 || { notok "workload starts"; exit 0; }
sleep 1
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$CG/memory.stat"; }
cold_kb=$(kb_of "$COLD_START" "$COLD_END")
before=$(cat "$CG/memory.current")
echo "# memory.current $before, floor $floor"
check "workload charged to the cgroup ($before bytes)" [ "$before" -gt $((64 << 20)) ]

# 1. pressure=0: no round may reclaim (nothing is ever below 0 %).
etmem-psi --cg-dir "etmem-psi.$$/*" --pressure 0 --periods 3 --interval 0.5 \
    --text > zero.txt 2> zero.err
rc=$?
check "pressure=0: exits 0 (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' zero.err
check "pressure=0: every round skipped for pressure" \
    [ "$(grep -c "^C [0-9]* etmem-psi\.$$/w pressure " zero.txt)" -eq 3 ]
check "pressure=0: nothing asked" [ "$(grep -c '^R .* asked=0 ' zero.txt)" -eq 3 ]
mid=$(cat "$CG/memory.current")
check "pressure=0: memory.current kept ($before -> $mid)" [ "$mid" -ge $((before - (4 << 20))) ]

# 2. A target the guest stays under: reclaim towards the floor.
steal0=$(stat_of pgsteal)
etmem-psi --cg-dir "etmem-psi.$$/*" --pressure 20 --reclaim-rate 0.5 \
    --reclaim-rate-max 0.5 --periods 6 --interval 1 --text -v > run.txt 2> run.err
rc=$?
check "reclaim: exits 0 (got $rc)" [ $rc -eq 0 ]
sed 's/^/# /' run.txt
[ $rc -eq 0 ] || sed 's/^/# /' run.err
after=$(cat "$CG/memory.current")
steal1=$(stat_of pgsteal)
cold_swap=$(range_kb "$WL_PID" "$COLD_START" "$COLD_END" Swap)
asked=$(awk '/^R / { for (i = 3; i <= NF; i++) if ($i ~ /^asked=/) s += substr($i, 7) } END { print s + 0 }' run.txt)
got=$(awk '/^R / { for (i = 3; i <= NF; i++) if ($i ~ /^reclaimed=/) s += substr($i, 11) } END { print s + 0 }' run.txt)
echo "# memory.current $mid -> $after; pgsteal $steal0 -> $steal1; asked $asked reclaimed $got; cold swap $cold_swap/$cold_kb kB"
check "reclaim: memory.reclaim requests written ($asked bytes)" [ "$asked" -gt $((24 << 20)) ]
check "reclaim: memory.current dropped by > 24 MiB ($mid -> $after)" [ "$after" -lt $((mid - (24 << 20))) ]
check "reclaim: not below the floor minus a batch ($after >= $floor)" [ "$after" -ge $((floor - (2 << 20))) ]
check "reclaim: memory.stat pgsteal grew by > 6000 pages" [ $((steal1 - steal0)) -gt 6000 ]
check "reclaim: read-back counted (reclaimed $got > 0)" [ "$got" -gt 0 ]
check "reclaim: cold memory went to swap ($cold_swap of $cold_kb kB)" [ "$cold_swap" -ge $((cold_kb / 2)) ]
check "reclaim: one info summary per round" [ "$(grep -c ': round [0-9]*: ' run.err)" -eq 6 ]

cp zero.txt run.txt "$ETMEM_VM_OUT/" 2>/dev/null
exit 0
