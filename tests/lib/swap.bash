# SPDX-License-Identifier: MIT
# swap.bash - make sure swap is active for a test, and undo only what we did.
#
#   load ../lib/swap            (from a bats file; or `source` it in bash)
#   setup_file()    { swap_setup; }
#   teardown_file() { swap_teardown; }
#
# swap_setup: if any swap is already active, use it and touch nothing.
# Otherwise configure /dev/zram0 if it is unused (not in /proc/swaps and
# disksize 0), else create a swap file under a temporary directory. What was
# created is written to a marker file under /run/etmem-tests together with
# the pid of the shell that created it, so swap_teardown removes exactly that,
# and a later swap_setup can clean up after a run that was killed before its
# teardown (marker left behind, owner gone).
# Sets ETMEM_SWAP_KIND (existing|zram|file) and exports it.
# ETMEM_SWAP_NO_ZRAM=1 skips zram (to exercise the swap-file path).

ETMEM_SWAP_MARKER_DIR=${ETMEM_SWAP_MARKER_DIR:-/run/etmem-tests}
ETMEM_SWAP_ZRAM_SIZE=${ETMEM_SWAP_ZRAM_SIZE:-1G}
ETMEM_SWAP_FILE_MB=${ETMEM_SWAP_FILE_MB:-1024}

_swap_log() { echo "swap: $*" >&2; }

# Active swap devices/files (names only).
_swap_active() { awk 'NR > 1 { print $1 }' /proc/swaps; }

# Undo what one marker file describes, then remove it.
_swap_undo_marker() {
	local m=$1 kind what
	read -r kind what _ < "$m" || { rm -f "$m"; return 0; }
	case $kind in
	zram)
		swapoff "$what" 2>/dev/null
		echo 1 > "/sys/block/$(basename "$what")/reset" 2>/dev/null ||
			_swap_log "cannot reset $what"
		;;
	file)
		swapoff "$what" 2>/dev/null
		rm -f "$what"
		rmdir "$(dirname "$what")" 2>/dev/null
		;;
	esac
	rm -f "$m"
}

# Markers whose owner shell is gone are leftovers of an interrupted run.
_swap_reap_stale() {
	local m owner
	for m in "$ETMEM_SWAP_MARKER_DIR"/swap.*; do
		[ -f "$m" ] || continue
		owner=${m##*.}
		if ! kill -0 "$owner" 2>/dev/null; then
			_swap_log "removing leftover swap of dead run $owner: $(cat "$m")"
			_swap_undo_marker "$m"
		fi
	done
}

swap_setup() {
	local dev=/dev/zram0 blk=/sys/block/zram0 dir f
	mkdir -p "$ETMEM_SWAP_MARKER_DIR"
	_swap_reap_stale
	ETMEM_SWAP_MARKER="$ETMEM_SWAP_MARKER_DIR/swap.$$"
	export ETMEM_SWAP_MARKER
	if [ -n "$(_swap_active)" ]; then
		ETMEM_SWAP_KIND=existing; export ETMEM_SWAP_KIND
		return 0
	fi
	if [ -z "${ETMEM_SWAP_NO_ZRAM:-}" ] && [ -b "$dev" ] && [ -r "$blk/disksize" ] && [ "$(cat "$blk/disksize")" = 0 ]; then
		# The marker goes first: an interruption between the steps below
		# still leaves a record of what to undo.
		echo "zram $dev" > "$ETMEM_SWAP_MARKER"
		grep -qw lz4 "$blk/comp_algorithm" 2>/dev/null && echo lz4 > "$blk/comp_algorithm"
		if echo "$ETMEM_SWAP_ZRAM_SIZE" > "$blk/disksize" &&
		    mkswap "$dev" >/dev/null 2>&1 && swapon "$dev"; then
			ETMEM_SWAP_KIND=zram; export ETMEM_SWAP_KIND
			return 0
		fi
		_swap_log "zram setup failed; trying a swap file"
		_swap_undo_marker "$ETMEM_SWAP_MARKER"
	fi
	dir=$(mktemp -d /var/tmp/etmem-swap.XXXXXX) || return 1
	f=$dir/swapfile
	echo "file $f" > "$ETMEM_SWAP_MARKER"
	if { fallocate -l "${ETMEM_SWAP_FILE_MB}M" "$f" 2>/dev/null ||
	     dd if=/dev/zero of="$f" bs=1M count="$ETMEM_SWAP_FILE_MB" status=none; } &&
	    chmod 600 "$f" && mkswap "$f" >/dev/null 2>&1 && swapon "$f"; then
		ETMEM_SWAP_KIND=file; export ETMEM_SWAP_KIND
		return 0
	fi
	_swap_log "cannot set up swap (zram busy and swap file failed)"
	_swap_undo_marker "$ETMEM_SWAP_MARKER"
	return 1
}

swap_teardown() {
	[ -n "${ETMEM_SWAP_MARKER:-}" ] && [ -f "$ETMEM_SWAP_MARKER" ] &&
		_swap_undo_marker "$ETMEM_SWAP_MARKER"
	return 0
}
