#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Accuracy against ground truth (bench/workload-gen + bench/accuracy.sh),
# small and quick. Only loose, stable thresholds: the idle_pages and
# page_idle fixture lanes are deterministic given the workload's truth; the smaps cases assert what
# VMA granularity must give (nothing inside one VMA, the cold VMAs when split).
# The measured figures live in bench/results/README.md, not here.

setup() {
	B=$(cd "$ETMEM_BIN/.." && pwd)
	WG=$B/bench/workload-gen
	ACC="$BATS_TEST_DIRNAME/../../bench/accuracy.sh"
	[ -x "$WG" ] || skip "workload-gen not built ($WG)"
	D=$(mktemp -d)
}

teardown() {
	rm -rf "$D"
}

# value of key=.. in $output
field() {
	echo "$output" | grep '^accuracy ' | sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}

@test "workload-gen: bad usage exits 64 and names the option" {
	run "$WG" --pattern nosuch
	[ "$status" -eq 64 ]
	[[ "${lines[0]}" == "workload-gen: bad value 'nosuch' for --pattern" ]]
	run "$WG"
	[ "$status" -eq 64 ]
}

@test "workload-gen: ready line, truth windows and fault counts" {
	run "$WG" --pattern fixed --size 8 --hot-percent 25 --duration 0.3 --window-ms 100 --truth "$D/t"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^ready\ pid=[0-9]+\ base=0x[0-9a-f]+\ pages=2048\ stride=2048\ pattern=fixed$ ]]
	[[ "${lines[1]}" =~ ^F\ majflt=0\ minflt=[0-9]+\ touches=[1-9][0-9]*\ touches_per_sec=[1-9] ]]
	# At least two windows; the hot set is 25 % of 2048 pages = 512 pages,
	# and in a window the touched set is the hot set.
	[ "$(grep -c '^W ' "$D/t")" -ge 2 ]
	[ "$(awk '$1 == "H" { n += $3 } END { print n }' "$D/t" | head -1)" -ge 512 ]
	run awk '$1 == "W" { k++ } k == 1 && $1 == "H" { print "H", $2, $3 } k == 1 && $1 == "T" { print "H", $2, $3 }' "$D/t"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "${lines[1]}" ]
	[[ "${lines[0]}" == *" 512" ]]
}

@test "workload-gen: split arena has guard pages between mappings" {
	"$WG" --pattern fixed --size 4 --vma-kib 1024 > "$D/out" &
	pid=$!
	for i in $(seq 50); do grep -q ready "$D/out" && break; sleep 0.1; done
	wpid=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$D/out")
	# 4 rw mappings of 1 MiB and a ---p guard after each
	n=$(awk '$2 == "rw-p" { split($1, a, "-"); print a[1], a[2] }' "/proc/$wpid/maps" | wc -l)
	g=$(grep -c -- ' ---p 00000000 00:00 0 *$' "/proc/$wpid/maps")
	kill $pid; wait $pid || true
	[ "$n" -ge 4 ]
	[ "$g" -ge 4 ]
}

@test "accuracy: idle_pages fixture finds the fixed cold set (recall >= 0.9, precision >= 0.95, first period)" {
	run sh "$ACC" "$B" --quick idle_pages:fixed
	[ "$status" -eq 0 ]
	echo "$output"
	# (precision 0.9 would be "the whole arena": the 10 % hot set too)
	awk -v r="$(field recall)" -v p="$(field precision)" 'BEGIN { exit !(r >= 0.9 && p >= 0.95) }'
	[ "$(field found_after)" = 1 ]
}

@test "accuracy: idle_pages fixture finds the moved hot set again after a phase change" {
	run sh "$ACC" "$B" --quick idle_pages:phase
	[ "$status" -eq 0 ]
	echo "$output"
	r=$(field refound_after)
	[ -n "$r" ] && [ "$r" != never ] && [ "$r" -le 2 ]
}

@test "accuracy: page_idle fixture finds the fixed cold set, 4K and THP (recall >= 0.9, precision >= 0.95, first period)" {
	run sh "$ACC" "$B" --quick page_idle:fixed page_idle:thp
	[ "$status" -eq 0 ]
	echo "$output"
	for pat in fixed thp; do
		line=$(echo "$output" | grep "^accuracy backend=page_idle pattern=$pat ")
		r=$(echo "$line" | sed -n 's/.* recall=\([^ ]*\).*/\1/p')
		p=$(echo "$line" | sed -n 's/.* precision=\([^ ]*\).*/\1/p')
		# (precision 0.9 would be "the whole arena": the 10 % hot set too)
		awk -v r="$r" -v p="$p" 'BEGIN { exit !(r >= 0.9 && p >= 0.95) }'
		[[ "$line" == *" found_after=1"* ]]
	done
}

@test "page-idle-window: the kernel it plays clears accessed PFNs; a THP is judged by its head" {
	PIW=$B/bench/page-idle-window
	run "$PIW" --pid 42 @0x200000 M1 m1 @0x800000 A3 I2 A1 I10
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ETMR 1 page_size=4096 backend=page_idle host= start_ns=0" ]
	[ "${lines[1]}" = "A 42 0x200000 1 2M 1 aT" ]
	[ "${lines[2]}" = "A 42 0x400000 1 2M 0 aiT" ]
	[ "${lines[3]}" = "A 42 0x800000 3 4K 1 a" ]
	[ "${lines[4]}" = "A 42 0x803000 2 4K 0 ai" ]
	[ "${lines[5]}" = "A 42 0x805000 1 4K 1 a" ]
	[ "${lines[6]}" = "A 42 0x806000 10 4K 0 ai" ]
	run "$PIW" --pid 42 @0x200000 X1
	[ "$status" -eq 65 ]
	[[ "$output" == *"bad pattern token"* ]]
}

@test "accuracy: smaps cannot split one VMA (recall 0) but finds cold VMAs of a split arena" {
	run sh "$ACC" "$B" --quick smaps:fixed smaps:fixed-split
	[ "$status" -eq 0 ]
	echo "$output"
	one=$(echo "$output" | grep '^accuracy backend=smaps pattern=fixed ')
	split=$(echo "$output" | grep '^accuracy backend=smaps pattern=fixed-split ')
	[[ "$one" == *" recall=0.000 "* ]]
	r=$(echo "$split" | sed -n 's/.* recall=\([^ ]*\).*/\1/p')
	p=$(echo "$split" | sed -n 's/.* precision=\([^ ]*\).*/\1/p')
	awk -v r="$r" -v p="$p" 'BEGIN { exit !(r >= 0.5 && p >= 0.9) }'
}
