#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh - what `make demo` runs: etmem on a live process, start to end.
#
# Sets up swap if none is active (zram, else a swap file; removed at the
# end), starts a workload with 64 MiB of hot and 256 MiB of cold memory,
# shows its memory, runs scanner | ranker | migrator once, shows the
# decisions, the migrator's counters and the memory again. Root only.
# Usage: tests/demo.sh [BUILD_DIR]     (default build)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
cd "$(dirname "$0")/.." || exit 70
B=${1:-build}
BIN=$B/bin
HOT_MB=${DEMO_HOT_MB:-64}
COLD_MB=${DEMO_COLD_MB:-256}

die() { echo "demo: $*" >&2; exit "${2:-1}"; }
[ "$(id -u)" = 0 ] || die "run as root (it swaps another process's memory)" 77
for b in "$BIN/etmem-scan" "$BIN/etmem-rank" "$BIN/etmem-migrate" "$B/tests/workload"; do
	[ -x "$b" ] || die "$b is missing: run 'make' first" 69
done

. tests/lib/swap.bash
T=$(mktemp -d /tmp/etmem-demo.XXXXXX)
WP=
cleanup() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null && wait "$WP" 2>/dev/null
	swap_teardown
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kb() { awk -v k="$2:" '$1 == k { print $2 }' "$1"; }
mib() { echo "$(( $1 / 1024 )) MiB"; }

# Pages of [$2, $3) of pid $1 present in RAM (pagemap bit 63).
resident() {
	local s=$(($2)) e=$(($3))
	dd if="/proc/$1/pagemap" iflag=skip_bytes,count_bytes bs=64K \
	    skip=$((s / 4096 * 8)) count=$(((e - s) / 4096 * 8)) status=none |
		od -An -v -t x8 | awk '{ for (i = 1; i <= NF; i++) if (substr($i, 1, 1) ~ /[89a-f]/) n++ }
		    END { print n + 0 }'
}

show_memory() {
	local hp=$(( (HOT_E - HOT_S) / 4096 )) cp=$(( (COLD_E - COLD_S) / 4096 )) h c
	h=$(resident "$WP" "$HOT_S" "$HOT_E")
	c=$(resident "$WP" "$COLD_S" "$COLD_E")
	printf '  %-28s %s\n' \
	    "VmRSS (status)" "$(mib "$(kb "/proc/$WP/status" VmRSS)")" \
	    "VmSwap (status)" "$(mib "$(kb "/proc/$WP/status" VmSwap)")" \
	    "Rss (smaps_rollup)" "$(mib "$(kb "/proc/$WP/smaps_rollup" Rss)")" \
	    "Swap (smaps_rollup)" "$(mib "$(kb "/proc/$WP/smaps_rollup" Swap)")" \
	    "hot pages in RAM" "$h / $hp ($((h * 100 / hp)) %)" \
	    "cold pages in RAM" "$c / $cp ($((c * 100 / cp)) %)"
}

echo "== swap"
swap_setup || die "no swap and cannot set one up" 69
case $ETMEM_SWAP_KIND in
existing) echo "  using the swap already active:";;
zram) echo "  configured /dev/zram0 for this demo (removed at the end):";;
file) echo "  created a swap file for this demo (removed at the end):";;
esac
sed 's/^/  /' /proc/swaps

echo
echo "== workload: ${HOT_MB} MiB hot (touched every 50 ms), ${COLD_MB} MiB cold (written once)"
"$B/tests/workload" --hot "$HOT_MB" --cold "$COLD_MB" --ready-file "$T/ready" >/dev/null &
WP=$!
for _ in $(seq 400); do [ -f "$T/ready" ] && break; sleep 0.05; done
[ -f "$T/ready" ] || die "the workload did not start"
line=$(cat "$T/ready")
echo "  $line"
[[ $line =~ hot=(0x[0-9a-f]+)-(0x[0-9a-f]+)\ cold=(0x[0-9a-f]+)-(0x[0-9a-f]+) ]] ||
	die "cannot parse: $line"
HOT_S=${BASH_REMATCH[1]} HOT_E=${BASH_REMATCH[2]}
COLD_S=${BASH_REMATCH[3]} COLD_E=${BASH_REMATCH[4]}

echo
echo "== memory before"
show_memory

echo
echo "== pipeline (one period: two scans 0.5 s apart; cold = not referenced in any)"
cmd="etmem-scan --backend smaps -p $WP --loop 2 --interval 0.5 --periods 1 | etmem-rank slide -T 1 | etmem-migrate swap --text"
echo "  \$ $cmd"
if [ -x "$BIN/etmem-cat" ]; then
	"$BIN/etmem-scan" --backend smaps -p "$WP" --loop 2 --interval 0.5 --periods 1 |
		"$BIN/etmem-rank" slide -T 1 | tee "$T/decisions.etmr" |
		"$BIN/etmem-migrate" swap --text > "$T/migrate.txt" 2> "$T/migrate.log"
	"$BIN/etmem-cat" --text < "$T/decisions.etmr" > "$T/decisions.txt"
else
	"$BIN/etmem-scan" --backend smaps -p "$WP" --loop 2 --interval 0.5 --periods 1 |
		"$BIN/etmem-rank" slide -T 1 --text | tee "$T/decisions.txt" |
		"$BIN/etmem-migrate" swap --text > "$T/migrate.txt" 2> "$T/migrate.log"
fi
rc=$?
echo
echo "== decisions (the ranker's output, text form)"
grep -E '^(D|P) ' "$T/decisions.txt" | sed 's/^/  /'
echo
echo "== the migrator's counters for the period"
grep '^S migrate' "$T/migrate.txt" | awk '
	$4 ~ /^bytes_/ { printf "  %-22s %s (%.1f MiB)\n", $4, $5, $5 / 1048576; next }
	{ printf "  %-22s %s\n", $4, $5 }'
sed 's/^/  log: /' "$T/migrate.log"
[ "$rc" = 0 ] || echo "  (pipeline exit status $rc)"

echo
echo "== memory after"
show_memory
echo
echo "== cleanup: stopping the workload$( [ "$ETMEM_SWAP_KIND" = existing ] || echo ", removing the swap it used")"
