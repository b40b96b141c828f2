"""bench/stats.py: the interval the overhead ratio is reported with."""

from __future__ import annotations

import random

import pytest

from bench.stats import median_interval


def test_the_median_interval_uses_the_textbook_order_statistics() -> None:
    # Tables of the sign-test interval at 95%: ranks (2, 8) of 9 values, (6, 16) of 21, (40, 61) of 100.
    assert median_interval(list(range(1, 10))) == (2, 8)
    assert median_interval(list(range(1, 22))) == (6, 16)
    assert median_interval(list(range(1, 101))) == (40, 61)


def test_too_few_values_give_no_interval_rather_than_a_false_precision() -> None:
    # Even the whole range of 5 values holds the median only 94% of the time.
    assert median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) is None
    assert median_interval([3.0, 1.0, 2.0, 5.0, 4.0, 6.0]) == (1.0, 6.0)
    with pytest.raises(ValueError):
        median_interval([])


def test_the_interval_holds_the_true_median_about_95_times_in_100() -> None:
    rng = random.Random(7)
    intervals = [median_interval([rng.gauss(0, 1) for _ in range(21)]) for _ in range(2000)]
    covered = sum(1 for interval in intervals if interval is not None and interval[0] <= 0.0 <= interval[1])
    assert 0.93 <= covered / 2000 <= 0.985
