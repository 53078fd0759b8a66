#!/bin/sh
# Rendered by harness (harness/workloads/templates/) for run 20261203-071814-linuxtest-arm64-a220: workload thread-churn on linuxtest.
# Start and end markers go to /dev/console so a crash in the console log is attributed to this workload.
set -u
workdir=/tmp/harness
cd "$workdir" || exit 2
marker() { echo "HARNESS-WORKLOAD-$1 name=thread-churn run=20261203-071814-linuxtest-arm64-a220${2:+ $2}" >> /dev/console 2>/dev/null || true; }
marker START "params=threads_per_round=16,rounds=1,concurrency=4,pause_ms=0"
./thread_churn -T 16 -R 1 -C 4 -p 0
rc=$?
marker END "rc=$rc"
exit $rc
