#!/bin/sh
# Rendered by harness (harness/workloads/templates/) for run 20261203-071740-linuxtest-amd64-8944: workload thread-hold on linuxtest.
# Start and end markers go to /dev/console so a crash in the console log is attributed to this workload.
set -u
workdir=/tmp/harness
cd "$workdir" || exit 2
marker() { echo "HARNESS-WORKLOAD-$1 name=thread-hold run=20261203-071740-linuxtest-amd64-8944${2:+ $2}" >> /dev/console 2>/dev/null || true; }
rm -f /tmp/harness/thread_hold.ready /tmp/harness/thread_hold.release
marker START "params=threads=16,hold_seconds=30"
./thread_hold -n 16 -t 30 -r /tmp/harness/thread_hold.ready -R /tmp/harness/thread_hold.release
rc=$?
marker END "rc=$rc"
exit $rc
