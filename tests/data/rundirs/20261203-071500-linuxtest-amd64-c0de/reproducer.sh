#!/bin/sh
# Repeat run 20261203-071500-linuxtest-amd64-c0de (same guest, arch, release, kernel, workloads and parameters):
harness run --guest linuxtest --runs-dir runs
# Re-judge this stored run offline (no VM), e.g. after a model change:
# harness analyze runs/20261203-071500-linuxtest-amd64-c0de
