"""The nightly job: a matrix of cells (guest × release × arch × kernel × workload × repeat) run in parallel on
Dask, merged into one output (nightly.json, junit.xml, report.html), judged over repeats by the flaky-aware rule
(:mod:`harness.regress.flaky`), checked against a known-failures list and recorded in a SQLite history.

Stages, one module each: ``matrix`` (TOML → cells), ``plan`` (cells → ``harness run`` commands), ``kernels``
(each distinct kernel built once), ``engine`` (Dask: where cells run), ``cell`` (one cell on a worker, in its own
process group), ``pack`` (run directories as bounded tar bytes), ``merge`` (cell run dirs → verdicts per cell),
``known`` (known failures), ``history`` (SQLite), ``report`` (nightly.json, junit.xml, report.html) and ``job``
(the whole night).
"""
