#!/bin/sh
# SPDX-License-Identifier: MIT
# damon-owner: DAMON sysfs has one owner. A second etmem-scan, or one facing
# a kdamond etmem did not create, exits 69 and changes nothing; SIGTERM
# cleans up; after SIGKILL the next etmem-scan removes the stale kdamond.
. "$ETMEM_VM_LIB"
KD=/sys/kernel/mm/damon/admin/kdamonds

start_workload --hot 4 --cold 8 --touch-ms 50 || { notok "workload starts"; exit 0; }
# A variable, not a function: `func &` would make $! a subshell's pid.
scan="etmem-scan --backend damon -p $WL_PID --loop 1 --interval 1"
wait_claim() {  # wait_claim PID: until PID's claim shows the kdamond on
	i=0
	while ! grep -q "pid=$1 " /run/etmem/damon.kdamond 2>/dev/null ||
	    [ "$(cat $KD/0/state 2>/dev/null)" != on ]; do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
	done
}

# 1. a second etmem-scan while one runs
$scan --periods 0 > /dev/null 2>first.err &
first=$!
check "first etmem-scan starts a kdamond" wait_claim $first
$scan --periods 1 > second.out 2> second.err
rc=$?
check "second etmem-scan exits 69 (got $rc)" [ $rc -eq 69 ]
check "it names the owner" grep -q "in use by another etmem-scan (pid $first" second.err
check "the first one's kdamond still runs" [ "$(cat $KD/0/state)" = on ]

# 2. SIGTERM: everything undone
kill -TERM $first; wait $first
rc=$?
check "SIGTERM: etmem-scan exits 0 (got $rc)" [ $rc -eq 0 ]
check "SIGTERM: no kdamond, no claim" no_kdamond

# 3. SIGKILL leaves a kdamond; the next start removes it and runs
$scan --periods 0 > /dev/null 2>/dev/null &
victim=$!
wait_claim $victim
kill -KILL $victim; wait $victim 2>/dev/null
check "SIGKILL leaves the kdamond running" [ "$(cat $KD/0/state)" = on ]
$scan --periods 1 > third.out 2> third.err
rc=$?
check "next etmem-scan removes the stale kdamond and works (exit $rc)" [ $rc -eq 0 ]
check "it says so" grep -q "removing kdamond 0 left by dead etmem-scan pid $victim" third.err
check "and cleans up after itself" no_kdamond

# 4. a kdamond etmem did not create (we play the other owner here)
echo 1 > $KD/nr_kdamonds && echo 1 > $KD/0/contexts/nr_contexts &&
    echo paddr > $KD/0/contexts/0/operations && echo on > $KD/0/state
before=$(cat $KD/0/pid)
$scan --periods 1 > fourth.out 2> fourth.err
rc=$?
check "foreign kdamond: etmem-scan exits 69 (got $rc)" [ $rc -eq 69 ]
check "it says DAMON is in use by another owner" grep -q "in use by another owner" fourth.err
check "the foreign kdamond is untouched" [ "$(cat $KD/0/state)" = on ] && [ "$(cat $KD/0/pid)" = "$before" ] &&
    [ "$(cat $KD/0/contexts/0/operations)" = paddr ]
echo off > $KD/0/state; echo 0 > $KD/nr_kdamonds
stop_workload
exit 0
