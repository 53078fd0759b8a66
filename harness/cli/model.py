"""``harness model``: the reference model on its own — predictions, pindex arithmetic, random simulation."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from harness.cli.common import add_json_flag, non_negative_int, positive_int, print_json
from harness.errors import UsageError

VERB_ORDER = 50


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "model",
        help="the kstack reference model: predict, pindex, simulate",
        description="The reference model of FreeBSD kernel-stack allocation (generations G0-list, G0-uma, G1, "
        "G2, G3), usable without a guest.",
    )
    verbs = parser.add_subparsers(dest="model_verb", metavar="VERB", parser_class=type(parser))
    parser.set_defaults(func=lambda args: _usage(parser))

    p = verbs.add_parser("predict", help="observables a workload must show, with values or bounds")
    _common(p)
    p.add_argument(
        "--workload", required=True, help="thread-hold, thread-churn, fork-churn, burst-and-idle, swap-pressure"
    )
    p.add_argument(
        "--threads",
        type=non_negative_int,
        default=1000,
        help="held threads / threads per round / threads per process (default 1000)",
    )
    p.add_argument("--rounds", type=non_negative_int, default=10)
    p.add_argument("--concurrency", type=non_negative_int, default=4)
    p.add_argument("--forks", type=non_negative_int, default=1000)
    p.add_argument("--burst", type=non_negative_int, default=2000)
    p.add_argument("--procs", type=non_negative_int, default=8)
    p.add_argument("--noise", type=non_negative_int, default=8, help="allowance for background activity")
    p.add_argument("--cache-size", type=non_negative_int, default=None, help="vm.kstack_cache_size if changed")
    p.add_argument(
        "--start-used",
        type=non_negative_int,
        default=None,
        help="kstack_cache USED before the workload (vmstat -z); with --start-free, predictions are replayed "
        "from that state and are as narrow as the remaining uncertainty",
    )
    p.add_argument("--start-free", type=non_negative_int, default=None, help="kstack_cache FREE before the workload")
    p.add_argument(
        "--start-bucket-size",
        type=non_negative_int,
        default=None,
        help="vm.uma.kstack_cache.bucket_size before the workload (default: bucket_size_max)",
    )
    p.add_argument("--g3-object-type", choices=("sw", "ph"), default=None, help="G3 kstack object type, if probed")
    p.add_argument(
        "--g3-kstack-cache-item-size", type=positive_int, default=None, help="G3 kstack_cache SIZE, if probed"
    )
    add_json_flag(p)
    p.set_defaults(func=_predict)

    p = verbs.add_parser(
        "pindex",
        help="kstack_object pindex of stack addresses",
        description="Print the kstack_object pindex of each stack address (td_kstack: the lowest mapped "
        "address, hex). A guard-page or misaligned address is an error that says why.",
    )
    _common(p, workload_knobs=False)
    p.add_argument("addrs", metavar="ADDR", nargs="+", help="stack address, hex (0x…)")
    add_json_flag(p)
    p.set_defaults(func=_pindex)

    p = verbs.add_parser("simulate", help="random event mix with every applicable invariant checked each step")
    _common(p, workload_knobs=False)
    p.add_argument("--events", type=non_negative_int, required=True)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--max-threads", type=positive_int, default=1500, help="bound on live threads (default 1500)")
    add_json_flag(p)
    p.set_defaults(func=_simulate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _common(p: argparse.ArgumentParser, workload_knobs: bool = True) -> None:
    p.add_argument("--generation", required=True, help="G0-list, G0-uma, G1, G2 or G3")
    p.add_argument("--arch", default="amd64", help="amd64 or arm64 (default amd64)")
    p.add_argument("--ncpu", type=positive_int, default=None, help="hw.ncpu (default from arch.toml: 1)")
    p.add_argument("--ndomains", type=positive_int, default=None, help="vm.ndomains (default 1)")
    p.add_argument("--kstack-pages", type=positive_int, default=None, help="kern.kstack_pages (default 4)")


def _arch(args: argparse.Namespace) -> Any:
    from harness.model.arch import ArchConstants

    overrides = {
        k: v
        for k, v in (("ncpu", args.ncpu), ("ndomains", args.ndomains), ("kstack_pages", args.kstack_pages))
        if v is not None
    }
    from harness.model.generations import canonical

    return ArchConstants.load(args.arch, canonical(args.generation), **overrides)


def _predict(args: argparse.Namespace) -> int:
    from harness.model.predict import WorkloadParams, predict

    params = WorkloadParams(
        threads=args.threads,
        rounds=args.rounds,
        concurrency=args.concurrency,
        forks=args.forks,
        burst=args.burst,
        procs=args.procs,
        noise=args.noise,
        cache_size=args.cache_size,
        start_used=args.start_used,
        start_free=args.start_free,
        start_bucket_size=args.start_bucket_size,
        g3_object_type=args.g3_object_type,
        g3_kstack_cache_item_size=args.g3_kstack_cache_item_size,
    )
    preds = predict(args.generation, _arch(args), args.workload, params)
    if args.json:
        print_json([dataclasses.asdict(p) for p in preds])
        return 0
    width = max(len(p.name) for p in preds)
    for p in preds:
        print(f"{p.name:<{width}}  {p.phase:<13} {p.describe():<24} {p.unit:<12} {p.invariant:<5} {p.source}")
    return 0


def _pindex(args: argparse.Namespace) -> int:
    """Every address gets its answer, a bad one an inline error; any bad address makes the exit code 2."""
    from harness.model.generations import canonical
    from harness.model.pindex import pindex_of

    generation = canonical(args.generation)  # a bad generation or arch fails the whole command, once
    arch = _arch(args)
    rows: list[dict[str, Any]] = []
    bad: list[str] = []
    for text in args.addrs:
        try:
            try:
                addr = int(text, 16)
            except ValueError:
                raise UsageError(f"not a hex address: {text!r}") from None
            rows.append(pindex_of(generation, arch, addr))
        except UsageError as exc:
            rows.append({"addr": text, "error": str(exc)})
            bad.append(str(exc))
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            if "error" in r:
                print(f"{r['addr']}  error: {r['error']}")
            else:
                print(f"{r['addr']}  pindex {r['pindex']:#x} ({r['pindex']})  {r['note']}")
    if bad:
        if len(rows) == 1:
            raise UsageError(bad[0])
        raise UsageError(f"{len(bad)} of {len(rows)} addresses are not stack addresses; the first: {bad[0]}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from harness.model.simulate import simulate

    result = simulate(args.generation, _arch(args), args.events, args.seed, max_threads=args.max_threads)
    if args.json:
        print_json(result)
        return 0
    print(
        f"{result.generation} on {result.arch}: {result.events} events in {result.seconds:.3f} s "
        f"({result.events_per_second:.0f} events/s), seed {result.seed}"
    )
    print(f"peak live stacks {result.peak_live_stacks}, final {result.final_live_stacks}")
    print(f"invariants checked after every step: {', '.join(result.invariants)} ({result.checks} steps)")
    print("events: " + ", ".join(f"{k} {v}" for k, v in result.event_counts.items()))
    return 0
