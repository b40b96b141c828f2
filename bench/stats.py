"""Small timing helpers shared by the benchmark parts (pure, no I/O)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between order statistics (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q!r}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p99/max (and the count) of durations given in seconds, reported in milliseconds."""
    return {
        "n": len(seconds),
        "p50_ms": round(1000 * percentile(seconds, 50), 2),
        "p99_ms": round(1000 * percentile(seconds, 99), 2),
        "max_ms": round(1000 * max(seconds), 2),
    }


def best_of(function: Callable[[], T], repeats: int) -> tuple[float, T]:
    """(the fastest wall time in seconds, the last result): the minimum is the least noisy estimate
    of a CPU-bound call's cost on a machine shared with other processes."""
    times: list[float] = []
    result: T
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline rounded for reports; None when either side was not measured."""
    if value is None or baseline is None or baseline <= 0:
        return None
    return round(value / baseline, 3)


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free confidence interval for the median: the order statistics k and n+1-k,
    with k the largest rank whose binomial(n, 1/2) tail stays within (1 - confidence) / 2. None when
    there are too few values for that confidence (fewer than 6 at 95%)."""
    if not values:
        raise ValueError("median_interval of an empty sequence")
    ordered = sorted(values)
    n = len(ordered)
    tail = (1 - confidence) / 2
    rank, below = 0, 0.0  # below: P(fewer than rank+1 of n values lie under the median)
    while rank + 1 <= n // 2:
        below += math.comb(n, rank) / 2 ** n
        if below > tail:
            break
        rank += 1
    if rank == 0:
        return None
    return ordered[rank - 1], ordered[n - rank]
