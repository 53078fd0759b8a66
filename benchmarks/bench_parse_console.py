"""Scanning a 100 MB console log for events must take at most 2 s on the harness's CI machine.

The log is built from the real FreeBSD transcripts in ../shared/fixtures/freebsd (boots, logins, panics, DDB
sessions, sysctl/vmstat output), repeated to 100 MiB: once with LF line ends as stored, once with CRLF as the
serial port delivers them, and once fed to the streaming scanner in 64 KiB reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.parse.scanner import ConsoleScanner, scan_console
from harness.settings import fixtures_dir

TARGET_BYTES = 100 * 1024 * 1024
LIMIT_SECONDS = 2.0
READ_SIZE = 64 * 1024


def _corpus() -> str:
    directory = fixtures_dir() / "freebsd"
    if not directory.is_dir():
        pytest.skip(f"FreeBSD fixtures not found at {directory} (set HARNESS_FIXTURES)")
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(Path(directory).glob("*.txt"))) + "\n"


@pytest.fixture(scope="module")
def corpus() -> str:
    return _corpus()


@pytest.fixture(scope="module")
def log_100mb(corpus: str) -> str:
    return corpus * (TARGET_BYTES // len(corpus) + 1)


def _expected(corpus: str, log: str) -> int:
    return len(scan_console(corpus)) * (len(log) // len(corpus))


def test_scan_100mb_lf(benchmark: BenchmarkFixture, corpus: str, log_100mb: str) -> None:
    events = benchmark.pedantic(scan_console, args=(log_100mb,), rounds=3, iterations=1)
    assert len(events) == _expected(corpus, log_100mb)
    assert benchmark.stats.stats.median <= LIMIT_SECONDS


def test_scan_100mb_crlf(benchmark: BenchmarkFixture, corpus: str, log_100mb: str) -> None:
    crlf = log_100mb.replace("\n", "\r\n")
    events = benchmark.pedantic(scan_console, args=(crlf,), rounds=3, iterations=1)
    assert len(events) == _expected(corpus, log_100mb)
    assert benchmark.stats.stats.median <= LIMIT_SECONDS


def _stream(raw: str) -> int:
    scanner = ConsoleScanner()
    for offset in range(0, len(raw), READ_SIZE):
        scanner.feed(raw[offset : offset + READ_SIZE], float(offset))
    scanner.finish()
    return len(scanner.events)


def test_stream_100mb_crlf_in_64k_reads(benchmark: BenchmarkFixture, corpus: str, log_100mb: str) -> None:
    crlf = log_100mb.replace("\n", "\r\n")
    count = benchmark.pedantic(_stream, args=(crlf,), rounds=2, iterations=1)
    assert count == _expected(corpus, log_100mb)
    assert benchmark.stats.stats.median <= LIMIT_SECONDS
