#!/bin/sh
# Install what the build and the tests need on Debian 12, idempotently.
# Packages already present are not touched; apt runs only when one is missing.
set -eu
pkgs="build-essential pkg-config libyaml-dev libevent-dev libnuma-dev libpfm4-dev
      bats bats-assert bats-support clang valgrind util-linux procps
      busybox-static qemu-system-x86 cpio xz-utils kmod gnuplot-nox
      python3 strace"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install these by hand:$missing" >&2
	exit 77
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
