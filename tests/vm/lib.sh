# SPDX-License-Identifier: MIT
# lib.sh - helpers for VM-lane scenarios (POSIX sh / busybox ash).
# In the guest it is /opt/etmem/lib.sh, named by $ETMEM_VM_LIB:
#   . "$ETMEM_VM_LIB"
# Every helper prints TAP in the scenario contract's form (docs/VM-LANE.md):
# set SCENARIO to the name printed before each line's text.

: "${SCENARIO:=$(basename "$0" .sh)}"

ok() { echo "ok - $SCENARIO: $*"; }
notok() { echo "not ok - $SCENARIO: $*"; }
skip() { echo "ok - $SCENARIO: $1 # SKIP $2"; }

# check DESCRIPTION COMMAND...: one TAP line from COMMAND's status.
check() {
	d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}

# start_workload [--cg DIR] WORKLOAD-ARGS...: start $ETMEM_TESTBIN/workload
# (inside cgroup DIR if given) and wait until it is ready. Sets WL_PID,
# HOT_START HOT_END COLD_START COLD_END (0x… strings). Returns 1 on timeout;
# without the helper the whole scenario is skipped (exit 0).
start_workload() {
	if [ ! -x "$ETMEM_TESTBIN/workload" ]; then
		skip "everything" "the workload helper is not built"
		exit 0
	fi
	cg=
	if [ "${1:-}" = --cg ]; then cg=$2; shift 2; fi
	WL_N=$((${WL_N:-0} + 1))     # busybox date has no %N: count instead
	rf=$(pwd)/wl-ready.$$.$WL_N
	rm -f "$rf"
	if [ -n "$cg" ]; then
		# sh -c, not a subshell: $$ in ( ) is the scenario's own pid.
		sh -c 'cg=$1; shift; echo $$ > "$cg/cgroup.procs" && exec "$@"' sh \
		    "$cg" "$ETMEM_TESTBIN/workload" --ready-file "$rf" "$@" >/dev/null &
	else
		"$ETMEM_TESTBIN/workload" --ready-file "$rf" "$@" >/dev/null &
	fi
	WL_PID=$!
	i=0
	while [ ! -s "$rf" ]; do
		i=$((i + 1))
		[ $i -gt 600 ] && { echo "# workload not ready after 60 s" >&2; return 1; }
		kill -0 $WL_PID 2>/dev/null || { echo "# workload exited early" >&2; return 1; }
		sleep 0.1
	done
	line=$(cat "$rf")
	# pid=<pid> hot=0x<start>-0x<end> cold=0x<start>-0x<end>
	HOT_START=$(echo "$line" | sed -n 's/.*hot=\(0x[0-9a-f]*\)-.*/\1/p')
	HOT_END=$(echo "$line" | sed -n 's/.*hot=0x[0-9a-f]*-\(0x[0-9a-f]*\).*/\1/p')
	COLD_START=$(echo "$line" | sed -n 's/.*cold=\(0x[0-9a-f]*\)-.*/\1/p')
	COLD_END=$(echo "$line" | sed -n 's/.*cold=0x[0-9a-f]*-\(0x[0-9a-f]*\).*/\1/p')
	echo "# workload: $line"
}

stop_workload() {
	[ -n "${WL_PID:-}" ] || return 0
	kill "$WL_PID" 2>/dev/null
	wait "$WL_PID" 2>/dev/null
	WL_PID=
}

# range_kb PID START END FIELD: sum of smaps FIELD (kB: Rss, Swap, …) over
# the VMAs inside [START, END) (hex with 0x).
range_kb() {
	awk -v lo=$(($2)) -v hi=$(($3)) -v f="$4:" '
	function hex(s,   i, n, c) { n = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
		return n }
	$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { split($1, r, "-"); s = hex(r[1]); e = hex(r[2]); cur = (s >= lo && e <= hi); next }
	cur && $1 == f { sum += $2 }
	END { print sum + 0 }' "/proc/$1/smaps"
}

# kb_of HEXSTART HEXEND: size of a range in kB.
kb_of() { echo $((($2 - $1) / 1024)); }

# no_kdamond: DAMON sysfs holds no kdamond and no etmem claim.
no_kdamond() {
	[ "$(cat /sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds)" = 0 ] &&
	    [ ! -e /run/etmem/damon.kdamond ]
}

# hugepages_reserve N: N free 2 MiB hugepages wanted on node0 and node1; the
# counts found are kept for hugepages_restore (call it from the EXIT trap).
HUGE_NR=hugepages/hugepages-2048kB/nr_hugepages
hugepages_reserve() {
	HUGE_SAVED0=$(cat /sys/devices/system/node/node0/$HUGE_NR)
	HUGE_SAVED1=$(cat /sys/devices/system/node/node1/$HUGE_NR)
	echo "$1" > /sys/devices/system/node/node0/$HUGE_NR
	echo "$1" > /sys/devices/system/node/node1/$HUGE_NR
}
hugepages_restore() {
	[ -n "${HUGE_SAVED0:-}" ] && echo "$HUGE_SAVED0" > /sys/devices/system/node/node0/$HUGE_NR
	[ -n "${HUGE_SAVED1:-}" ] && echo "$HUGE_SAVED1" > /sys/devices/system/node/node1/$HUGE_NR
	return 0
}
