#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# etmem-cat: conversion between the ETMR forms is lossless, and every class
# of malformed input is refused with exit 65 and a message naming the byte
# offset (or line) and the frame type.

CAT="${ETMEM_BIN:+$ETMEM_BIN/}etmem-cat"

# le WIDTH VALUE: VALUE as WIDTH little-endian bytes on stdout.
le() {
	local w=$1 v=$2 i s=
	for ((i = 0; i < w; i++)); do
		s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
	done
	printf '%b' "$s"
}

# frame TYPE LEN: a frame header.
frame() { le 2 "$1"; le 2 0; le 4 "$2"; }

# access START NPAGES FLAGS SIZE: one 40-byte ACCESS item.
access() {
	le 8 "$1"; le 8 "$2"; le 4 7; le 4 1; le 4 0; le 4 "$3"
	le 2 65535; le 1 "$4"; le 1 0; le 4 0
}

# decision START ACTION: one 40-byte DECISION item (4K, one page).
decision() {
	le 8 "$1"; le 8 1; le 8 0; le 4 7; le 4 0; le 2 65535; le 1 0; le 1 "$2"; le 4 0
}

endf() { frame 8 8; le 8 0; }

setup() {
	T=$(mktemp -d)
	cat >"$T/canon.txt" <<'EOF'
ETMR 1 page_size=4096 backend=smaps host=hh start_ns=1700000000000000000
V 42 0x7f0000000000 0x7f0000400000 rw-p 4K aw node=0
V 42 0x7f0000600000 0x7f0000800000 r-xs 2M fS
ROUND period=1 round=1 loop=1 time_ns=5
A 42 0x7f0000000000 16 4K 1 ad
A 42 0x7f0000010000 1 4K 0 i age=3 node=1
A 42 0x7f0000600000 1 2M 3 aT
P 42 start_time=123 rss_kb=8 swap_kb=0 comm=my%20prog
S scan 1 pages_scanned 17
PERIOD period=1 rounds=1 time_ns=9 mem_total_kb=1 mem_free_kb=2 mem_available_kb=3 swap_cached_kb=4 swap_total_kb=5 swap_free_kb=6
D 42 0x7f0000000000 16 4K swap - score=5 start_time=123
D 42 0x7f0000600000 1 2M demote 1
END status=0
EOF
	"$CAT" --binary "$T/canon.txt" >"$T/canon.bin"
	# The 34-byte binary header (host "hh") for hand-built streams.
	head -c 34 "$T/canon.bin" >"$T/hdr"
}

teardown() {
	rm -rf "$T"
}

# expect_bad FILE WORDS...: exit 65 and stderr holding every WORDS.
expect_bad() {
	local f=$1 w
	shift
	run "$CAT" "$f"
	[ "$status" -eq 65 ] || { echo "status $status: $output"; return 1; }
	for w in "$@"; do
		[[ "$output" == *"$w"* ]] || { echo "missing '$w' in: $output"; return 1; }
	done
}

@test "canonical text -> binary -> text is identical" {
	"$CAT" "$T/canon.bin" >"$T/back.txt"
	cmp "$T/canon.txt" "$T/back.txt"
}

@test "binary -> text -> binary is byte-identical, also for many batches" {
	{
		echo "ETMR 1 page_size=4096 backend=damon host=h start_ns=3"
		echo "ROUND period=1 round=1 loop=1 time_ns=1"
		for i in $(seq 0 2999); do printf 'A 9 0x%x 1 4K %d -\n' $((0x10000000 + i * 4096)) $((i % 4)); done
		echo "P 9 start_time=1 rss_kb=1 swap_kb=0 comm=x"
		echo "END status=2"
	} >"$T/many.txt"
	"$CAT" --binary "$T/many.txt" >"$T/many.bin"
	"$CAT" "$T/many.bin" | "$CAT" --binary >"$T/many2.bin"
	cmp "$T/many.bin" "$T/many2.bin"
	# 3000 items: frames of 1024, 1024 and 952 items; the first ACCESS
	# frame follows the 33-byte header (host "h") and the ROUND frame.
	run "$CAT" --check "$T/many.bin"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ACCESS 3000"* ]]
	[ "$(od -An -tu4 -j $((33 + 8 + 24 + 4)) -N4 "$T/many.bin" | tr -d ' ')" -eq $((1024 * 40)) ]
}

@test "binary output is little-endian, field by field" {
	# The header: magic, version 1, hdr_len 34, page size 4096, backend 4.
	[ "$(head -c 16 "$T/canon.bin" | od -An -tx1 | tr -d ' \n')" = \
	    "45544d52010022000010000004000200" ]
	# The first frame: VMA (2), flags 0, length 2 * 32.
	[ "$(od -An -tx1 -j 34 -N 8 "$T/canon.bin" | tr -d ' \n')" = "0200000040000000" ]
}

@test "--check validates quietly and counts per frame type" {
	run "$CAT" --check "$T/canon.bin" "$T/canon.txt"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$T/canon.bin: ok, binary: PROC 1, VMA 2, ROUND 1, ACCESS 3, PERIOD 1, DECISION 2, STAT 1, END 1" ]
	[ "${lines[1]}" = "$T/canon.txt: ok, text: PROC 1, VMA 2, ROUND 1, ACCESS 3, PERIOD 1, DECISION 2, STAT 1, END 1" ]
	[ -z "$("$CAT" --check "$T/canon.bin" 2>/dev/null)" ]
}

@test "inputs are joined into one stream with one END" {
	"$CAT" "$T/canon.bin" "$T/canon.txt" >"$T/two.txt"
	[ "$(grep -c '^END' "$T/two.txt")" -eq 1 ]
	[ "$(grep -c '^A ' "$T/two.txt")" -eq 6 ]
	[ "$(grep -c '^ETMR' "$T/two.txt")" -eq 1 ]
}

@test "hand-written text without header or END gets defaults" {
	printf '# a comment\n\nA 1 0x1000 2 4K 1 a\n' | "$CAT" >"$T/out.txt"
	run sed -n 1p "$T/out.txt"
	[[ "$output" == "ETMR 1 page_size=$(getconf PAGESIZE) backend=none host="* ]]
	[ "$(sed -n 2p "$T/out.txt")" = "A 1 0x1000 2 4K 1 a" ]
	[ "$(sed -n 3p "$T/out.txt")" = "END status=0" ]
	# Empty input is an empty text stream.
	run "$CAT" --check </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"<stdin>: ok, text: PROC 0"* ]]
}

@test "an unknown frame type is skipped" {
	{ cat "$T/hdr"; frame 77 5; printf 'abcde'; frame 4 40; access 0x1000 1 0 0; endf; } >"$T/u.bin"
	run "$CAT" "$T/u.bin"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "A 7 0x1000 1 4K 1 -" ]
	[ "${lines[2]}" = "END status=0" ]
}

@test "bad: unsupported version" {
	{ printf 'ETMR'; le 2 7; tail -c +7 "$T/canon.bin"; } >"$T/b"
	expect_bad "$T/b" "$T/b: byte 4: header" "unsupported version 7"
}

@test "bad: header length inconsistent with the host name" {
	{ head -c 6 "$T/hdr"; le 2 40; tail -c +9 "$T/canon.bin"; } >"$T/b"
	expect_bad "$T/b" "byte 6: header" "header length 40"
}

@test "bad: page size not a power of two in 4096..65536" {
	{ head -c 8 "$T/hdr"; le 4 12288; tail -c +13 "$T/canon.bin"; } >"$T/b"
	expect_bad "$T/b" "byte 8: header" "page size 12288"
}

@test "bad: truncated header" {
	head -c 20 "$T/canon.bin" >"$T/b"
	expect_bad "$T/b" "byte 20: header" "truncated header"
}

@test "bad: truncated frame header" {
	{ cat "$T/hdr"; frame 4 40 | head -c 5; } >"$T/b"
	expect_bad "$T/b" "byte 34: ACCESS frame" "truncated frame header"
}

@test "bad: truncated payload" {
	{ cat "$T/hdr"; frame 4 80; access 0x1000 1 0 0; } >"$T/b"
	expect_bad "$T/b" "byte 34: ACCESS frame" "truncated payload (40 of 80 bytes)"
}

@test "bad: item frame length not a multiple of the item size" {
	{ cat "$T/hdr"; frame 4 1001; head -c 1001 /dev/zero; endf; } >"$T/b"
	expect_bad "$T/b" "byte 34: ACCESS frame" "length 1001 is not a non-zero multiple of 40"
}

@test "bad: marker length not its size" {
	{ cat "$T/hdr"; frame 5 60; head -c 60 /dev/zero; endf; } >"$T/b"
	expect_bad "$T/b" "byte 34: PERIOD frame" "length 60 is not 64"
}

@test "bad: oversized frame length" {
	{ cat "$T/hdr"; frame 6 $((2 << 20)); } >"$T/b"
	expect_bad "$T/b" "byte 34: DECISION frame" "exceeds the frame limit"
}

@test "bad: binary stream without END" {
	head -c $(($(stat -c %s "$T/canon.bin") - 16)) "$T/canon.bin" >"$T/b"
	expect_bad "$T/b" "without END frame"
}

@test "bad: page size class, flags, npages, alignment, overflow in items" {
	{ cat "$T/hdr"; frame 4 80; access 0x1000 1 0 0; access 0x2000 1 0 5; endf; } >"$T/b"
	expect_bad "$T/b" "byte 82: ACCESS frame: item 1" "bad page size class 5"
	{ cat "$T/hdr"; frame 4 40; access 0x1000 1 0x4000 0; endf; } >"$T/b"
	expect_bad "$T/b" "byte 42: ACCESS frame" "unknown flag bits 0x4000"
	{ cat "$T/hdr"; frame 4 40; access 0x1000 0 0 0; endf; } >"$T/b"
	expect_bad "$T/b" "byte 42: ACCESS frame" "npages is 0"
	{ cat "$T/hdr"; frame 4 40; access 0x1000 1 0 1; endf; } >"$T/b"
	expect_bad "$T/b" "byte 42: ACCESS frame" "not aligned to 2M"
	{ cat "$T/hdr"; frame 4 40; access $((0x7ffffffffffff000)) $((0x7fffffffffffffff)) 0 0; endf; } >"$T/b"
	expect_bad "$T/b" "byte 42: ACCESS frame" "overflows"
}

@test "bad: decision action" {
	{ cat "$T/hdr"; frame 6 40; decision 0x1000 9; endf; } >"$T/b"
	expect_bad "$T/b" "byte 42: DECISION frame" "bad action 9"
}

@test "bad: garbage is refused as text with its line" {
	printf 'hello world\n' >"$T/b"
	expect_bad "$T/b" "$T/b:1:" "unknown line kind 'hello'"
	head -c 3000 /dev/urandom | tr -d '\n' | tr '\0' x >"$T/b"
	run "$CAT" "$T/b"
	[ "$status" -eq 65 ]
	[[ "$output" == *"$T/b:1:"* ]]
}

@test "bad text: line number and line kind" {
	printf 'A 1 0x1000 1 4K 0 -\n\n# c\nD 1 0x1000 1 4K nuke -\n' >"$T/b"
	expect_bad "$T/b" "$T/b:4: DECISION line" "bad action 'nuke'"
	printf 'S scan 1 Bad 1\n' >"$T/b"
	expect_bad "$T/b" ":1: STAT line" "bad stat key"
	printf 'A 1 0x1001 1 4K 0 -\n' >"$T/b"
	expect_bad "$T/b" ":1: ACCESS line" "not aligned to 4K"
}

@test "usage: --help, a bad flag, conflicting forms, a missing file" {
	run "$CAT" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: etmem-cat "* ]]
	[[ "$output" == *"--check"* ]]
	run "$CAT" --frobnicate
	[ "$status" -eq 64 ]
	[[ "$output" == *"unknown option '--frobnicate'"* ]]
	run "$CAT" --text --binary "$T/canon.txt"
	[ "$status" -eq 64 ]
	run "$CAT" "$T/nonexistent"
	[ "$status" -eq 66 ]
	[[ "$output" == *"cannot open '$T/nonexistent'"* ]]
}
