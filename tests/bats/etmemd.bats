#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmemd (etmemd-supervisor): command line (cli-contract §6.1), the wire
# protocol and access control (§6.3), and robustness of the one event loop:
# many clients, silent clients, garbage, non-root peers.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/sup

setup() {
	T=$(mktemp -d)
	SOCK="etmemd-bats-$$-${BATS_TEST_NUMBER}"
	DPID=
}

teardown() {
	teardown_daemon_checked
}

listening() { grep -q "@$1\$" /proc/net/unix; }

# start_daemon [ARGS], teardown_daemon_checked: tests/lib/sup.bash

# raw HEX_OR_TEXT: send bytes to the daemon, print the reply as hex.
raw() {
	python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect("\0" + sys.argv[1])
s.sendall(sys.argv[2].encode())
out = b""
try:
    while True:
        b = s.recv(4096)
        if not b: break
        out += b
except (ConnectionResetError, socket.timeout):
    pass
print(out.hex())
PY
}

need_python() { command -v python3 >/dev/null || skip "python3 not installed"; }

@test "D1: no arguments: usage, socket missing, exit 255" {
	run etmemd
	assert_failure 255
	assert_output --partial "socket name must be provided"
	assert_output --partial "Usage:"
}

@test "D2: -h, --help, -help print usage and exit 0" {
	for h in -h --help -help; do
		run etmemd $h
		assert_success
		assert_output --partial "etmemd [options]"
	done
}

@test "D3-D7: bad command lines exit 255" {
	for args in "---help" "error" "-s test_socket socket" "-s" "-l" \
	    "-l a -s x" "-l 4 -s x" "-l -1 -s x" "-l 0" "-m" "-m A"; do
		run etmemd $args
		[ "$status" -eq 255 ] || { echo "etmemd $args -> $status"; false; }
	done
	run etmemd error
	assert_output --partial "useless parameters"
	run etmemd -l 5 -s x
	assert_output --partial "0 (debug)"
}

@test "D8: -h with extra words prints usage, then exit 255" {
	for args in "-h help" "-l 0 -h" "-l 0 -h -s sock"; do
		run etmemd $args
		assert_failure 255
		assert_output --partial "etmemd [options]"
	done
}

@test "D9, D10: repeated -s, 7 argv entries exit 255" {
	run etmemd -s sock0 -s sock1
	assert_failure 255
	assert_output --partial "repeated"
	run etmemd -l 0 -l 0 -s sock
	assert_failure 255
}

@test "D11: 106-byte name listens, 107 bytes and empty are refused" {
	SOCK=$(printf 'a%.0s' $(seq 106))
	start_daemon
	listening "$SOCK"
	run etmemd -s "$(printf 'b%.0s' $(seq 107))"
	assert_failure 255
	run etmemd -s ""
	assert_failure 255
}

@test "D12: name in use: clear message, exit 1, first daemon keeps serving" {
	start_daemon
	run etmemd -s "$SOCK"
	assert_failure 1
	assert_output --partial "failed to start rpc server"
	assert_output --partial "Address already in use"
	run etmem project show -s "$SOCK"
	assert_success
}

@test "D13: -m returns 0 once listening, pid file holds the child pid" {
	export ETMEMD_PID_FILE="$T/etmemd.pid"
	# The child keeps the parent's stdio (as the original): not `run`.
	etmemd -l 0 -s "$SOCK" -m --log-stderr >"$T/out" 2>&1
	listening "$SOCK"
	DPID=$(cat "$T/etmemd.pid")
	[ "$(wc -l < "$T/etmemd.pid")" -eq 0 ]      # no newline
	[ "$(readlink /proc/$DPID/exe)" = "$(readlink -f "$ETMEM_BIN/etmemd")" ]
	run etmem project show -s "$SOCK"
	assert_success
	# Same name again: the child cannot bind, the parent exits 1.
	rc=0; etmemd -s "$SOCK" -m >"$T/out2" 2>&1 || rc=$?
	[ "$rc" -eq 1 ]
}

@test "D14: SIGPIPE does not kill the daemon" {
	start_daemon
	kill -PIPE "$DPID"
	sleep 0.2
	kill -0 "$DPID"
	run etmem project show -s "$SOCK"
	assert_success
}

@test "D15: SIGTERM and SIGINT exit 0 and free the name at once" {
	for sig in TERM INT; do
		start_daemon
		kill -$sig "$DPID"
		rc=0; wait "$DPID" || rc=$?
		[ "$rc" -eq 0 ]
		DPID=
		! listening "$SOCK"
		start_daemon
		kill -TERM "$DPID"; wait "$DPID"; DPID=
	done
}

@test "P1: raw show request: text, blank line, 0xFF" {
	need_python
	start_daemon
	run raw "proj_name - file_name - cmd 4 eng_name - eng_cmd - task_name -"
	assert_output "$(printf 'no project exists\n\n' | od -An -tx1 | tr -d ' \n')ff"
}

@test "P2, P3: malformed requests and unknown cmd get invalid parameters + 0xFE" {
	need_python
	start_daemon
	inval=$(printf 'error: invalid parameters' | od -An -tx1 | tr -d ' \n')fe
	for req in "garbage" "proj_name - file_name - cmd x eng_name - eng_cmd - task_name -" \
	    "proj_name - file_name - cmd 4 eng_na" \
	    "proj_name - file_name - cmd 9 eng_name - eng_cmd - task_name -"; do
		run raw "$req"
		[ "$output" = "$inval" ] || { echo "$req -> $output"; false; }
	done
}

@test "a request with every field malformed is refused, daemon unharmed" {
	need_python
	start_daemon
	run raw "proj_name -x file_name  cmd -1 eng_name a b eng_cmd task_name"
	assert_output --regexp 'fe$'
	run raw "proj_name $(printf 'p%.0s' $(seq 600)) file_name - cmd 2"
	assert_output --regexp 'fe$'
	run etmem project show -s "$SOCK"
	assert_success
}

@test "a 10 KiB garbage request is refused, daemon keeps serving" {
	need_python
	start_daemon
	run raw "$(head -c 10240 /dev/zero | tr '\0' 'x')"
	kill -0 "$DPID"
	run etmem project show -s "$SOCK"
	assert_success
	assert_output --partial "no project exists"
	grep -q "more than 512 bytes" "$T/d.log"
}

@test "P4: non-root peers (uid or gid != 0) get no reply, exit 186" {
	command -v setpriv >/dev/null || skip "setpriv missing"
	start_daemon
	run setpriv --reuid=65534 --regid=65534 --clear-groups etmem project show -s "$SOCK"
	assert_failure 186
	run setpriv --regid=1 --clear-groups etmem project show -s "$SOCK"
	assert_failure 186
	grep -q "uid 65534 gid 65534 refused" "$T/d.log"
	run etmem project show -s "$SOCK"
	assert_success
}

@test "P5: a silent client does not block a second one" {
	need_python
	start_daemon
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("\0" + sys.argv[1]); time.sleep(4)' "$SOCK" &
	idle=$!
	sleep 0.3
	start=$(date +%s%N)
	run etmem project show -s "$SOCK"
	end=$(date +%s%N)
	kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null || true
	assert_success
	[ $(( (end - start) / 1000000 )) -lt 2000 ]
}

@test "two clients at once, and twenty in parallel, are all served" {
	start_daemon
	pids=()
	for i in $(seq 20); do
		etmem project show -s "$SOCK" > "$T/out.$i" &
		pids+=($!)
	done
	wait_ok=0
	for j in "${pids[@]}"; do wait "$j" || wait_ok=1; done
	[ "$wait_ok" -eq 0 ]
	for i in $(seq 20); do grep -q "no project exists" "$T/out.$i"; done
}

@test "P6, P7: values with a blank or a leading dash: refused, exit 186" {
	start_daemon
	mkdir -p "$T/dir with space"
	run etmem obj add -f "$T/dir with space/f.conf" -s "$SOCK"
	assert_failure 186
	run etmem project start -n -dash -s "$SOCK"
	assert_failure 186
	run etmem project start -n "a b" -s "$SOCK"
	assert_failure 186
	kill -0 "$DPID"
}

@test "P9: show -n - behaves as show-all" {
	start_daemon
	run etmem project show -n - -s "$SOCK"
	assert_success
	assert_output --partial "no project exists"
}

@test "syslog mode: -l 3 logs nothing on stderr" {
	etmemd -l 3 -s "$SOCK" 2>"$T/err" &
	DPID=$!
	for _ in $(seq 100); do listening "$SOCK" && break; sleep 0.05; done
	etmem project show -s "$SOCK" >/dev/null
	[ ! -s "$T/err" ]
}
