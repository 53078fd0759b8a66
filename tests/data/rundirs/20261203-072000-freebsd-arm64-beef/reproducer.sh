#!/bin/sh
# Repeat run 20261203-072000-freebsd-arm64-beef (same guest, arch, release, kernel, workloads and parameters):
harness run --arch arm64 --patch kstack-object --runs-dir runs
# Re-judge this stored run offline (no VM), e.g. after a model change:
# harness analyze runs/20261203-072000-freebsd-arm64-beef
