"""`{a, b}` permutations and `--repeat`: how one prompt becomes several independent specs."""

from __future__ import annotations

import time

import pytest

from tests.midway.prompt_helpers import FIXED_SEED, error_of, parse

EXPANSIONS: list[tuple[str, list[str]]] = [
    ("a {red, blue} car", ["a red car", "a blue car"]),
    ("a {red,blue} {car, bike}", ["a red car", "a red bike", "a blue car", "a blue bike"]),
    ("{a,b} {c,d} {e,f}", ["a c e", "a c f", "a d e", "a d f", "b c e", "b c f", "b d e", "b d f"]),
    ("a {big {red, blue}, small} car", ["a big red car", "a big blue car", "a small car"]),
    ("a {, tiny} cat", ["a cat", "a tiny cat"]),
    ("a {single} cat", ["a single cat"]),
    ("a cat {}", ["a cat"]),
    (r"salt\, pepper", ["salt, pepper"]),
    (r"a {salt\, pepper, sugar} jar", ["a salt, pepper jar", "a sugar jar"]),
    (r"a \{literal\} brace", ["a {literal} brace"]),
    (r"{\{a\}, b}", ["{a}", "b"]),
    (r"back\slash", [r"back\slash"]),
]


@pytest.mark.parametrize(("text", "prompts"), EXPANSIONS, ids=[t for t, _ in EXPANSIONS])
def test_permutations_expand_in_order(text: str, prompts: list[str]) -> None:
    assert [spec.prompt for spec in parse(text)] == prompts


def test_groups_inside_parameters() -> None:
    specs = parse("a fox --ar {1:1, 16:9}")
    assert [(s.aspect_ratio, s.width, s.height) for s in specs] == [("1:1", 1024, 1024), ("16:9", 1344, 768)]
    assert [s.full_prompt for s in specs] == ["a fox --ar 1:1", "a fox --ar 16:9"]


def test_nested_group_adds_a_parameter() -> None:
    # Midjourney's own example: three jobs, the last with raw style.
    specs = parse("a fox --v {5.2, 6 {, --style raw}}")
    assert [(s.version, s.style) for s in specs] == [("5.2", None), ("6", None), ("6", "raw")]


def test_each_expansion_is_validated_on_its_own() -> None:
    assert error_of("a fox --chaos {5, 500}").token == "500"
    assert error_of("a fox --ar {1:1, 1.5:1}").token == "1.5:1"


def test_expansion_cap_names_the_count() -> None:
    error = error_of("{a,b} {c,d} {e,f} {g,h}")
    assert error.token == "16"
    assert "16" in error.message and "10" in error.message
    assert len(parse("{a,b} {c,d} {e,f} {g,h}", max_permutations=16)) == 16


def test_huge_expansion_is_refused_without_expanding() -> None:
    started = time.monotonic()
    error = error_of("{a,b} " * 30)
    assert time.monotonic() - started < 1.0
    assert "more than" in error.message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    error = error_of("{" * 3000 + "}" * 3000)
    assert error.token == "{"


def test_repeat_copies_share_no_image() -> None:
    specs = parse("a fox --repeat 3")
    # Image i of a grid draws from seed + i (engines/params.py): copies step by a whole grid, so each
    # copy's four images are new (consecutive seeds would have shared three of them).
    assert [s.seed for s in specs] == [FIXED_SEED, FIXED_SEED + 4, FIXED_SEED + 8]
    image_seeds = [s.seed + i for s in specs for i in range(s.n_images)]
    assert len(set(image_seeds)) == len(image_seeds) == 12
    assert {s.prompt for s in specs} == {"a fox"}
    # The copies are separate jobs: none of them repeats again.
    assert all("--repeat" not in s.full_prompt for s in specs)


def test_repeat_seeds_wrap_below_the_seed_limit() -> None:
    assert [s.seed for s in parse("fox --r 2 --seed 4294967295")] == [4294967295, 3]


def test_permutations_then_repeat() -> None:
    specs = parse("a {red, blue} fox --r 2")
    assert [s.prompt for s in specs] == ["a red fox", "a red fox", "a blue fox", "a blue fox"]
    assert len({(s.prompt, s.seed) for s in specs}) == 4


def test_repeat_inside_permutation() -> None:
    assert len(parse("fox --r {2, 3}")) == 5
