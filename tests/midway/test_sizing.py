"""`--ar` -> pixel size: about the base area, sides in the engine's multiple, the ratio close."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from midway.sizing import AREA_TOLERANCE, MAX_ASPECT, size_for_aspect

KNOWN = [
    # SDXL's own training buckets come out for the common ratios.
    ((1, 1), (1024, 1024)),
    ((16, 9), (1344, 768)),  # 7:4, as Midjourney rounds it
    ((9, 16), (768, 1344)),
    ((4, 3), (1216, 896)),
    ((3, 4), (896, 1216)),
    ((7, 4), (1344, 768)),
    ((2, 1), (1408, 704)),
]


@pytest.mark.parametrize(("ratio", "size"), KNOWN, ids=[f"{w}:{h}" for (w, h), _ in KNOWN])
def test_known_sizes(ratio: tuple[int, int], size: tuple[int, int]) -> None:
    assert size_for_aspect(*ratio) == size


def test_wide_ratio_keeps_the_pixel_budget() -> None:
    # Regression: 16:9 used to come out as 1024x576, an exact ratio at 56% of the model's area.
    width, height = size_for_aspect(16, 9)
    assert width * height > 0.9 * 1024 * 1024


def test_base_and_multiple_are_respected() -> None:
    assert size_for_aspect(1, 1, 512, 512) == (512, 512)
    width, height = size_for_aspect(3, 2, 256, 256, 32)
    assert (width % 32, height % 32) == (0, 0)
    assert abs(width * height - 256 * 256) <= AREA_TOLERANCE * 256 * 256


@pytest.mark.parametrize("bad", [(0, 1), (1, 0), (-16, 9)])
def test_non_positive_sides_are_refused(bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        size_for_aspect(*bad)


ratios = st.tuples(st.integers(1, 1000), st.integers(1, 1000)).filter(
    lambda r: 1 / MAX_ASPECT <= r[0] / r[1] <= MAX_ASPECT
)


@settings(max_examples=300, deadline=None)
@given(ratios, st.sampled_from([(1024, 1024, 64), (512, 512, 64), (768, 768, 8), (256, 256, 32)]))
def test_any_allowed_ratio(ratio: tuple[int, int], base: tuple[int, int, int]) -> None:
    width, height = size_for_aspect(*ratio, *base)
    base_width, base_height, multiple = base
    assert width % multiple == 0 and height % multiple == 0 and width > 0 and height > 0
    # Area and ratio are off by at most what the tolerance or one step of the size multiple causes
    # (steps are coarse on small bases: 64 px is a quarter of a 256 px side).
    step = multiple / min(width, height)
    area_error = abs(width * height - base_width * base_height) / (base_width * base_height)
    assert area_error <= max(AREA_TOLERANCE, 2 * step)
    step_error = math.log(1 + step)
    assert abs(math.log((width / height) / (ratio[0] / ratio[1]))) <= step_error
    # Portrait is landscape turned on its side.
    assert size_for_aspect(ratio[1], ratio[0], *base) == (height, width)
