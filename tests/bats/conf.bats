#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# conf.bats - the configuration files through `etmem obj check -f FILE`:
# every shipped sample loads in both forms and both print the same model;
# rejected files name file:line:key and the allowed range.

setup() {
	TMP=$(mktemp -d)
	SRC=${ETMEM_SRCDIR:-$BATS_TEST_DIRNAME/../..}
	ETMEM=${ETMEM_BIN:-$SRC/build/bin}/etmem
}

teardown() {
	rm -rf "$TMP"
}

# put NAME TEXT: a root-owned 0600 config file in $TMP
put() {
	printf '%b' "$2" >"$TMP/$1"
	chmod 600 "$TMP/$1"
}

@test "every sample loads, and its INI and YAML forms print the same model" {
	for s in slide cslide thirdparty psi pmu damon; do
		install -m 0600 "$SRC/conf/ini/$s.yaml" "$TMP/$s.ini.yaml"
		install -m 0600 "$SRC/conf/yaml/$s.yaml" "$TMP/$s.yaml.yaml"
		"$ETMEM" obj check -f "$TMP/$s.ini.yaml" >"$TMP/$s.ini.out"
		"$ETMEM" obj check -f "$TMP/$s.yaml.yaml" >"$TMP/$s.yaml.out"
		cmp "$TMP/$s.ini.out" "$TMP/$s.yaml.out"
		grep -q '^\[task\]$' "$TMP/$s.ini.out"
	done
}

@test "the canonical dump is itself a valid configuration" {
	install -m 0600 "$SRC/conf/yaml/damon.yaml" "$TMP/d.yaml"
	"$ETMEM" obj check -f "$TMP/d.yaml" >"$TMP/dump"
	chmod 600 "$TMP/dump"
	run "$ETMEM" obj check -f "$TMP/dump"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$TMP/dump")" ]
}

@test "an out-of-range loop names file, line, key and range" {
	put bad.yaml 'project:\n  name: p\n  loop: 121\n  interval: 1\n  sleep: 1\n'
	run "$ETMEM" obj check -f "$TMP/bad.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$TMP/bad.yaml:3: key 'loop' in [project]: 121 is out of range 1..120"* ]]
}

@test "an integer beyond 32 bits is rejected, not truncated" {
	put wrap.yaml '[project]\nname=p\nloop=4294967297\ninterval=1\nsleep=1\n'
	run "$ETMEM" obj check -f "$TMP/wrap.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *"wrap.yaml:3: key 'loop' in [project]: 4294967297 is out of range 1..120"* ]]
}

@test "a ';' line is a syntax error with its line number" {
	put semi.yaml '[project]\n; comment\nname=p\n'
	run "$ETMEM" obj check -f "$TMP/semi.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *"semi.yaml:2: line is not a [group], key=value or # comment"* ]]
}

@test "mode 0644 is refused before the content is read" {
	put open.yaml '[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n'
	chmod 644 "$TMP/open.yaml"
	run "$ETMEM" obj check -f "$TMP/open.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *"must have mode 0600 or 0400 (is 0644)"* ]]
}

@test "a missing file is named" {
	run "$ETMEM" obj check -f "$TMP/nonexistent"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot resolve '$TMP/nonexistent'"* ]]
}
