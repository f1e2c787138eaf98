#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every benchmark program of one build directory ($1/bench/*) and print
# their result lines (each prints its ratio against a baseline measured in
# the same run). Details go to stderr. Not a test lane: nothing is timed out.
set -u
B=${1:-build}
rc=0
found=0
for b in "$B"/bench/*; do
	[ -x "$b" ] || continue
	found=1
	echo "# bench: $(basename "$b")" >&2
	if ! "$b"; then
		echo "bench $(basename "$b"): failed" >&2
		rc=1
	fi
done
[ $found -eq 1 ] || echo "no bench programs in $B/bench (run make first)" >&2
exit $rc
