#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem-psi against fixture cgroup trees under a temporary --sys-root: the
# kernel files are regular files (memory.reclaim collects what is written,
# one request per line), so every expected number is computed here exactly.

PSI="${ETMEM_BIN:-build/bin}/etmem-psi"
PAGE=$(getconf PAGESIZE)

setup() {
	T=$(mktemp -d)
	ROOT=$T/sys/fs/cgroup
	mkdir -p "$ROOT"
	echo "cpuset cpu io memory pids" > "$ROOT/cgroup.controllers"
	pressure_file "$ROOT/memory.pressure" 0.00 0.00
}

teardown() {
	[ -n "$BGPID" ] && kill "$BGPID" 2>/dev/null || true
	rm -rf "$T"
}

pressure_file() { # path avg10 avg60
	printf 'some avg10=%s avg60=%s avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n' \
	    "$2" "$3" > "$1"
}

# mkcg DIR usage limit [avg10 avg60]: a v2 cgroup directory.
mkcg() {
	mkdir -p "$1"
	pressure_file "$1/memory.pressure" "${4:-0.00}" "${5:-0.00}"
	echo "$2" > "$1/memory.current"
	echo "$3" > "$1/memory.max"
	: > "$1/memory.reclaim"
}

# What the law asks: ((usage - floor) * rate%) rounded down to pages, capped.
# rate in percent (integer) so bash integer math is exact.
expect() { # usage floor rate_percent [cap]
	local b=$(( ($1 - $2) * $3 / 100 ))
	[ -n "$4" ] && [ "$b" -gt "$4" ] && b=$4
	echo $(( b / PAGE * PAGE ))
}

psi() { "$PSI" --sys-root "$T" "$@"; }

# The first --text line starting with $1 (run merges stderr into $output).
line() { grep -m1 "^$1" <<<"$output"; }

@test "etmem-psi: --help documents the flags and exits 0" {
	run "$PSI" --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:\ etmem-psi* ]]
	for f in --cg-dir --interval --pressure --reclaim-rate --reclaim-rate-min \
	    --reclaim-rate-max --reclaim-max-bytes --limit-min-bytes \
	    --limit-min-ratio --periods --control-fd --sys-root --text; do
		[[ "$output" == *"$f"* ]]
	done
}

@test "etmem-psi: usage errors exit 64 and name the fault" {
	run "$PSI" --sys-root "$T"
	[ "$status" -eq 64 ]
	[[ "${lines[0]}" == "etmem-psi: --cg-dir is required" ]]
	run psi --cg-dir 'pod/../../etc'
	[ "$status" -eq 64 ]
	[[ "${lines[0]}" == *"'..' would leave the cgroup root"* ]]
	run psi --cg-dir /
	[ "$status" -eq 64 ]
	run psi --cg-dir pod --reclaim-rate 0.6
	[ "$status" -eq 64 ]
	[[ "${lines[0]}" == "etmem-psi: reclaim_rate 0.6 is outside"* ]]
	run psi --cg-dir pod --interval 0
	[ "$status" -eq 64 ]
	[[ "${lines[0]}" == *"--interval"* ]]
	run psi --cg-dir pod --bogus
	[ "$status" -eq 64 ]
}

@test "etmem-psi: this host without --sys-root: exit 69 naming what is missing" {
	if [ -f /sys/fs/cgroup/cgroup.controllers ] &&
	    grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
		skip "host has cgroup2 with memory"
	fi
	run "$PSI" --cg-dir 'x/*' --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == "etmem-psi: no usable cgroup memory controller:"* ]]
	[[ "$output" == *"memory.reclaim"* || "$output" == *"no memory controller"* ]]
}

@test "etmem-psi: cgroup2 without the memory controller: exit 69" {
	echo "cpu io" > "$ROOT/cgroup.controllers"
	run psi --cg-dir pod --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == *"has no memory controller (cgroup.controllers: cpu io)"* ]]
}

@test "etmem-psi: mainline cgroup v1 (no openEuler extensions): exit 69" {
	rm -f "$ROOT"/*
	mkdir -p "$ROOT/memory" "$ROOT/cpuacct"
	echo 0 > "$ROOT/memory/memory.usage_in_bytes"
	echo 0 > "$ROOT/cpuacct/cpuacct.usage"
	run psi --cg-dir pod --periods 1
	[ "$status" -eq 69 ]
	[[ "$output" == *"no memory.pressure in cpuacct (CONFIG_PSI_CGROUP_V1"* ]]
	[[ "$output" == *"no memory.reclaim in memory (CONFIG_MEMCG_V1_RECLAIM)"* ]]
}

@test "etmem-psi: low pressure: (usage - 10% of limit) x 5% rounded to pages" {
	usage=$((600 * 1048576 + 12345)); limit=$((1000 * 1048576))
	mkcg "$ROOT/pod/a" $usage $limit 0.02 0.05
	run psi --cg-dir 'pod/*' --periods 1 --text
	[ "$status" -eq 0 ]
	want=$(expect $usage $((limit / 10)) 5)
	[ "$want" -eq 26214400 ]
	[ "$(cat "$ROOT/pod/a/memory.reclaim")" = "$want" ]
	[ "$(line 'C 1 ')" = "C 1 pod/a reclaim pressure=0.05 rate=0.05 usage=$usage floor=$((limit / 10)) asked=$want reclaimed=0" ]
	[ "$(line 'R 1 ')" = "R 1 cgroups=1 asked=$want reclaimed=0 pressured=0 floor=0 vanished=0 errors=0" ]
}

@test "etmem-psi: pressure at or above target: nothing written" {
	mkcg "$ROOT/pod/a" $((600 << 20)) $((1000 << 20)) 0.00 0.10
	mkcg "$ROOT/pod/b" $((600 << 20)) $((1000 << 20)) 0.30 0.00
	mkcg "$ROOT/pod/c" $((600 << 20)) $((1000 << 20)) 0.00 0.00
	run psi --cg-dir 'pod/*' --periods 1 --text --pressure 0.1
	[ "$status" -eq 0 ]
	[ ! -s "$ROOT/pod/a/memory.reclaim" ]
	[ ! -s "$ROOT/pod/b/memory.reclaim" ]
	[ -s "$ROOT/pod/c/memory.reclaim" ]
	[[ "$(line 'C 1 pod/a ')" == "C 1 pod/a pressure pressure=0.10 "*" asked=0 reclaimed=0" ]]
	[[ "$(line 'C 1 pod/b ')" == "C 1 pod/b pressure pressure=0.30 "* ]]
	# --pressure 0: never
	: > "$ROOT/pod/c/memory.reclaim"
	run psi --cg-dir 'pod/*' --periods 1 --pressure 0
	[ "$status" -eq 0 ]
	[ ! -s "$ROOT/pod/c/memory.reclaim" ]
}

@test "etmem-psi: floor by bytes, by ratio, unlimited limit, and at the floor" {
	usage=$((300 << 20))
	mkcg "$ROOT/pod/bytes" $usage $((1000 << 20))
	mkcg "$ROOT/pod/max" $usage max
	mkcg "$ROOT/pod/low" $((100 << 20)) $((1000 << 20))
	run psi --cg-dir 'pod/*' --periods 1 --text --limit-min-bytes $((200 << 20))
	[ "$status" -eq 0 ]
	# bytes floor (200 MiB) beats ratio (100 MiB)
	[ "$(cat "$ROOT/pod/bytes/memory.reclaim")" = "$(expect $usage $((200 << 20)) 5)" ]
	[ "$(cat "$ROOT/pod/max/memory.reclaim")" = "$(expect $usage $((200 << 20)) 5)" ]
	# 100 MiB usage is under the floor: untouched
	[ ! -s "$ROOT/pod/low/memory.reclaim" ]
	[[ "$output" == *"C 1 pod/low floor "* ]]
	# ratio floor (25% of 1000 MiB) beats 0 bytes; "max" has no ratio floor
	: > "$ROOT/pod/bytes/memory.reclaim"; : > "$ROOT/pod/max/memory.reclaim"
	run psi --cg-dir 'pod/*' --periods 1 --limit-min-ratio 0.25
	[ "$status" -eq 0 ]
	[ "$(cat "$ROOT/pod/bytes/memory.reclaim")" = "$(expect $usage $((250 << 20)) 5)" ]
	[ "$(cat "$ROOT/pod/max/memory.reclaim")" = "$(expect $usage 0 5)" ]
	# memory.low counts as a floor too
	echo $((290 << 20)) > "$ROOT/pod/bytes/memory.low"
	: > "$ROOT/pod/bytes/memory.reclaim"
	run psi --cg-dir pod/bytes --periods 1
	[ "$(cat "$ROOT/pod/bytes/memory.reclaim")" = "$(expect $usage $((290 << 20)) 5)" ]
}

@test "etmem-psi: reclaim_max_bytes caps before page rounding" {
	usage=$((900 << 20))
	mkcg "$ROOT/pod/a" $usage max
	run psi --cg-dir pod/a --periods 1 --reclaim-rate 0.5 --reclaim-max-bytes 1000000
	[ "$status" -eq 0 ]
	[ "$(cat "$ROOT/pod/a/memory.reclaim")" = "$((1000000 / PAGE * PAGE))" ]
}

@test "etmem-psi: too little to make a page: nothing written" {
	mkcg "$ROOT/pod/a" $((PAGE * 19)) max
	run psi --cg-dir pod/a --periods 1 --text
	[ "$status" -eq 0 ]
	[ ! -s "$ROOT/pod/a/memory.reclaim" ]
	[[ "$(line 'C 1 ')" == "C 1 pod/a small "* ]]
}

@test "etmem-psi: rate rises by 0.01 after 5 calm rounds" {
	usage=$((600 << 20)); limit=$((1000 << 20))
	mkcg "$ROOT/pod/a" $usage $limit
	run psi --cg-dir 'pod/*' --periods 7 --interval 0.02
	[ "$status" -eq 0 ]
	a=$(expect $usage $((limit / 10)) 5); b=$(expect $usage $((limit / 10)) 6)
	[ "$(cat "$ROOT/pod/a/memory.reclaim" | tr '\n' ' ')" = "$a $a $a $a $a $b $b " ]
}

@test "etmem-psi: rate falls by 0.01 after 2 pressured rounds, not below the minimum" {
	mkcg "$ROOT/pod/a" $((600 << 20)) $((1000 << 20)) 5.00 5.00
	run psi --cg-dir 'pod/*' --periods 7 --interval 0.02 --text \
	    --reclaim-rate 0.04 --reclaim-rate-min 0.02
	[ "$status" -eq 0 ]
	rates=$(grep '^C ' <<<"$output" | sed 's/.* rate=\([^ ]*\) .*/\1/' | tr '\n' ' ')
	[ "$rates" = "0.04 0.04 0.03 0.03 0.02 0.02 0.02 " ]
	[ ! -s "$ROOT/pod/a/memory.reclaim" ]
}

@test "etmem-psi: wildcards, braces, overlap and a child appearing between rounds" {
	mkcg "$ROOT/pod/b" $((600 << 20)) max
	mkcg "$ROOT/pod/a" $((600 << 20)) max
	mkcg "$ROOT/other/x" $((600 << 20)) max
	mkcg "$ROOT/other/y" $((600 << 20)) max
	echo notadir > "$ROOT/pod/file"
	"$PSI" --sys-root "$T" --cg-dir 'pod/*' --cg-dir '{pod/a,other/y}' \
	    --periods 3 --interval 0.6 --text > "$T/out" 2> "$T/err" &
	BGPID=$!
	for i in $(seq 50); do grep -q '^R 1 ' "$T/out" && break; sleep 0.1; done
	# built aside, renamed in: the round never sees half a cgroup
	mkcg "$T/new" $((600 << 20)) max
	mv "$T/new" "$ROOT/pod/c"
	wait $BGPID; BGPID=
	grep '^C 1 ' "$T/out" | cut -d' ' -f3 | tr '\n' ' ' > "$T/r1"
	[ "$(cat "$T/r1")" = "other/y pod/a pod/b " ]
	[ "$(grep '^C 3 ' "$T/out" | cut -d' ' -f3 | tr '\n' ' ')" = "other/y pod/a pod/b pod/c " ]
	[ ! -s "$ROOT/other/x/memory.reclaim" ]
	[ "$(wc -l < "$ROOT/pod/a/memory.reclaim")" -eq 3 ]
	[ "$(wc -l < "$ROOT/pod/c/memory.reclaim")" -ge 1 ]
	grep -q "cgroup 'pod/c': tracking" "$T/err"
}

@test "etmem-psi: a cgroup removed between rounds is dropped" {
	mkcg "$ROOT/pod/a" $((600 << 20)) max
	mkcg "$ROOT/pod/b" $((600 << 20)) max
	"$PSI" --sys-root "$T" --cg-dir 'pod/*' --periods 3 --interval 0.6 --text \
	    > "$T/out" 2> "$T/err" &
	BGPID=$!
	for i in $(seq 50); do grep -q '^R 1 ' "$T/out" && break; sleep 0.1; done
	rm -rf "$ROOT/pod/b"
	wait $BGPID; status=$?; BGPID=
	[ "$status" -eq 0 ]
	grep -q "cgroup 'pod/b' is gone; dropped" "$T/err"
	grep -q '^R 3 cgroups=1 ' "$T/out"
}

@test "etmem-psi: a cgroup vanishing mid-round is skipped, the others go on" {
	mkcg "$ROOT/pod/a" $((600 << 20)) max
	mkcg "$ROOT/pod/b" $((600 << 20)) max
	mkcg "$ROOT/pod/c" $((600 << 20)) max
	# b's memory.current is a FIFO: etmem-psi blocks reading it while we
	# remove b; closing our end then gives it EOF mid-round.
	rm "$ROOT/pod/b/memory.current"
	mkfifo "$ROOT/pod/b/memory.current"
	"$PSI" --sys-root "$T" --cg-dir 'pod/*' --periods 1 --text > "$T/out" 2> "$T/err" &
	BGPID=$!
	# (fd 3 is bats'; the subshell's exit closes our end)
	( exec 7> "$ROOT/pod/b/memory.current"; rm -rf "$ROOT/pod/b" )
	wait $BGPID; status=$?; BGPID=
	[ "$status" -eq 0 ]
	grep -q "cgroup 'pod/b' vanished during the round; skipped" "$T/err"
	grep -q '^C 1 pod/b vanished ' "$T/out"
	grep -q '^R 1 cgroups=3 .* vanished=1 errors=0$' "$T/out"
	[ -s "$ROOT/pod/a/memory.reclaim" ]
	[ -s "$ROOT/pod/c/memory.reclaim" ]
}

@test "etmem-psi: a broken cgroup is logged and skipped, not fatal" {
	mkcg "$ROOT/pod/a" $((600 << 20)) max
	mkcg "$ROOT/pod/b" $((600 << 20)) max
	rm "$ROOT/pod/a/memory.current"
	echo garbage > "$ROOT/pod/b/memory.max"
	run psi --cg-dir 'pod/*' --periods 1 --text
	[ "$status" -eq 0 ]
	[[ "$output" == *"cgroup 'pod/a': memory controller not enabled for 'pod/a'"* ]]
	[[ "$output" == *"cgroup 'pod/b': '$ROOT/pod/b/memory.max': not a byte count or 'max'"* ]]
	[[ "$output" == *"R 1 cgroups=2 asked=0 reclaimed=0 pressured=0 floor=0 vanished=0 errors=2"* ]]
}

@test "etmem-psi: a symlink out of the root is not followed" {
	mkdir -p "$T/outside"
	mkcg "$T/outside/evil" $((600 << 20)) max
	mkdir -p "$ROOT/pod"
	ln -s "$T/outside/evil" "$ROOT/pod/evil"
	mkcg "$ROOT/pod/good" $((600 << 20)) max
	run psi --cg-dir 'pod/*' --periods 1 --text
	[ "$status" -eq 0 ]
	[ ! -s "$T/outside/evil/memory.reclaim" ]
	[ -s "$ROOT/pod/good/memory.reclaim" ]
	[[ "$output" == *"R 1 cgroups=1 "* ]]
}

@test "etmem-psi: hybrid host: cgroup2 under unified/" {
	rm -f "$ROOT"/*
	mkdir -p "$ROOT/unified" "$ROOT/memory"
	echo "memory" > "$ROOT/unified/cgroup.controllers"
	pressure_file "$ROOT/unified/memory.pressure" 0 0
	mkcg "$ROOT/unified/pod" $((600 << 20)) max
	run psi --cg-dir pod --periods 1 -v
	[ "$status" -eq 0 ]
	[[ "$output" == *"cgroup2 at '$ROOT/unified'"* ]]
	[ "$(cat "$ROOT/unified/pod/memory.reclaim")" = "$(expect $((600 << 20)) 0 5)" ]
	[[ "$output" == *"cgroup 'pod': pressure 0.00 (target 0.1)"* ]]
}

@test "etmem-psi: openEuler cgroup v1: pressure in cpuacct, reclaim in memory" {
	rm -f "$ROOT"/*
	mkdir -p "$ROOT/cpuacct/isulad/c1" "$ROOT/cpuacct/isulad/c2" "$ROOT/memory/isulad/c1"
	echo 0 > "$ROOT/cpuacct/cpuacct.usage"
	pressure_file "$ROOT/cpuacct/memory.pressure" 0 0
	echo 0 > "$ROOT/memory/memory.usage_in_bytes"
	: > "$ROOT/memory/memory.reclaim"
	pressure_file "$ROOT/cpuacct/isulad/c1/memory.pressure" 0.01 0.02
	pressure_file "$ROOT/cpuacct/isulad/c2/memory.pressure" 0 0
	usage=$((600 << 20)); limit=$((1000 << 20))
	echo $usage > "$ROOT/memory/isulad/c1/memory.usage_in_bytes"
	echo $limit > "$ROOT/memory/isulad/c1/memory.limit_in_bytes"
	: > "$ROOT/memory/isulad/c1/memory.reclaim"
	run psi --cg-dir 'isulad/*' --periods 1 --text
	[ "$status" -eq 0 ]
	[[ "$output" == *"cgroup1-openeuler at '$ROOT/cpuacct' and '$ROOT/memory'"* ]]
	[ "$(cat "$ROOT/memory/isulad/c1/memory.reclaim")" = "$(expect $usage $((limit / 10)) 5)" ]
	# c2 has no memory/ twin: not a cgroup we can drive
	[[ "$output" == *"R 1 cgroups=1 "* ]]
}

@test "etmem-psi: SIGTERM stops a sleeping controller within 1 s, exit 0" {
	mkcg "$ROOT/pod/a" $((600 << 20)) max
	"$PSI" --sys-root "$T" --cg-dir 'pod/*' --interval 100 --text > "$T/out" 2> "$T/err" &
	BGPID=$!
	for i in $(seq 50); do grep -q '^R 1 ' "$T/out" && break; sleep 0.1; done
	start=$(date +%s%N)
	kill -TERM $BGPID
	wait $BGPID; status=$?; BGPID=
	end=$(date +%s%N)
	[ "$status" -eq 0 ]
	[ $(( (end - start) / 1000000 )) -lt 1000 ]
	grep -q "stopping after 1 rounds" "$T/err"
}

@test "etmem-psi: info log has one summary line per round" {
	mkcg "$ROOT/pod/a" $((600 << 20)) max
	mkcg "$ROOT/pod/b" $((600 << 20)) max 9 9
	run psi --cg-dir 'pod/*' --periods 2 --interval 0.01
	[ "$status" -eq 0 ]
	[ "$(grep -c ': round ' <<<"$output")" -eq 2 ]
	[[ "$output" == *"round 2: 2 cgroups: reclaimed 0 of "*" bytes asked from 1; 1 under pressure, 0 at floor, 0 vanished, 0 errors"* ]]
	# per-cgroup lines only with -v
	[[ "$output" != *"cgroup 'pod/a': pressure"* ]]
}
