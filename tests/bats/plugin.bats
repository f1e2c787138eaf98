#!/usr/bin/env bats
# etmem-rank plugin and exec: third-party ranking engines. The example
# plugin (examples/plugin-coldest) loads, sees its keys, and its decisions
# come out exactly; a private command through the control fd (python3 plays
# the supervisor) gets the plugin's reply; bad libraries are refused with
# the documented exit code and message; exec engines end to end, and an exec
# engine that answers garbage stops the run before the migrator sees any of
# that period.

RANK="${ETMEM_BIN:-build/bin}/etmem-rank"
MIG="${ETMEM_BIN:-build/bin}/etmem-migrate"
SCAN="${ETMEM_BIN:-build/bin}/etmem-scan"
CAT="${ETMEM_BIN:-build/bin}/etmem-cat"
WORKLOAD="${ETMEM_TESTBIN:-build/tests}/workload"
SRC="$BATS_TEST_DIRNAME/../.."
bats_require_minimum_version 1.5.0

# No decision line in $output.
no_decisions() { ! printf '%s\n' "$output" | grep -q '^D '; }

setup() {
	T=$(mktemp -d)
	chmod 0700 "$T"
	# The make-built example (examples/examples.mk), or built here.
	built="${ETMEM_BIN:-build/bin}/../examples/plugin-coldest.so"
	if [ -f "$built" ]; then
		cp "$built" "$T/coldest.so"
	else
		cc -std=c11 -Wall -Wextra -Werror -I"$SRC/include" -fPIC -shared \
		    -o "$T/coldest.so" "$SRC/examples/plugin-coldest/coldest.c"
	fi
	chown 0:0 "$T/coldest.so"
	chmod 0700 "$T/coldest.so"
	PERIOD1='PERIOD period=1 rounds=2 time_ns=0 mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0'
	PERIOD2='PERIOD period=2 rounds=2 time_ns=0 mem_total_kb=0 mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0'
	# pid 100: 0x10000 idle in both rounds (0), 0x20000 touched once (1);
	# pid 200: 8 pages idle; 2M page of pid 200 touched in round 2.
	cat >"$T/p1.txt" <<-EOF
	ETMR 1 page_size=4096 backend=none host=t start_ns=0
	ROUND period=1 round=1 loop=2 time_ns=0
	A 100 0x10000 4 4K 0 a
	A 100 0x20000 2 4K 1 a
	A 200 0x40000 8 4K 0 a
	A 200 0x200000 1 2M 0 aT
	ROUND period=1 round=2 loop=2 time_ns=0
	A 100 0x10000 4 4K 0 a
	A 100 0x20000 2 4K 0 a
	A 200 0x40000 8 4K 0 a
	A 200 0x200000 1 2M 1 aT
	P 100 start_time=555 rss_kb=100 swap_kb=0 comm=a
	P 200 start_time=666 rss_kb=100 swap_kb=0 comm=b
	$PERIOD1
	EOF
	{ cat "$T/p1.txt"; echo 'END status=0'; } >"$T/s1.txt"
	# Two periods, for the exec protocol across periods.
	{
		cat "$T/p1.txt"
		echo 'ROUND period=2 round=1 loop=2 time_ns=0'
		echo 'A 100 0x10000 4 4K 1 a'
		echo 'A 300 0x80000 16 4K 0 a'
		echo 'ROUND period=2 round=2 loop=2 time_ns=0'
		echo 'A 100 0x10000 4 4K 1 a'
		echo 'A 300 0x80000 16 4K 0 a'
		echo 'P 300 start_time=777 rss_kb=100 swap_kb=0 comm=c'
		echo "$PERIOD2"
		echo 'END status=0'
	} >"$T/s2.txt"
}

teardown() {
	[ -n "${WP:-}" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null
	rm -rf "$T"
}

# A tiny plugin with ABI version $1 exporting `tiny_ops`.
tiny_plugin() {
	cat >"$T/tiny.c" <<-EOF
	#include "etmem/plugin.h"
	static int period(void *p, const struct etmem_plugin_period *pp,
	    const struct etmem_plugin_host *h) { (void)p; (void)pp; (void)h; return 0; }
	const struct etmem_plugin_ops tiny_ops = { .abi_version = $1,
	    .size = sizeof(struct etmem_plugin_ops), .name = "tiny", .period = period };
	EOF
	cc -std=c11 -I"$SRC/include" -fPIC -shared -o "$2" "$T/tiny.c"
	chmod 0700 "$2"
}

@test "plugin: --help documents the checks and exit codes; both engines are listed" {
	run "$RANK" plugin --help
	[ "$status" -eq 0 ]
	[[ $output == *"--lib PATH"* && $output == *"--engine-key K=V"* && $output == *"--task-key K=V"* ]]
	[[ $output == *"77 owner"* && $output == *"69 ABI version"* ]]
	run "$RANK" exec --help
	[ "$status" -eq 0 ]
	[[ $output == *"--command CMD"* ]]
	run "$RANK" --help
	[[ $output == *"plugin "* && $output == *"exec "* ]]
}

@test "plugin: the example loads, sees its keys, its decisions come out exactly" {
	run --separate-stderr "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops \
	    --engine-key threshold=0 --task-key max_pages=5 --text < "$T/s1.txt"
	[ "$status" -eq 0 ]
	[[ $stderr == *"plugin/coldest: keys: engine:threshold=0 task:max_pages=5"* ]]
	# pid 100: the idle 4 pages (0x20000 was touched); pid 200: 5 of its
	# 8 idle pages (budget 5), and not the 2M page (it does not fit).
	diff -u <(printf '%s\n' "$output" | grep -E '^(D|S rank 1 coldest)') - <<-EOF
	D 100 0x10000 4 4K swap - start_time=555
	D 200 0x40000 5 4K swap - start_time=666
	S rank 1 coldest_pages 9
	EOF
	[[ $output == *"$PERIOD1"* && $output == *"END status=0"* ]]
	# Without the budget, the threshold key counts: 1 takes the pages
	# touched once too. The ranker orders by score (colder first).
	run --separate-stderr "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops \
	    --engine-key threshold=1 --text < "$T/s1.txt"
	[ "$status" -eq 0 ]
	diff -u <(printf '%s\n' "$output" | grep '^D') - <<-EOF
	D 100 0x10000 4 4K swap - start_time=555
	D 200 0x40000 8 4K swap - start_time=666
	D 100 0x20000 2 4K swap - score=1 start_time=555
	D 200 0x200000 1 2M swap - score=1 start_time=666
	EOF
}

@test "plugin: a key the plugin refuses -> 78; a malformed key -> 64" {
	run "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops --task-key max_pages=lots --text < "$T/s1.txt"
	[ "$status" -eq 78 ]
	[[ $output == *"max_pages=lots: not a number"* && $output == *"refused its keys"* ]]
	run "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops --engine-key novalue < "$T/s1.txt"
	[ "$status" -eq 64 ]
	[[ $output == *"--engine-key 'novalue': expected KEY=VALUE"* ]]
}

@test "plugin: a private command through the control fd gets the plugin's reply" {
	cat >"$T/sup.py" <<-'EOF'
	# Plays etmemd-supervisor: HELLO, then PLUGIN_CMD frames, one per
	# argument, each followed by a ROUND line so the ranker's loop turns.
	import struct, sys
	from ctl_peer import Peer, PLUGIN_CMD, TEXT, END, ERROR
	rank, lib, stream, out, cmds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
	p = Peer([rank, "plugin", "--lib", lib, "--ops", "coldest_ops",
	    "--engine-key", "threshold=0", "--task-key", "max_pages=5", "--text"],
	    out=out, stdin=True)
	p.expect_hello("etmem-rank")
	p.write_stdin(open(stream, "rb").read())
	# Commands after the period is out, so `stats` has something to count.
	p.wait_output("PERIOD")
	for seq, cmd in enumerate(cmds, 1):
	    p.send(PLUGIN_CMD, cmd, seq=seq)
	    p.write_stdin(b"ROUND period=2 round=1 loop=2 time_ns=0\n")
	    for t, s, data in p.reply(seq, other_seq="skip"):  # STATS and such are not ours
	        if t == TEXT:
	            print("TEXT " + data.decode().replace("\n", "|"))
	        elif t == END:
	            print("END %d" % struct.unpack("<I", data)[0])
	        elif t == ERROR:
	            print("ERROR " + data.decode())
	p.write_stdin(b"END status=0\n")
	p.close_stdin()
	sys.exit(p.wait())
	EOF
	run env PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$BATS_TEST_DIRNAME/../lib" python3 "$T/sup.py" "$RANK" "$T/coldest.so" "$T/p1.txt" "$T/out" keys stats fail
	[ "$status" -eq 0 ]
	diff -u <(printf '%s\n' "$output" | grep -E '^(TEXT|END|ERROR)') - <<-EOF
	TEXT engine:threshold=0 task:max_pages=5|
	END 1
	TEXT periods 1|pages 9|
	END 1
	TEXT failing on purpose|
	ERROR plugin coldest: command 'fail' failed (1)
	EOF
}

@test "plugin: wrong owner -> 77, nothing written" {
	chown nobody "$T/coldest.so"
	run --separate-stderr "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops --text < "$T/s1.txt"
	[ "$status" -eq 77 ]
	[ -z "$output" ]
	[[ $stderr == *"plugin '$T/coldest.so' is owned by 65534:0, not root:root"* ]]
}

@test "plugin: wrong mode (0755) -> 77" {
	chmod 0755 "$T/coldest.so"
	run "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 77 ]
	[[ $output == *"has mode 0755, not 0700 or 0500"* ]]
	chmod 0500 "$T/coldest.so"
	run "$RANK" plugin --lib "$T/coldest.so" --ops coldest_ops --text < "$T/s1.txt"
	[ "$status" -eq 0 ]
}

@test "plugin: a group- or other-writable directory on the path -> 77" {
	mkdir -p "$T/lib/sub"
	cp -p "$T/coldest.so" "$T/lib/sub/coldest.so"
	chmod 0775 "$T/lib"
	run "$RANK" plugin --lib "$T/lib/sub/coldest.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 77 ]
	[[ $output == *"directory '$T/lib' of plugin '$T/lib/sub/coldest.so' is writable by its group"* ]]
	chmod 0757 "$T/lib"
	run "$RANK" plugin --lib "$T/lib/sub/coldest.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 77 ]
	[[ $output == *"is writable by others"* ]]
	chmod 0755 "$T/lib"; chown nobody "$T/lib/sub"
	run "$RANK" plugin --lib "$T/lib/sub/coldest.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 77 ]
	[[ $output == *"directory '$T/lib/sub' of plugin"*"owned by uid 65534"* ]]
	# A symlink is followed to the real path, and that path is checked.
	chown root "$T/lib/sub"; chmod 0777 "$T/lib/sub"
	ln -s "$T/lib/sub/coldest.so" "$T/link.so"
	run "$RANK" plugin --lib "$T/link.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 77 ]
	[[ $output == *"directory '$T/lib/sub'"* ]]
}

@test "plugin: relative path -> 64; no such file -> 66; no --lib or --ops -> 64" {
	cd "$T"
	run "$RANK" plugin --lib coldest.so --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 64 ]
	[[ $output == *"--lib 'coldest.so' is not an absolute path"* ]]
	run "$RANK" plugin --lib "$T/none.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 66 ]
	[[ $output == *"cannot resolve plugin '$T/none.so'"* ]]
	run "$RANK" plugin --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 64 ]
	[[ $output == *"--lib PATH is required"* ]]
	run "$RANK" plugin --lib "$T/coldest.so" < "$T/s1.txt"
	[ "$status" -eq 64 ]
	[[ $output == *"--ops SYMBOL is required"* ]]
}

@test "plugin: missing symbol -> 65; not a shared object -> 65" {
	run "$RANK" plugin --lib "$T/coldest.so" --ops no_such_ops < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"plugin '$T/coldest.so' has no symbol 'no_such_ops'"* ]]
	printf 'not an ELF\n' > "$T/text.so"
	chmod 0700 "$T/text.so"
	run "$RANK" plugin --lib "$T/text.so" --ops coldest_ops < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"cannot load plugin '$T/text.so'"* ]]
}

@test "plugin: ABI version mismatch -> 69; the right version loads" {
	tiny_plugin 999 "$T/v999.so"
	run --separate-stderr "$RANK" plugin --lib "$T/v999.so" --ops tiny_ops --text < "$T/s1.txt"
	[ "$status" -eq 69 ]
	[ -z "$output" ]
	[[ $stderr == *"was built for ABI version 999; this etmem-rank speaks 1..1"* ]]
	tiny_plugin 0 "$T/v0.so"
	run "$RANK" plugin --lib "$T/v0.so" --ops tiny_ops < "$T/s1.txt"
	[ "$status" -eq 69 ]
	tiny_plugin ETMEM_PLUGIN_ABI_VERSION "$T/v1.so"
	run "$RANK" plugin --lib "$T/v1.so" --ops tiny_ops --text < "$T/s1.txt"
	[ "$status" -eq 0 ]
	no_decisions
	[[ $output == *"END status=0"* ]]
}

@test "exec: the example script's decisions, then migrate --dry-run accepts them" {
	run --separate-stderr "$RANK" exec --command "python3 '$SRC/examples/exec-engine.py' --max-pages 5" \
	    --text < "$T/s2.txt"
	[ "$status" -eq 0 ]
	diff -u <(printf '%s\n' "$output" | grep '^D') - <<-EOF
	D 100 0x10000 4 4K swap - start_time=555
	D 200 0x40000 5 4K swap - start_time=666
	D 300 0x80000 5 4K swap - start_time=777
	EOF
	[ "$(printf '%s\n' "$output" | grep -c '^PERIOD')" -eq 2 ]
}

@test "exec: a program that is itself a ranker gives the built-in's decisions" {
	run "$RANK" slide -T 1 --text < "$T/s2.txt"
	[ "$status" -eq 0 ]
	want=$(printf '%s\n' "$output" | grep '^D')
	[ -n "$want" ]
	run --separate-stderr "$RANK" exec --command "'$RANK' slide -T 1 --text" --text < "$T/s2.txt"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep '^D')" = "$want" ]
	[ -z "$stderr" ]     # the program ended cleanly on END
}

@test "exec: smaps scan of a workload -> exec engine -> etmem-migrate swap --dry-run" {
	"$WORKLOAD" --hot 4 --cold 16 --ready-file "$T/ready" >/dev/null &
	WP=$!
	for _ in $(seq 100); do [ -f "$T/ready" ] && break; sleep 0.05; done
	l=$(cat "$T/ready")
	[[ $l =~ pid=([0-9]+)\ hot=(0x[0-9a-f]+)-(0x[0-9a-f]+)\ cold=(0x[0-9a-f]+)-(0x[0-9a-f]+) ]]
	cold_s=${BASH_REMATCH[4]} cold_e=${BASH_REMATCH[5]} hot_s=${BASH_REMATCH[2]}
	"$SCAN" --backend smaps -p "$WP" --loop 2 --interval 0.2 --periods 1 --text > "$T/cap.txt"
	"$RANK" exec --command "python3 '$SRC/examples/exec-engine.py'" < "$T/cap.txt" > "$T/dec.etmr"
	run "$CAT" --text "$T/dec.etmr"
	[ "$status" -eq 0 ]
	# The cold region is one decision of all its pages; the hot one is not.
	[[ $output == *"D $WP $cold_s $(( (cold_e - cold_s) / 4096 )) 4K swap -"* ]]
	[[ $output != *"D $WP $hot_s "* ]]
	before=$(awk '/^VmSwap:/ { print $2 }' "/proc/$WP/status")
	run "$MIG" swap --dry-run --text < "$T/dec.etmr"
	[ "$status" -eq 0 ]
	[[ $output == *"END status=0"* ]]
	[ "$(awk '/^VmSwap:/ { print $2 }' "/proc/$WP/status")" = "$before" ]
}

@test "exec: garbage from the program -> 65 naming the line, nothing reaches the migrator" {
	run --separate-stderr bash -c "'$RANK' exec --command 'echo garbage; cat >/dev/null' < '$T/s1.txt' |
	    '$CAT' --text"
	[[ $stderr == *"exec engine output:1: unknown line kind 'garbage'"* ]]
	no_decisions
	[[ $output == *"END status=65"* ]]
	run "$RANK" exec --command 'echo garbage; cat >/dev/null' < "$T/s1.txt"
	[ "$status" -eq 65 ]
}

@test "exec: binary garbage after a good header -> 65 naming the byte offset" {
	printf 'ETMR 1 page_size=4096 backend=none host=t start_ns=0\nEND status=0\n' |
	    "$CAT" --binary > "$T/good.etmr"
	hdr=$(( $(stat -c %s "$T/good.etmr") - 16 ))   # END frame: 8 + 8 bytes
	head -c "$hdr" "$T/good.etmr" > "$T/bad.etmr"
	printf '\x06\x00\x00\x00\xff\xff\xff\x7f' >> "$T/bad.etmr"   # DECISION, huge length
	run --separate-stderr "$RANK" exec --command "cat '$T/bad.etmr'; cat >/dev/null" --text < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $stderr == *"exec engine output"*"byte"*"$hdr"* ]]
	no_decisions
	[[ $output == *"END status=65"* ]]
}

@test "exec: wrong items, unknown pids, a wrong or missing PERIOD -> 65" {
	run "$RANK" exec --command 'printf "D 100 0x10000 1 4K swap -\nA 100 0x10000 1 4K 0 a\n"; cat >/dev/null' \
	    --text < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"exec engine output at line 2: a ACCESS frame; only D, P, S and PERIOD may come back"* ]]
	run "$RANK" exec --command 'printf "D 999 0x10000 1 4K swap -\n"; cat >/dev/null' --text < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"decision pid 999 0x10000+1: pid is not in this period's stream"* ]]
	run "$RANK" exec --command 'printf "D 100 0x10001 1 4K swap -\n"; cat >/dev/null' --text < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"start 0x10001 is not aligned to 4K"* ]]
	run "$RANK" exec --command "printf '%s\n' '${PERIOD2}'; cat >/dev/null" --text < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"PERIOD 2, expected PERIOD 1"* ]]
	run "$RANK" exec --command 'true' --text < "$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ $output == *"ended its output before PERIOD 1"* ]]
	run "$RANK" exec < "$T/s1.txt"
	[ "$status" -eq 64 ]
	[[ $output == *"--command CMD is required"* ]]
}
