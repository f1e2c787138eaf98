#!/bin/sh
# Run every bats suite against the binaries of one build directory.
set -u
B=${1:-build}
ETMEM_BIN=$(cd "$B/bin" && pwd)
ETMEM_TESTBIN=$(cd "$B/tests" 2>/dev/null && pwd)
export ETMEM_BIN ETMEM_TESTBIN
export PATH="$ETMEM_BIN:$PATH"
for f in tests/bats/*.bats; do
	[ -f "$f" ] || continue
	echo "# suite: $f"
	bats --tap "$f" | sed "s/^\(not ok\|ok\) [0-9]* /\1 - $(basename "$f" .bats): /"
done
