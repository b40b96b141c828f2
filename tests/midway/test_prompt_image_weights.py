"""Per-image `::` weights on leading image URLs: `https://e.com/a.png::2 https://e.com/b.png a fox`."""

from __future__ import annotations

import pytest

from tests.midway.prompt_helpers import error_of, parse_one

A, B, C = "https://e.com/a.png", "https://e.com/b.jpg", "https://e.com/c.webp"

IMAGE_WEIGHTS: list[tuple[str, list[str], list[float]]] = [
    (f"{A} {B} a fox", [A, B], []),  # none typed: equal
    (f"{A}::2 {B} a fox", [A, B], [2.0, 1.0]),
    (f"{A} {B}::.5 a fox", [A, B], [1.0, 0.5]),
    (f"{A}::1.5 {B}::3 {C} a fox", [A, B, C], [1.5, 3.0, 1.0]),
    (f"<{A}>::2 {B} a fox", [A, B], [2.0, 1.0]),  # Discord's no-embed brackets
    (f"{A}:: {B}::2 a fox", [A, B], [1.0, 2.0]),  # a bare `::` is 1, as in text multi-prompts
    (f"{A}::2 {B}", [A, B], [2.0, 1.0]),  # images only
    ("https://e.com/x::y.png a fox", ["https://e.com/x::y.png"], []),  # `::` inside an image link stays
]


@pytest.mark.parametrize(("text", "urls", "weights"), IMAGE_WEIGHTS, ids=[t for t, _, _ in IMAGE_WEIGHTS])
def test_image_weights(text: str, urls: list[str], weights: list[float]) -> None:
    spec = parse_one(text)
    assert (spec.image_urls, spec.image_weights) == (urls, weights)


def test_weights_do_not_leak_into_the_text_and_are_echoed_as_typed() -> None:
    spec = parse_one(f"{A}::2 {B} fox::2 snow --iw 1.5")
    assert spec.prompt == "fox::2 snow"
    assert spec.weights == [("fox", 2.0), ("snow", 1.0)]
    assert spec.image_weight == 1.5
    assert spec.full_prompt == f"{A}::2 {B} fox::2 snow --iw 1.5"
    assert parse_one(spec.full_prompt).image_weights == [2.0, 1.0]


@pytest.mark.parametrize("weight", ["0", "-1", "-.5", "abc", "1e9", "nan"])
def test_an_image_weight_must_be_a_number_above_zero(weight: str) -> None:
    error = error_of(f"{A}::{weight} {B} a fox")
    assert "above zero" in error.message and error.token == f"{A}::{weight}"


def test_a_weighted_link_that_is_no_image_is_refused_as_a_link() -> None:
    error = error_of("https://e.com/page::2 a fox")
    assert "Invalid link" in error.message and error.token == "https://e.com/page::2"
