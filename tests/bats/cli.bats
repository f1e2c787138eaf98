#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem client: parsing and exit codes (cli-contract §6.2), config files as
# etmemd accepts or rejects them (§6.4) and the project lifecycle (§6.5),
# through a real etmemd on a private socket.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/sup

setup() {
	T=$(mktemp -d)
	SOCK="etmem-cli-bats-$$-${BATS_TEST_NUMBER}"
	DPID=
}

teardown() {
	teardown_daemon_checked
}

# start_daemon, conf, teardown_daemon_checked: tests/lib/sup.bash

proj() {  # proj NAME [extra lines]
	printf '[project]\nname=%s\nloop=1\ninterval=1\nsleep=1\n%s\n' "$1" "${2:-}"
}
slide_engine() { printf '[engine]\nname=slide\nproject=%s\n' "$1"; }
slide_task() {  # slide_task PROJ NAME [extra]
	printf '[task]\nproject=%s\nengine=slide\nname=%s\ntype=pid\nvalue=1\nT=1\n%s\n' "$1" "$2" "${3:-}"
}

add() { etmem obj add -f "$1" -s "$SOCK"; }
del() { etmem obj del -f "$1" -s "$SOCK"; }

# ---- §6.2: parsing, no daemon ----

@test "C1, C2: top usage and help" {
	run etmem
	assert_failure 234
	assert_output --partial "etmem OBJECT COMMAND"
	run etmem help
	assert_success
	for a in "help x" "-h" "foo"; do
		run etmem $a
		assert_failure 234
	done
}

@test "C3, C4: object alone is 234, object help is 0" {
	for o in project obj engine; do
		run etmem $o
		assert_failure 234
		assert_output --partial "etmem $o"
		run etmem $o help
		assert_success
	done
}

@test "C5: unknown sub-commands exit 255" {
	run etmem project other
	assert_failure 255
	run etmem obj other
	assert_failure 255
}

@test "C6, C7, C8, C10, C11: missing options and getopt errors exit 234" {
	for a in "obj add" "obj add -s S" "obj add -f F" "obj add -o other" \
	    "project start -o other" "project start -n P" "project start -s S" \
	    "project show -s S -n"; do
		run etmem $a
		[ "$status" -eq 234 ] || { echo "etmem $a -> $status"; false; }
	done
	run etmem obj add -o other
	assert_output --partial "etmem: error -22"
}

@test "C8: getopt's complaint goes to stderr, the rest to stdout" {
	run bash -c 'etmem obj add -o other 2>&1 >/dev/null'
	assert_output --partial "invalid option"
	run bash -c 'etmem obj add -o other 2>/dev/null'
	assert_output --partial "etmem obj add"
}

@test "C9: stray words exit 249" {
	run etmem obj add -f F -s S error
	assert_failure 249
	assert_output --partial "useless parameters"
}

@test "C12-C15: engine client-side errors exit 255" {
	for a in "engine -h" "engine --help" "engine -s S" "engine -s S -n P" \
	    "engine showtaskpages -s S" "engine showtaskpages -s S -n P" \
	    "engine showtaskpages -s S -n P -e"; do
		run etmem $a
		[ "$status" -eq 255 ] || { echo "etmem $a -> $status"; false; }
	done
	run etmem engine -s ""
	assert_failure 255
	run etmem engine -s S -n P -e "" -t T
	assert_failure 255
	run etmem engine "" -s S -n P -e cslide -t T
	assert_failure 255
}

@test "C16: a 107-byte socket name exits 255 without connecting" {
	long=$(printf 's%.0s' $(seq 107))
	run etmem project show -s "$long"
	assert_failure 255
	run etmem obj add -f /x -s "$long"
	assert_failure 255
	run etmem engine cmd -s "$long" -n p -e slide
	assert_failure 255
}

@test "C17: nobody listening: connect failed, exit 111" {
	run etmem project show -s "nobody-listens-$$"
	assert_failure 111
	assert_output --partial "connect failed: Connection refused"
}

@test "C18: a request over 512 bytes: too long, exit 255" {
	run etmem obj add -f "/$(printf 'f%.0s' $(seq 500))" -s S
	assert_failure 255
	assert_output --partial "too long"
}

@test "obj check validates locally and prints the model" {
	f=$( { proj pc; slide_engine pc; slide_task pc t1; } | conf c.conf)
	run etmem obj check -f "$f"
	assert_success
	assert_output --partial "name=pc"
	assert_output --partial "T=1"
	f=$(printf '[project]\nname=bad\nloop=0\ninterval=1\nsleep=1\n' | conf b.conf)
	run etmem obj check -f "$f"
	assert_failure 234
	assert_output --partial "loop"
}

# ---- §6.4: config files ----

@test "F1, F2, F4: missing, badly owned or oversized files are INVAL" {
	start_daemon
	run add /nonexistent
	assert_failure 186
	assert_output --partial "invalid parameters"
	f=$(proj p1 | conf f.conf)
	for m in 644 700; do
		chmod $m "$f"; run add "$f"; assert_failure 186
	done
	chmod 600 "$f"; chown 65534 "$f"; run add "$f"; assert_failure 186
	chown 0:65534 "$f"; run add "$f"; assert_failure 186
	chown 0:0 "$f"
	run add "$T"; assert_failure 186
	big=$(proj p2 | conf big.conf)
	head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' '#' >> "$big"
	run add "$big"; assert_failure 186
	run etmem project show -s "$SOCK"
	assert_output --partial "no project exists"
}

@test "F3: mode 0400, 04600 and a symlink to a 0600 file are accepted" {
	start_daemon
	f=$(proj p1 | conf a.conf); chmod 400 "$f"; run add "$f"; assert_success
	f=$(proj p2 | conf b.conf); chmod 4600 "$f"; run add "$f"; assert_success
	f=$(proj p3 | conf c.conf); ln -s "$f" "$T/link.conf"
	run add "$T/link.conf"; assert_success
}

@test "F5, F7: empty/unknown-group files INVAL; syntax errors INTER_ERR" {
	start_daemon
	f=$(: | conf e.conf); run add "$f"; assert_failure 186
	assert_output --partial "invalid parameters"
	f=$(printf '[not_used_group]\naaa=bbb\n' | conf u.conf); run add "$f"
	assert_failure 186; assert_output --partial "invalid parameters"
	for body in '; comment\n[project]\nname=x\n' 'name=x\n[project]\n' \
	    '[project]\nname=x\nloop=1\ninterval=1\nsleep=1\ngarbage line\n'; do
		f=$(printf "$body" | conf s.conf)
		run add "$f"
		assert_failure 186
		assert_output --partial "internal error"
	done
	kill -0 "$DPID"
}

@test "F6: obj del of a task without its identity keys is INVAL" {
	start_daemon
	f=$(printf '[task]\ntype=xxxxx\n' | conf d.conf)
	run del "$f"
	assert_failure 186
	assert_output --partial "invalid parameters"
}

@test "F8: a full file adds once; the second add is PRO_EXISTED" {
	start_daemon
	f=$( { proj p1; slide_engine p1; slide_task p1 t1; } | conf full.conf)
	run add "$f"; assert_success
	run etmem project show -s "$SOCK"
	assert_output --partial "t1"
	run add "$f"; assert_failure 186
	assert_output --partial "project has been existed"
}

@test "F9 (atomic): a rejected engine leaves nothing behind" {
	start_daemon
	f=$( { proj p1; printf '[engine]\nname=nosuchengine\nproject=p1\n'; } | conf f9.conf)
	run add "$f"
	assert_failure 186
	run etmem project show -s "$SOCK"
	assert_output --partial "no project exists"
	# Ours is atomic: the same file fails the same way, not PRO_EXISTED.
	run add "$f"
	refute_output --partial "project has been existed"
}

@test "F10: two [task] blocks: only the last one exists" {
	start_daemon
	f=$( { proj p1; slide_engine p1; slide_task p1 t2; slide_task p1 t3; } | conf f10.conf)
	run add "$f"; assert_success
	run etmem project show -s "$SOCK"
	assert_output --partial "t3"
	refute_output --partial "t2"
}

@test "F11: project names of 64 bytes ok, 65 rejected" {
	start_daemon
	n64=$(printf 'n%.0s' $(seq 64)); n65=$(printf 'n%.0s' $(seq 65))
	f=$(proj "$n64" | conf a.conf); run add "$f"; assert_success
	f=$(proj "$n65" | conf b.conf); run add "$f"; assert_failure 186
	assert_output --partial "invalid parameters"
}

@test "F12, F13: loop/interval ranges" {
	start_daemon
	i=0
	for v in 0 121 abc; do
		f=$(printf '[project]\nname=x%s\nloop=%s\ninterval=1\nsleep=1\n' $i $v | conf l$i.conf)
		run add "$f"; assert_failure 186; i=$((i+1))
	done
	for v in 1 120 +1 01; do
		f=$(printf '[project]\nname=x%s\nloop=%s\ninterval=1\nsleep=1\n' $i $v | conf l$i.conf)
		run add "$f"; assert_success; i=$((i+1))
	done
	for v in 0 1201; do
		f=$(printf '[project]\nname=x%s\nloop=1\ninterval=%s\nsleep=1\n' $i $v | conf l$i.conf)
		run add "$f"; assert_failure 186; i=$((i+1))
	done
}

@test "F18: engine errors" {
	start_daemon
	f=$(proj p1 | conf p.conf); add "$f"
	f=$(printf '[engine]\nname=slide\nproject=nop\n' | conf e1.conf)
	run add "$f"; assert_failure 186; assert_output --partial "project is not exist"
	f=$(slide_engine p1 | conf e2.conf)
	run add "$f"; assert_success
	run add "$f"; assert_failure 186; assert_output --partial "engine has been existed"
	run del "$f"; assert_success
	run del "$f"; assert_failure 186; assert_output --partial "engine is not exist"
	f=$(printf '[engine]\nname=\nproject=p1\n' | conf e3.conf)
	run add "$f"; assert_failure 186
}

@test "K1: cslide engine on a one-node machine is INTER_ERR" {
	[ "$(ls -d /sys/devices/system/node/node* | wc -l)" -eq 1 ] || skip "not a 1-node machine"
	start_daemon
	f=$(proj p1 | conf p.conf); add "$f"
	f=$(printf '[engine]\nname=cslide\nproject=p1\nnode_pair=0,1\nhot_threshold=1\nnode_mig_quota=1024\nnode_hot_reserve=1024\n' | conf c.conf)
	run add "$f"; assert_failure 186; assert_output --partial "internal error"
}

@test "F19: task errors" {
	start_daemon
	f=$( { proj p1; slide_engine p1; } | conf p.conf); add "$f"
	f=$(slide_task p1 t1 | conf t.conf)
	run add "$f"; assert_success
	run add "$f"; assert_failure 186; assert_output --partial "task has been existed"
	run del "$f"; assert_success
	run del "$f"; assert_failure 186; assert_output --partial "task is not exist"
	f=$(slide_task nop t1 | conf t2.conf)
	run add "$f"; assert_failure 186; assert_output --partial "project is not exist"
	f=$(printf '[task]\nproject=p1\nengine=other\nname=t\ntype=pid\nvalue=1\n' | conf t3.conf)
	run add "$f"; assert_failure 186; assert_output --partial "engine is not exist"
}

@test "F20, F21: task value and T checks" {
	start_daemon
	f=$( { proj p1; slide_engine p1; } | conf p.conf); add "$f"
	f=$(printf '[task]\nproject=p1\nengine=slide\nname=a\ntype=PID\nvalue=1\nT=1\n' | conf a.conf)
	run add "$f"; assert_failure 186; assert_output --partial "internal error"
	f=$(printf '[task]\nproject=p1\nengine=slide\nname=b\ntype=name\nvalue=a:b\nT=1\n' | conf b.conf)
	run add "$f"; assert_failure 186
	f=$(printf '[task]\nproject=p1\nengine=slide\nname=c\ntype=name\nvalue=a/b.c%%d_e-f\nT=1\n' | conf c.conf)
	run add "$f"; assert_success
	f=$(printf '[task]\nproject=p1\nengine=slide\nname=d\ntype=pid\nvalue=1\nT=4\n' | conf d.conf)
	run add "$f"; assert_failure 186; assert_output --partial "internal error"
	f=$(printf '[task]\nproject=p1\nengine=slide\nname=e\ntype=pid\nvalue=1\nT=3\n' | conf e.conf)
	run add "$f"; assert_success
}

# ---- §6.5: lifecycle ----

@test "L1-L3: start/stop state machine" {
	start_daemon
	run etmem project start -n nop -s "$SOCK"
	assert_failure 186; assert_output --partial "project is not exist"
	f=$(proj p1 | conf p.conf); add "$f"
	run etmem project start -n p1 -s "$SOCK"; assert_success
	run etmem project start -n p1 -s "$SOCK"; assert_failure 186
	assert_output --partial "has been started"
	run etmem project stop -n p1 -s "$SOCK"; assert_success
	run etmem project stop -n p1 -s "$SOCK"; assert_failure 186
	assert_output --partial "has been stopped"
}

@test "L4: 50 projects: all listed newest first, then removed" {
	start_daemon
	for i in $(seq 50); do
		f=$(proj "p$i" | conf "p$i.conf")
		add "$f" >/dev/null
		etmem project start -n "p$i" -s "$SOCK" >/dev/null
	done
	run etmem project show -s "$SOCK"
	[ "$(grep -c '^project: ' <<< "$output")" -eq 50 ]
	[ "$(grep '^project: ' <<< "$output" | head -1)" = "project: p50" ]
	for i in $(seq 50); do
		etmem project stop -n "p$i" -s "$SOCK" >/dev/null
		del "$T/p$i.conf" >/dev/null
	done
	run etmem project show -s "$SOCK"
	assert_output --partial "no project exists"
}

@test "L5: show with nothing, and with an unknown -n, succeed" {
	start_daemon
	run etmem project show -s "$SOCK"
	assert_success
	assert_output "no project exists"
	run etmem project show -n zz -s "$SOCK"
	assert_success
	assert_output "project: project zz is not existed"
}

@test "show layout matches the original byte for byte" {
	start_daemon
	f=$( { proj p1; slide_engine p1; slide_task p1 t3; } | conf a.conf); add "$f"
	run etmem project show -n p1 -s "$SOCK"
	expected=$(printf 'project: p1\nnumber   type     value            name             engine           started \n1        pid      1                t3               slide            false   ')
	assert_output "$expected"
}

@test "L9, L10: deleting; del reports the last failure and carries on" {
	start_daemon
	f=$( { proj p1; slide_engine p1; } | conf a.conf); add "$f"
	g=$( { proj p1; printf '[engine]\nname=slide\nproject=p1\n'; slide_task p1 nosuch; } | conf g.conf)
	del "$T/a.conf" >/dev/null
	f=$(proj p1 | conf b.conf); add "$f"
	run del "$g"
	assert_failure 186
	assert_output --partial "engine is not exist"
	run etmem project show -s "$SOCK"
	assert_output --partial "no project exists"
}

@test "L11-L13: engine commands" {
	start_daemon
	f=$( { proj p1; slide_engine p1; slide_task p1 t1 ; } | conf a.conf); add "$f"
	run etmem engine showtaskpages -n p1 -e slide -s "$SOCK"
	assert_failure 186; assert_output --partial "invalid parameters"
	run etmem engine cmd -n nop -e slide -s "$SOCK"
	assert_failure 186; assert_output --partial "project is not exist"
}

@test "L16: a page project with a damon engine does not start" {
	start_daemon
	f=$( { proj p1; printf '[engine]\nname=damon\nproject=p1\nmin_size=0\nmax_size=100\nmin_acc=0\nmax_acc=10\nmin_age=0\nmax_age=10\naction=pageout\n'; } | conf a.conf)
	run add "$f"; assert_success
	run etmem project start -n p1 -s "$SOCK"
	assert_failure 186; assert_output --partial "internal error"
	run etmem project show -n p1 -s "$SOCK"
	refute_output --partial "true"
	grep -q "engine damon has no stage programs" "$T/d.log"
}

@test "P8 (changed on purpose): a relative -f is the client's file" {
	start_daemon
	mkdir -p "$T/d1"
	proj rel > "$T/d1/f.conf"; chmod 600 "$T/d1/f.conf"
	run bash -c "cd '$T/d1' && etmem obj add -f f.conf -s '$SOCK'"
	assert_success
	run etmem project show -s "$SOCK"
	assert_output --partial "project: rel"
}

@test "L17: SIGTERM with started projects exits 0" {
	start_daemon
	f=$(proj p1 | conf a.conf); add "$f"
	etmem project start -n p1 -s "$SOCK"
	kill -TERM "$DPID"
	rc=0; wait "$DPID" || rc=$?
	DPID=
	[ "$rc" -eq 0 ]
}
