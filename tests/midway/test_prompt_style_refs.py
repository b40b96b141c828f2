"""`--sref` (style reference links with `::` weights, style codes, `random`) and `--sw`."""

from __future__ import annotations

import itertools

import pytest

from tests.midway.prompt_helpers import error_of, parse_one

A, B = "https://e.com/a.png", "https://e.com/b.jpg"


def test_style_links_with_weights_and_sw() -> None:
    spec = parse_one(f"a fox --sref {A}::2 <{B}> --sw 300")
    assert (spec.style_refs, spec.style_ref_weights, spec.style_weight, spec.style_code) == \
        ([A, B], [2.0, 1.0], 300, None)
    assert spec.prompt == "a fox" and spec.image_urls == []
    assert spec.full_prompt == f"a fox --sref {A}::2 <{B}> --sw 300"  # values echoed as typed
    default = parse_one(f"a fox --sref {A}")
    assert (default.style_weight, default.style_ref_weights) == (100, [])


def test_a_style_code_and_a_random_one_echoed_for_reuse() -> None:
    assert parse_one("a fox --sref 1234").style_code == 1234
    draws = itertools.count(500)
    spec = parse_one(f"a fox --sref random {A}", seed_source=lambda: next(draws))
    assert spec.style_code is not None and spec.style_refs == [A]
    # The echo carries the drawn code, and pasting it back gives the same style code.
    assert spec.full_prompt == f"a fox --sref {spec.style_code} {A}"
    again = parse_one(spec.full_prompt)
    assert (again.style_code, again.style_refs) == (spec.style_code, [A])


@pytest.mark.parametrize(("text", "token"), [
    ("a fox --sref file:///etc/passwd", "file:///etc/passwd"),
    ("a fox --sref https://e.com/page.html", "https://e.com/page.html"),
    ("a fox --sref 1 2", "2"),
    ("a fox --sref", "--sref"),
    ("a fox --sref -5", "-5"),
    (f"a fox --sref {A}::0", f"{A}::0"),
    ("a fox --sw 1001", "1001"),
    ("a fox --sw 50.5", "50.5"),
])
def test_bad_style_references_are_refused_naming_the_value(text: str, token: str) -> None:
    assert error_of(text).token == token


def test_character_refs_with_weights_cw_and_an_omni_ref_are_echoed() -> None:
    spec = parse_one(f"a fox --cref {A}::2 {B} --cw 0 --oref {B} --ow 400")
    assert (spec.character_refs, spec.character_ref_weights, spec.character_weight) == ([A, B], [2.0, 1.0], 0)
    assert (spec.omni_refs, spec.omni_weight) == ([B], 400)
    assert spec.full_prompt == f"a fox --cref {A}::2 {B} --cw 0 --oref {B} --ow 400"
    default = parse_one(f"a fox --cref {A}")
    assert (default.character_weight, default.omni_weight, default.omni_refs) == (100, 100, [])


@pytest.mark.parametrize(("prompt", "token"), [
    (f"a fox --cref {A} --cw 101", "101"),
    (f"a fox --oref {A} --ow 0", "0"),
    (f"a fox --oref {A} --ow 1001", "1001"),
    ("a fox --cref 1234", "1234"),
    (f"a fox --oref {A} {B}", f"{A} {B}"),
    (f"a fox --cref {' '.join([A] * 6)}", A),
])
def test_character_and_omni_errors_name_the_value(prompt: str, token: str) -> None:
    assert error_of(prompt).token == token

