#!/usr/bin/env bats
# etmem-rank: decisions from hand-written text streams, compared exactly;
# usage and stream errors with their exit codes; determinism; binary input.

RANK="${ETMEM_BIN:-build/bin}/etmem-rank"
CAT="${ETMEM_BIN:-build/bin}/etmem-cat"

setup() {
	T=$(mktemp -d)
	HDR='ETMR 1 page_size=4096 backend=none host=test start_ns=0'
	# Two rounds. pid 100: 0x10000 idle twice (0), 0x14000 once (1),
	# 0x18000 never (2). pid 200 (THP): 0x200000 idle (0), 0x400000 only
	# seen in round 2, accessed (1), 0x600000 only in round 1, idle (0).
	cat >"$T/s1.txt" <<-EOF
	$HDR
	# a comment line
	ROUND period=1 round=1 loop=2 time_ns=0
	A 100 0x10000 8 4K 0 a
	A 100 0x18000 4 4K 1 a
	A 200 0x200000 1 2M 0 aT
	A 200 0x600000 1 2M 0 aT
	ROUND period=1 round=2 loop=2 time_ns=1
	A 100 0x10000 4 4K 0 a
	A 100 0x14000 8 4K 1 a
	A 200 0x200000 1 2M 0 aT
	A 200 0x400000 1 2M 1 aT
	P 100 start_time=500 rss_kb=1000 swap_kb=0 comm=a
	P 200 start_time=600 rss_kb=8192 swap_kb=0 comm=b
	PERIOD period=1 rounds=2 time_ns=2 mem_total_kb=1000 mem_free_kb=100 mem_available_kb=500 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0
	END status=0
	EOF
}

teardown() {
	rm -rf "$T"
}

# Decision lines only.
decisions() {
	grep '^D ' "$1" || true
}

@test "etmem-rank: slide --help describes the algorithm, exit 0" {
	run "$RANK" slide --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"count >= T is hot"* ]]
	[[ "$output" == *"--dram-percent P"* ]]
	[[ "$output" == *"2 MiB page costs"* ]]
	[[ "$output" == *"512 base pages"* ]]
}

@test "etmem-rank: --help lists the engines, exit 0" {
	run "$RANK" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"slide"* ]]
}

@test "etmem-rank: unknown engine -> 64 with the list of engines" {
	run "$RANK" bogus -T 1
	[ "$status" -eq 64 ]
	[[ "$output" == *"unknown engine 'bogus'"* ]]
	[[ "$output" == *"slide "* ]]
}

@test "etmem-rank: no engine -> 64" {
	run "$RANK"
	[ "$status" -eq 64 ]
}

@test "etmem-rank: slide without -T -> 64" {
	run "$RANK" slide --text <"$T/s1.txt"
	[ "$status" -eq 64 ]
	[[ "$output" == *"-T N"* ]]
}

@test "etmem-rank: bad option values -> 64" {
	run "$RANK" slide -T 1 --swap-threshold 10m </dev/null
	[ "$status" -eq 64 ]
	[[ "$output" == *"--swap-threshold"* ]]
	run "$RANK" slide -T 1 --sysmem-threshold 101 </dev/null
	[ "$status" -eq 64 ]
	run "$RANK" slide -T 1 --swap-flag YES </dev/null
	[ "$status" -eq 64 ]
	run "$RANK" slide -T 1 extra </dev/null
	[ "$status" -eq 64 ]
}

@test "etmem-rank: T=1 swaps only what was idle in every pass" {
	"$RANK" slide -T 1 --text <"$T/s1.txt" >"$T/out"
	decisions "$T/out" >"$T/d"
	cat >"$T/want" <<-EOF
	D 100 0x10000 4 4K swap - start_time=500
	D 200 0x200000 1 2M swap - start_time=600
	D 200 0x600000 1 2M swap - start_time=600
	EOF
	diff -u "$T/want" "$T/d"
}

@test "etmem-rank: T=2 adds the pages accessed once, coldest first" {
	"$RANK" slide -T 2 --text <"$T/s1.txt" >"$T/out"
	decisions "$T/out" >"$T/d"
	cat >"$T/want" <<-EOF
	D 100 0x10000 4 4K swap - start_time=500
	D 200 0x200000 1 2M swap - start_time=600
	D 200 0x600000 1 2M swap - start_time=600
	D 100 0x14000 4 4K swap - score=1 start_time=500
	D 200 0x400000 1 2M swap - score=1 start_time=600
	EOF
	diff -u "$T/want" "$T/d"
}

@test "etmem-rank: T=0 swaps nothing; T=6 (3*loop) everything" {
	"$RANK" slide -T 0 --text <"$T/s1.txt" >"$T/out"
	[ -z "$(decisions "$T/out")" ]
	grep -qx 'S rank 1 pages_hot 15' "$T/out"
	"$RANK" slide -T 6 --text <"$T/s1.txt" >"$T/out"
	grep -qx 'S rank 1 pages_decided 15' "$T/out"
	grep -qx 'D 100 0x18000 4 4K swap - score=2 start_time=500' "$T/out"
}

@test "etmem-rank: period layout is P* D* S* PERIOD, then END" {
	"$RANK" slide -T 1 --text <"$T/s1.txt" >"$T/out"
	kinds=$(grep -v '^ETMR' "$T/out" | cut -c1 | uniq | tr -d '\n')
	[ "$kinds" = "PDSPE" ]
	tail -1 "$T/out" | grep -qx 'END status=0'
	grep -qx 'S rank 1 decisions 3' "$T/out"
}

@test "etmem-rank: --sysmem-threshold gates on MemFree of the PERIOD" {
	# MemFree 10% of MemTotal: 10 >= 10 -> no pressure, nothing
	"$RANK" slide -T 1 --sysmem-threshold 10 --text <"$T/s1.txt" >"$T/out"
	[ -z "$(decisions "$T/out")" ]
	grep -qx 'S rank 1 pids_gated 2' "$T/out"
	# 11: under pressure; swap_threshold 0 fallback lets both pids act
	"$RANK" slide -T 1 --sysmem-threshold 11 --text <"$T/s1.txt" >"$T/out"
	[ "$(decisions "$T/out" | wc -l)" -eq 3 ]
}

@test "etmem-rank: --dram-percent budget counts a 2M page as 512 pages" {
	# pid 200: keep 8192/100*50 = 4050 kB; budget 4142 kB = 1035 pages =
	# both cold THPs of count 0 but not the count-1 one
	"$RANK" slide -T 2 --dram-percent 50 --text <"$T/s1.txt" >"$T/out"
	decisions "$T/out" | grep '^D 200' >"$T/d"
	cat >"$T/want" <<-EOF
	D 200 0x200000 1 2M swap - start_time=600
	D 200 0x600000 1 2M swap - start_time=600
	EOF
	diff -u "$T/want" "$T/d"
}

@test "etmem-rank: T out of range for the stream's loop -> 65 naming T, loop, line" {
	run "$RANK" slide -T 7 --text <"$T/s1.txt"
	[ "$status" -eq 65 ]
	[[ "$output" == *"T=7"* ]]
	[[ "$output" == *"loop=2"* ]]
	[[ "$output" == *"line 3"* ]]
}

@test "etmem-rank: malformed stream -> 65" {
	printf '%s\nROUND period=1 round=1 loop=1 time_ns=0\nA 1 0x1000 zz 4K 0 a\n' "$HDR" >"$T/bad"
	run "$RANK" slide -T 1 --text <"$T/bad"
	[ "$status" -eq 65 ]
	printf 'ETMR\001\000garbage-garbage-garbage-garbage' >"$T/bad2"
	run "$RANK" slide -T 1 <"$T/bad2"
	[ "$status" -eq 65 ]
}

@test "etmem-rank: ACCESS before any ROUND -> 65" {
	printf '%s\nA 1 0x1000 1 4K 0 a\n' "$HDR" >"$T/bad"
	run "$RANK" slide -T 1 --text <"$T/bad"
	[ "$status" -eq 65 ]
	[[ "$output" == *"before any ROUND"* ]]
}

@test "etmem-rank: same input twice -> identical bytes" {
	"$RANK" slide -T 2 <"$T/s1.txt" >"$T/o1"
	"$RANK" slide -T 2 <"$T/s1.txt" >"$T/o2"
	cmp "$T/o1" "$T/o2"
	[ -s "$T/o1" ]
}

@test "etmem-rank: binary and text input give identical decisions" {
	[ -x "$CAT" ] || skip "etmem-cat not built"
	"$CAT" -b <"$T/s1.txt" >"$T/s1.etmr"
	"$RANK" slide -T 2 --text <"$T/s1.etmr" >"$T/ob"
	"$RANK" slide -T 2 --text <"$T/s1.txt" >"$T/ot"
	diff -u "$T/ot" "$T/ob"
	[ "$(decisions "$T/ob" | wc -l)" -eq 5 ]
}

@test "etmem-rank: periods are decided independently" {
	{ cat "$T/s1.txt" | grep -v '^END'
	  echo 'ROUND period=2 round=1 loop=1 time_ns=5'
	  echo 'A 100 0x10000 1 4K 1 a'
	  echo 'A 100 0x11000 1 4K 0 a'
	  echo 'PERIOD period=2 rounds=1 time_ns=6 mem_total_kb=1000 mem_free_kb=100 mem_available_kb=500 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0'
	} >"$T/s2.txt"
	"$RANK" slide -T 1 --text <"$T/s2.txt" >"$T/out"
	[ "$(grep -c '^PERIOD' "$T/out")" -eq 2 ]
	# period 2 knows nothing of period 1's pages; no PROC item: unchecked identity
	sed -n '/period=1 rounds=2/,$p' "$T/out" | grep '^D' >"$T/d"
	echo 'D 100 0x11000 1 4K swap -' | diff -u - "$T/d"
}

@test "etmem-rank: SIGTERM ends cleanly with END, exit 0" {
	mkfifo "$T/fifo"
	"$RANK" slide -T 1 --text <"$T/fifo" >"$T/out" 2>"$T/err" &
	pid=$!
	exec 5>"$T/fifo"
	grep -v '^END' "$T/s1.txt" >&5
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	exec 5>&-
	[ "$rc" -eq 0 ]
	tail -1 "$T/out" | grep -qx 'END status=0'
	grep -q '^D 100 0x10000 4 4K swap' "$T/out"
}

@test "etmem-rank: --control-fd: HELLO, STATS of the last period, STOP ends after the period" {
	command -v python3 >/dev/null || skip "python3 not installed"
	grep -v '^END' "$T/s1.txt" >"$T/p1"
	run env PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$BATS_TEST_DIRNAME/../lib" python3 - "$RANK" "$T/p1" "$T/out" <<-'PY'
	import sys, time
	from ctl_peer import Peer, STATS, END, TEXT, text_of
	rank, p1, outp = sys.argv[1:4]
	p = Peer([rank, "slide", "-T", "1", "--text"], out=outp, stdin=True)
	p.expect_hello("etmem-rank")
	p.write_stdin(open(p1, "rb").read())
	time.sleep(0.3)
	p.send(STATS, seq=7)              # STATS, served between frames
	p.write_stdin(b"ROUND period=2 round=1 loop=1 time_ns=5\n")
	reply = p.reply(7)
	assert reply[-1][0] == END and all(f[0] == TEXT for f in reply[:-1]), reply
	print(text_of(reply))
	p.send_stop(seq=8)                # STOP: finish period 2, then END
	p.write_stdin(b"A 100 0x11000 1 4K 0 a\n")
	time.sleep(0.3)
	p.write_stdin(b"PERIOD period=2 rounds=1 time_ns=6 mem_total_kb=1000 mem_free_kb=100 mem_available_kb=500 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0\n")
	rc = p.wait(timeout=10)          # stdin still open: STOP ended it
	print("rc", rc)
	PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"period 1"* ]]
	[[ "$output" == *"pages_cold 6"* ]]
	[[ "$output" == *"decisions 3"* ]]
	[[ "$output" == *"rc 0"* ]]
	[ "$(grep -c '^PERIOD' "$T/out")" -eq 2 ]
	tail -1 "$T/out" | grep -qx 'END status=0'
}

@test "etmem-rank: holes and swapped extents are not ranked; a pid's last PROC item counts" {
	cat >"$T/s3.txt" <<-EOF
	$HDR
	ROUND period=1 round=1 loop=1 time_ns=0
	A 7 0x10000 2 4K 0 ah
	A 7 0x20000 2 4K 0 as
	A 7 0x30000 2 4K 0 a
	P 7 start_time=1 rss_kb=1 swap_kb=0 comm=old
	P 7 start_time=2 rss_kb=1 swap_kb=0 comm=new
	PERIOD period=1 rounds=1 time_ns=2 mem_total_kb=1000 mem_free_kb=100 mem_available_kb=500 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0
	EOF
	"$RANK" slide -T 1 --text <"$T/s3.txt" >"$T/out"
	decisions "$T/out" >"$T/d"
	echo 'D 7 0x30000 2 4K swap - start_time=2' | diff -u - "$T/d"
	[ "$(grep -c '^P 7' "$T/out")" -eq 2 ]
}

@test "etmem-rank: binary stream errors name the byte offset" {
	[ -x "$CAT" ] || skip "etmem-cat not built"
	"$CAT" -b <"$T/s1.txt" >"$T/s1.etmr"
	run "$RANK" slide -T 9 <"$T/s1.etmr"
	[ "$status" -eq 65 ]
	[[ "$output" == *"T=9"* ]]
	[[ "$output" == *"byte offset "* ]]
	head -c 100 "$T/s1.etmr" >"$T/trunc.etmr"
	run "$RANK" slide -T 1 <"$T/trunc.etmr"
	[ "$status" -eq 65 ]
}

@test "etmem-rank: a ROUND whose loop differs from its period's -> 65 naming both" {
	printf '%s\nROUND period=1 round=1 loop=2 time_ns=0\nA 1 0x1000 1 4K 0 a\nROUND period=1 round=2 loop=3 time_ns=1\n' "$HDR" >"$T/bad"
	run "$RANK" slide -T 1 --text <"$T/bad"
	[ "$status" -eq 65 ]
	[[ "$output" == *"line 4 has loop=3"* ]]
	[[ "$output" == *"line 2 has loop=2"* ]]
}
