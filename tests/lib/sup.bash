# SPDX-License-Identifier: MIT
# Helpers for the etmemd-supervisor suites (supervisor-e2e.bats,
# supervisor-engines.bats). The caller's setup() sets T (a private temp
# dir), SOCK (a private socket name), DPID= and WPIDS=().

# start_daemon [ARGS]: etmemd on $SOCK (plus ARGS), its log in $T/d.log;
# waits for the socket, shows the log if it never comes.
start_daemon() {
	ETMEMD_LOG_STDERR=1 etmemd -l 0 -s "$SOCK" "$@" 2>"$T/d.log" &
	DPID=$!
	for _ in $(seq 100); do grep -q "@$SOCK\$" /proc/net/unix && return 0; sleep 0.05; done
	cat "$T/d.log" >&2; return 1
}

# conf NAME < TEXT: a config file the daemon accepts (mode 0600); its path.
conf() { cat > "$T/$1"; chmod 600 "$T/$1"; echo "$T/$1"; }

# start_workload [ARGS]: sets WPID, HOT, COLD (0xS-0xE) from the ready line.
start_workload() {
	"$ETMEM_TESTBIN/workload" --hot 8 --cold 32 --touch-ms 20 --ready-file "$T/ready" "$@" >/dev/null &
	WPIDS+=($!)
	for _ in $(seq 200); do [ -s "$T/ready" ] && break; sleep 0.05; done
	line=$(cat "$T/ready")
	WPID=$(sed 's/.*pid=\([0-9]*\).*/\1/' <<< "$line")
	HOT=$(sed 's/.*hot=\([^ ]*\).*/\1/' <<< "$line")
	COLD=$(sed 's/.*cold=\([^ ]*\).*/\1/' <<< "$line")
	[ "$WPID" = "${WPIDS[-1]}" ]
}

# vma_kb PID RANGE FIELD: a smaps field (kB) of the VMA starting at RANGE's start.
vma_kb() {
	local start=${2%%-*}
	start=${start#0x}
	awk -v s="$start" -v f="$3:" '
		/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); cur = (a[1] == s) }
		cur && $1 == f { print $2; exit }' "/proc/$1/smaps"
}

stage_pids() { pgrep -P "$DPID" || true; }

# verbose: `etmem project show --verbose` (states, pids, stats, command lines).
verbose() { etmem project show -s "$SOCK" --verbose; }

wait_for() {  # wait_for SECONDS CMD...: poll until CMD succeeds
	local n=$(( $1 * 10 )); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

cold_swapped() { [ "$(vma_kb "$WPID" "$COLD" Swap)" -gt 16384 ]; }
task_running() { verbose | grep -q "state: running"; }

# stop_daemon_and_workloads: what teardown() does before removing $T.
stop_daemon_and_workloads() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true
	fi
	for w in "${WPIDS[@]}"; do kill "$w" 2>/dev/null; wait "$w" 2>/dev/null; done
	return 0
}

# teardown_daemon_checked: stop the daemon, remove $T, and fail the test if a
# sanitized build reported anything in the daemon's log ($T/d.log).
teardown_daemon_checked() {
	local san=0
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true
	fi
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/d.log" 2>/dev/null && san=1
	[ "$san" -eq 0 ] || cat "$T/d.log" >&2
	rm -rf "$T"
	[ "$san" -eq 0 ]
}
