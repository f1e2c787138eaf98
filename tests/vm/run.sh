#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - the VM lane: boot Debian's 6.12 cloud kernel under qemu with the
# project's binaries and run tests/vm/scenarios/*.sh inside (docs/VM-LANE.md).
#
#   sh tests/vm/run.sh [--tap] [SCENARIO|PATH...]
#
# Without names: every scenario except the bench-* measurements.
#
# --tap prints only TAP lines (what `make test` counts); otherwise the guest's
# console is shown as well. Exit 0 when every scenario passed (or the lane was
# skipped because qemu or the kernel cannot be had), 1 otherwise; on failure
# the console log is kept and its path printed. Nothing is installed on the
# host: the kernel package is downloaded and unpacked into tests/vm/cache/.
set -u
cd "$(dirname "$0")/../.." || exit 70
root=$(pwd)
vm=tests/vm
cache=$vm/cache
build=${ETMEM_BUILD:-build}
timeout_s=${ETMEM_VM_TIMEOUT:-600}
scen_timeout=${ETMEM_VM_SCENARIO_TIMEOUT:-240}
meta=linux-image-6.12-cloud-amd64
tap=0
if [ "${1:-}" = --tap ]; then tap=1; shift; fi

say() { [ $tap -eq 1 ] || echo "vm: $*" >&2; }
skip() { echo "ok - vm lane # SKIP $*"; exit 0; }

command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] || skip "busybox-static not installed"
for t in cpio gzip xz dpkg apt-get timeout base64; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed"
done
case $build in /*) babs=$build ;; *) babs=$root/$build ;; esac
[ -d "$build/bin" ] || skip "$build/bin missing (run make first)"
mkdir -p "$cache" || exit 71
# Per-run files: several engineers may run the lane at once on one tree.
run=$cache/run.$$
rm -rf "$run"; mkdir -p "$run" || exit 71
keep=${ETMEM_VM_KEEP:-}
trap '[ -n "$keep" ] || rm -rf "$run"' EXIT
trap 'exit 130' INT TERM

# fetch_kernel: the versioned image package the meta-package depends on,
# downloaded (not installed) and unpacked into $cache/root.
fetch_kernel() {
	if ls "$cache"/root/boot/vmlinuz-* >/dev/null 2>&1; then return 0; fi
	pkg=$(apt-cache show "$meta" 2>/dev/null | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		say "apt-cache knows no $meta; running apt-get update"
		apt-get update -qq >/dev/null 2>&1
		pkg=$(apt-cache show "$meta" 2>/dev/null | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)
	fi
	[ -n "$pkg" ] || return 1
	say "downloading $pkg"
	(cd "$cache" && rm -f linux-image-*.deb && apt-get download "$pkg" >/dev/null 2>&1) || return 1
	rm -rf "$cache/root.tmp.$$"
	dpkg -x "$cache"/linux-image-*.deb "$cache/root.tmp.$$" &&
	    { mv -T "$cache/root.tmp.$$" "$cache/root" 2>/dev/null || rm -rf "$cache/root.tmp.$$"; }
}
fetch_kernel || skip "cannot download or unpack $meta"
kernel=$(ls "$cache"/root/boot/vmlinuz-* | head -1)

# Scenarios: all, or the ones named on the command line.
scen=""
if [ $# -eq 0 ]; then
	# bench-* scenarios measure (make bench runs them by name): their
	# figures move with the machine's load, so they are not tests.
	for s in "$vm"/scenarios/*.sh; do
		case ${s##*/} in bench-*) continue ;; esac
		[ -f "$s" ] && scen="$scen $s"
	done
else
	for n in "$@"; do
		case $n in
		*/*) s=$n ;;            # a path: a scenario kept elsewhere
		*) s="$vm/scenarios/${n%.sh}.sh" ;;
		esac
		[ -f "$s" ] || { echo "vm: no scenario $s" >&2; exit 64; }
		scen="$scen $s"
	done
fi
[ -n "$scen" ] || skip "no scenarios in $vm/scenarios"

initrd=$run/initramfs.cpio.gz
# shellcheck disable=SC2086
sh "$vm/mkinitramfs.sh" "$cache/root" "$build" "$initrd" $scen ||
	{ echo "not ok - vm lane: cannot build the initramfs"; exit 1; }

# The guest command line. loglevel=1 keeps kernel chatter out of the TAP.
append="console=ttyS0 panic=-1 loglevel=1 psi=1 transparent_hugepage=madvise etmem.timeout=$scen_timeout"
qemu_base() {  # qemu_base ACCEL: the machine every boot uses
	echo "-accel $1 -cpu max -smp 2 -m 2G" \
	    "-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G" \
	    "-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1" \
	    "-display none -monitor none -serial stdio -nic none -no-reboot"
}

# KVM only if a short probe boot under it reaches init and powers off; the
# verdict is cached (nested virtualisation often breaks in odd ways).
accel=tcg
if [ -w /dev/kvm ] && [ "${ETMEM_VM_ACCEL:-}" != tcg ]; then
	if [ ! -f "$cache/accel" ]; then
		say "probing KVM"
		pdir=$(mktemp -d) && mkdir -p "$pdir/bin" && cp /bin/busybox "$pdir/bin/" &&
		printf '#!/bin/busybox sh\n/bin/busybox echo etmem-kvm-ok\n/bin/busybox poweroff -f\n' > "$pdir/init" &&
		chmod 755 "$pdir/init" && (cd "$pdir" && find . | cpio -o -H newc --quiet | gzip -1) > "$pdir.cpio.gz"
		# shellcheck disable=SC2046
		# The subshell eats the shell's "Aborted" when qemu dies of SIGABRT.
		if (timeout 60 qemu-system-x86_64 $(qemu_base kvm) -kernel "$kernel" -initrd "$pdir.cpio.gz" \
		    -append "console=ttyS0 panic=-1 loglevel=1" </dev/null 2>/dev/null | grep -q etmem-kvm-ok) 2>/dev/null; then
			echo kvm > "$cache/accel"
		else
			echo tcg > "$cache/accel"
		fi
		rm -rf "$pdir" "$pdir.cpio.gz"
	fi
	accel=$(cat "$cache/accel")
fi
[ -n "${ETMEM_VM_ACCEL:-}" ] && accel=$ETMEM_VM_ACCEL

log=$run/console.log
say "booting $(basename "$kernel") ($accel, timeout ${timeout_s}s)"
# shellcheck disable=SC2046
# The subshell keeps the shell's "Killed" note (timeout) off the TAP.
(timeout -s KILL "$timeout_s" qemu-system-x86_64 $(qemu_base "$accel") \
    -kernel "$kernel" -initrd "$initrd" -append "$append" </dev/null 2>&1; :) 2>/dev/null |
    tr -d '\r' | tee "$log" | {
	if [ $tap -eq 1 ]; then cat >/dev/null; else
		# show the console live, minus the base64 of exported files
		awk '/^=== etmem-vm-file / { print "(exporting " $3 "/" $4 ")"; skip = 1; next }
		     /^=== etmem-vm-end/ { skip = 0; next }
		     !skip { print; fflush() }' >&2
	fi; }

# Decode exported files, print TAP, count.
out=$run/out
mkdir -p "$out"
awk -v out="$out" '
/^=== etmem-vm-file / { f = out "/" $3; system("mkdir -p \"" f "\""); f = f "/" $4 ".b64"; next }
/^=== etmem-vm-end/   { close(f); f = ""; next }
f != ""               { print > f; next }
' "$log"
for b in "$out"/*/*.b64; do
	[ -f "$b" ] || continue
	base64 -d "$b" > "${b%.b64}" 2>/dev/null || echo "not ok - vm lane: cannot decode $b" >> "$run/host.tap"
	rm -f "$b"
done

tapf=$run/tap.out
grep -E '^(not )?ok - ' "$log" > "$tapf"
grep -q '^=== etmem-vm-done' "$log" ||
	echo "not ok - vm lane: the guest did not finish (boot failure or ${timeout_s}s timeout)" >> "$tapf"

# Host halves: scenario NAME.host runs here on what NAME exported.
for s in $scen; do
	h=${s%.sh}.host
	[ -f "$h" ] || continue
	n=$(basename "$s" .sh)
	mkdir -p "$out/$n"
	(cd "$out/$n" && ETMEM_BIN="$babs/bin" ETMEM_TESTBIN="$babs/tests" \
	    PATH="$babs/bin:$PATH" sh "$root/$h") >> "$tapf" 2>&1
done
[ -f "$run/host.tap" ] && cat "$run/host.tap" >> "$tapf"

grep -E '^(not )?ok - ' "$tapf"
[ $tap -eq 1 ] || grep -vE '^(not )?ok - ' "$tapf" >&2
rm -f "$initrd"
if grep -q '^not ok' "$tapf"; then
	keep=1
	# CI keeps only what is printed: the scenarios' own comment lines
	# (stderr of the stages they ran) say why, so show the last of them.
	[ $tap -eq 0 ] || grep -E '^# ' "$log" | tail -n 200
	echo "vm: failures; console log kept at $log (exported files in $out)" >&2
	exit 1
fi
[ -z "$keep" ] || echo "vm: console log kept at $log" >&2
exit 0
