"""`python -m bench` / `bench/run` / `midway bench`: run the selected parts, print, write results.

Usage: bench/run [--quick] [--only overhead,ack,fairness,grid,gpu,scale,refs] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
import traceback
from pathlib import Path

from bench import report, services
from bench.report import PARTS, PartResult, PartUnavailable

BENCH_DIR = Path(__file__).resolve().parent
# Part name -> its module; imported only when selected (the gpu part imports torch).
MODULES = {"overhead": "bench.overhead", "ack": "bench.ack_load", "fairness": "bench.fairness",
           "grid": "bench.grid_encode", "gpu": "bench.gpu_speed", "scale": "bench.scale",
           "refs": "bench.refs"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and smaller loads (finishes in under a minute on 2 CPU cores)")
    parser.add_argument("--only", type=_parts, default=list(PARTS),
                        help=f"comma-separated parts to run (default all): {','.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json", help="results JSON path")
    parser.add_argument("--markdown", type=Path, default=BENCH_DIR / "RESULTS.md",
                        help="the RESULTS.md whose section for this machine and mode is replaced")


def _parts(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS]
    if unknown or not names:
        choices = ",".join(PARTS)
        raise argparse.ArgumentTypeError(f"unknown part(s) {unknown or text!r}; choose from {choices}")
    # Run in the canonical order whatever order was typed.
    return [name for name in PARTS if name in names]


def run_part(name: str, quick: bool) -> tuple[PartResult, bool]:
    """(the part's result, whether it failed). A crash becomes a visible failure, not a missing row."""
    start = time.perf_counter()
    failed = False
    # A crash in one part must not hide the other parts' figures: it becomes a visible failure row.
    try:
        result = importlib.import_module(MODULES[name]).run(quick=quick)
    except PartUnavailable as reason:
        result = report.skipped(name, f"skipped: {reason}")
    except Exception as error:
        traceback.print_exc()
        result, failed = report.skipped(name, f"failed: {type(error).__name__}: {error}"), True
    result.seconds = round(time.perf_counter() - start, 2)
    return result, failed


def run(args: argparse.Namespace, command: str | None = None) -> int:
    command = command or "bench/run " + shlex.join(sys.argv[1:])
    results_parts: list[PartResult] = []
    any_failed = False
    with services.session():
        for name in args.only:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            result, failed = run_part(name, args.quick)
            outcome = result.skipped or "done"
            print(f"[bench] {name}: {outcome} ({result.seconds} s)", file=sys.stderr, flush=True)
            results_parts.append(result)
            any_failed |= failed
    results = report.build_results(results_parts, command=command.strip(), quick=args.quick)
    print("\n".join(report.table_lines(results_parts)))
    report.write_json(results, args.out)
    section = report.markdown_section(results, results_parts)
    report.update_markdown(args.markdown, report.section_key(results), section)
    print(f"\nwrote {args.out} and {args.markdown}")
    return 1 if any_failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
