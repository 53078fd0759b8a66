#!/bin/sh
# Repeat run 20261203-071048-linuxtest-amd64-e046 (same guest, arch, release, kernel, workloads and parameters):
harness run --guest linuxtest --arch amd64 --workload thread-hold --param thread-hold:threads=16 --param thread-hold:hold_seconds=30 --runs-dir runs
# Re-judge this stored run offline (no VM), e.g. after a model change:
# harness analyze runs/20261203-071048-linuxtest-amd64-e046
