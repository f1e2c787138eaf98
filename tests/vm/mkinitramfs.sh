#!/bin/sh
# SPDX-License-Identifier: MIT
# mkinitramfs.sh - build the VM lane's initramfs (a gzipped newc cpio).
#
#   sh tests/vm/mkinitramfs.sh KROOT BUILD OUT SCENARIO...
#
# KROOT is the `dpkg -x` tree of the kernel package, BUILD the build
# directory (build/bin, build/tests, build/bench), OUT the .cpio.gz to write; the
# scenarios are paths of tests/vm/scenarios/*.sh. Contents: busybox-static
# with its applet links, the project's binaries and helpers with every shared
# library ldd names, the modules zram needs (decompressed: the package has no
# modules.dep, so init loads them in a fixed order), tests/vm/init as /init.
# Nothing here touches the host beyond a temporary staging directory.
set -eu
kroot=$1 build=$2 out=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)

# busybox-static installs /bin/busybox; a dynamic one would need its libraries.
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkinitramfs: $bb not found (install busybox-static)" >&2; exit 69; }
if ldd "$bb" >/dev/null 2>&1; then
	echo "mkinitramfs: $bb is not static (install busybox-static)" >&2; exit 69
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/etmem-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" \
    "$stage/tmp" "$stage/run" "$stage/etc" "$stage/lib/modules" \
    "$stage/opt/etmem/bin" "$stage/opt/etmem/tests" "$stage/opt/etmem/scenarios"
cp "$bb" "$stage/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
done

# copy_libs FILE: the shared libraries FILE needs, at their host paths.
copy_libs() {
	ldd "$1" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
	while read -r lib; do
		[ -e "$stage$lib" ] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}

for f in "$build"/bin/*; do
	[ -f "$f" ] || continue
	cp -P "$f" "$stage/opt/etmem/bin/"
	[ -L "$f" ] || copy_libs "$f"
done
for f in "$build"/tests/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	cp "$f" "$stage/opt/etmem/tests/"
	copy_libs "$f"
done

# bench/ (workload-gen, acc-score.awk) for the bench-* scenarios.
mkdir -p "$stage/opt/etmem/bench"
for f in "$build"/bench/* "$here"/../../bench/*.awk; do
	[ -f "$f" ] || continue
	cp "$f" "$stage/opt/etmem/bench/"
	if [ -x "$f" ]; then copy_libs "$f"; fi
done

kver=$(ls "$kroot/lib/modules" | head -1)
for m in mm/zsmalloc lib/lz4/lz4_compress lib/lz4/lz4hc_compress drivers/block/zram/zram; do
	src="$kroot/lib/modules/$kver/kernel/$m.ko.xz"
	[ -f "$src" ] || { echo "mkinitramfs: missing module $src" >&2; exit 69; }
	xz -dc "$src" > "$stage/lib/modules/$(basename "$m").ko"
done
# The order init loads them in (dependencies first).
printf '%s\n' zsmalloc lz4_compress lz4hc_compress zram > "$stage/lib/modules/order"

for s in "$@"; do
	cp "$s" "$stage/opt/etmem/scenarios/"
done
cp "$here/lib.sh" "$stage/opt/etmem/lib.sh"
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init"

(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
