#!/bin/sh
# The whole test suite, as `make test` runs it: build (plain and ASan+UBSan),
# unit tests under both builds, bats suites, a bounded fuzz run, the VM lane.
# Every lane prints TAP; this script counts it and ends with the one line
#   N passed, N failed, N skipped
# and exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.." || exit 70
log=${ETMEM_TEST_LOG:-build/test.log}
mkdir -p build
: > "$log"

lane() {  # lane NAME CMD...: run a lane, TAP on stdout, everything into the log
	name=$1; shift
	echo "# lane: $name" | tee -a "$log"
	"$@" 2>&1 | tee -a "$log"
}

build_ok=1
lane build sh -c 'make -j2 all >build/make.log 2>&1 && echo "ok - build (plain)" || { tail -40 build/make.log; echo "not ok - build (plain)"; }'
lane build-san sh -c 'make -j2 SAN=1 all >build/make-san.log 2>&1 && echo "ok - build (ASan+UBSan)" || { tail -40 build/make-san.log; echo "not ok - build (ASan+UBSan)"; }'
grep -q '^not ok - build (plain)' "$log" && build_ok=0

if [ $build_ok -eq 1 ]; then
	lane unit sh tests/lanes/unit.sh build
	if ! grep -q '^not ok - build (ASan' "$log"; then
		lane unit-san sh tests/lanes/unit.sh build-san
	fi
	lane bats sh tests/lanes/bats.sh build
	lane fuzz sh tests/lanes/fuzz.sh "${FUZZ_SECONDS:-20}"
	lane vm sh tests/vm/run.sh --tap
fi

passed=$(grep -E '^ok ' "$log" | grep -cviE '# *skip' )
skipped=$(grep -E '^ok ' "$log" | grep -ciE '# *skip')
failed=$(grep -cE '^not ok' "$log")
echo
grep -E '^not ok' "$log" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
