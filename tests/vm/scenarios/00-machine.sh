#!/bin/sh
# SPDX-License-Identifier: MIT
# 00-machine: the guest is the machine docs/VM-LANE.md promises; every other
# scenario relies on this, so a broken boot setup fails here by name.
t() { if eval "$2"; then echo "ok - machine: $1"; else echo "not ok - machine: $1"; fi; }

t "two NUMA nodes" '[ -d /sys/devices/system/node/node0 ] && [ -d /sys/devices/system/node/node1 ]'
t "cgroup2 with memory in subtree_control" 'grep -qw memory /sys/fs/cgroup/cgroup.subtree_control'
t "zram swap active" 'grep -q "^/dev/zram0" /proc/swaps'
t "PSI present" '[ -r /proc/pressure/memory ]'
t "DAMON sysfs present, no kdamond" '[ "$(cat /sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds)" = 0 ]'
t "project binaries in PATH" 'command -v etmem-scan >/dev/null'
t "ETMEM_TESTBIN set" '[ -d "$ETMEM_TESTBIN" ]'
exit 0
