"""`midway bench`: the benchmarks, the same as `bench/run` (bench/ lives in the source checkout)."""

from __future__ import annotations

import argparse
import shlex
import sys

from midway.settings import PROJECT_ROOT


def _importable_bench() -> None:
    # bench/ is not part of an installed wheel; from a checkout installed before bench/ existed, the
    # editable finder does not map it yet, so fall back to the checkout itself.
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.append(str(PROJECT_ROOT))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _importable_bench()
    from bench.__main__ import add_arguments as add_bench_arguments

    add_bench_arguments(parser)


def run(args: argparse.Namespace) -> int:
    _importable_bench()
    from bench.__main__ import run as run_bench

    return run_bench(args, command="midway " + shlex.join(sys.argv[1:]))
