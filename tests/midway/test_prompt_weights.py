"""`::` multi-prompt weights, negative weights, and `--no` as a -0.5 weight."""

from __future__ import annotations

import pytest

from tests.midway.prompt_helpers import error_of, parse_one

WEIGHTS: list[tuple[str, list[tuple[str, float]]]] = [
    ("space ship", []),
    ("space:: ship", [("space", 1.0), ("ship", 1.0)]),
    ("space::2 ship", [("space", 2.0), ("ship", 1.0)]),
    ("space::1.5 ship::.5", [("space", 1.5), ("ship", 0.5)]),
    ("hot dog::1.5 food::-.5", [("hot dog", 1.5), ("food", -0.5)]),
    ("a::3 b::-1 c", [("a", 3.0), ("b", -1.0), ("c", 1.0)]),
    ("space::2 ship --no water", [("space", 2.0), ("ship", 1.0), ("water", -0.5)]),
    ("still life::2 --no fruit, flowers", [("still life", 2.0), ("fruit", -0.5), ("flowers", -0.5)]),
    ("cat::+2 dog", [("cat", 2.0), ("dog", 1.0)]),
    ("a  big ::2   red  ship", [("a big", 2.0), ("red ship", 1.0)]),
]


@pytest.mark.parametrize(("text", "weights"), WEIGHTS, ids=[t for t, _ in WEIGHTS])
def test_weights(text: str, weights: list[tuple[str, float]]) -> None:
    spec = parse_one(text)
    assert spec.weights == weights


def test_prompt_keeps_the_weights_as_typed() -> None:
    spec = parse_one("space::2 ship --no water")
    assert spec.prompt == "space::2 ship"
    assert spec.negative_prompt == "water"


def test_no_without_multiprompt_sets_only_the_negative_prompt() -> None:
    spec = parse_one("a fox --no trees, snow")
    assert (spec.weights, spec.negative_prompt) == ([], "trees, snow")


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("cat::-1 dog", "cat::-1"),
        ("cat::1 dog::-1", "dog::-1"),
        ("cat::0", "cat::0"),
        ("cat::.5 --no dog", "dog::-0.5"),
        ("a:: --no b, c", "b::-0.5"),
    ],
)
def test_total_weight_must_stay_positive(text: str, token: str) -> None:
    error = error_of(text)
    assert error.token == token
    assert "more than zero" in error.message


def test_negative_weight_allowed_while_total_positive() -> None:
    assert parse_one("cat::2 dog::-1.5").weights == [("cat", 2.0), ("dog", -1.5)]
