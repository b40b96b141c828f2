"""Table-driven: bad prompts -> a PromptError naming the offending token, and every range bound."""

from __future__ import annotations

import pytest

from tests.midway.prompt_helpers import error_of, parse, parse_one

ERRORS: list[tuple[str, str]] = [
    # (prompt, the token the error must name)
    ("", ""),
    ("   ", ""),
    ("--ar 16:9", ""),
    ("a cat --ar 16:9 in a hat", "in"),
    ("--ar 16:9 a cat", "a"),
    ("a cat --tile please", "please"),
    ("a cat --niji 6 extra", "extra"),
    ("a cat --ar", "--ar"),
    ("a cat --ar --tile", "--ar"),
    ("a cat --no", "--no"),
    ("a cat --no , ,", ", ,"),
    ("a cat --foo", "--foo"),
    ("a cat --", "--"),
    ("a cat --ar=16:9", "--ar=16:9"),
    ("a cat --sref file:///etc/passwd", "file:///etc/passwd"),
    ("a cat --video", "--video"),
    ("a cat --ar 1:1 --ar 2:3", "--ar"),
    ("a cat --ar 1:1 --aspect 2:3", "--aspect"),
    ("a cat --s 5 --stylize 6", "--stylize"),
    ("a cat --fast --relax", "--relax"),
    ("a cat --v 6 --niji", "--niji"),
    ("a cat --style raw --raw", "--raw"),
    ("a cat —ar 1:1 —ar 1:1", "--ar"),
    ("a cat --ar 1.5:1", "1.5:1"),
    ("a cat --ar 16x9", "16x9"),
    ("a cat --ar 0:1", "0:1"),
    ("a cat --ar -1:1", "-1:1"),
    ("a cat --ar 9:1", "9:1"),
    ("a cat --ar 1:9", "1:9"),
    ("a cat --ar 99999999999:1", "99999999999:1"),
    ("a cat --chaos lots", "lots"),
    ("a cat --chaos ９", "９"),
    ("a cat --ar ١٦:٩", "١٦:٩"),
    ("a cat --chaos 5.5", "5.5"),
    ("a cat --seed 1e5", "1e5"),
    ("a cat --seed " + "9" * 5000, "9" * 5000),
    ("a cat --q nan", "nan"),
    ("a cat --iw inf", "inf"),
    ("a cat --style raw!", "raw!"),
    ("a cat --v 9", "9"),
    ("a cat --v banana", "banana"),
    ("a cat --niji 3", "niji 3"),
    ("a cat --r 5", "5"),
    ("a cat --r 0", "0"),
    ("https://e.com/page cat", "https://e.com/page"),
    ("https://e.com/a.png.html cat", "https://e.com/a.png.html"),
    ("a {red, blue car", "{"),
    ("a red} car", "}"),
    ("a cat::-2 dog", "a cat::-2"),
    (":: --no x", "::"),
    ("a:: --no x, y", "x::-0.5"),
    ("a::99999 b", "::99999"),
]


@pytest.mark.parametrize(("text", "token"), ERRORS, ids=[text[:40] for text, _ in ERRORS])
def test_bad_prompt_names_the_token(text: str, token: str) -> None:
    error = error_of(text)
    assert error.token == token
    assert error.message == str(error)
    # The user must be able to find what is wrong in what they typed.
    assert token[:50] in error.message


# (param, lowest allowed, highest allowed, just below, just above)
BOUNDS = [
    ("chaos", "0", "100", "-1", "101"),
    ("stop", "10", "100", "9", "101"),
    ("stylize", "0", "1000", "-1", "1001"),
    ("weird", "0", "3000", "-1", "3001"),
    ("seed", "0", "4294967295", "-1", "4294967296"),
    ("iw", "0", "3", "-0.01", "3.01"),
    ("quality", "0", "4", "-0.1", "4.1"),
    ("repeat", "2", "4", "1", "5"),  # Midjourney: from 2
]


@pytest.mark.parametrize(("param", "low", "high", "below", "above"), BOUNDS, ids=[b[0] for b in BOUNDS])
def test_range_bounds(param: str, low: str, high: str, below: str, above: str) -> None:
    for inside in (low, high):
        assert parse(f"fox --{param} {inside}"), inside
    for outside in (below, above):
        error = error_of(f"fox --{param} {outside}")
        assert error.token == outside
        assert f"--{param}" in error.message


def test_repeat_cap_is_configurable() -> None:
    assert error_of("fox --r 3", max_repeat=2).token == "3"
    assert len(parse("fox --r 6", max_repeat=6)) == 6


def test_too_long_prompt_names_its_length() -> None:
    error = error_of("a" * 6001)
    assert "6001" in error.message and "6000" in error.message
    assert parse_one("a" * 6000).prompt == "a" * 6000
    assert error_of("a" * 101, max_length=100).token == "101 characters"


def test_known_midjourney_param_is_explained_as_unsupported() -> None:
    assert "doesn't support" in error_of("fox --video").message
    assert "Unknown parameter" in error_of("fox --colour red").message


def test_unknown_version_lists_the_available_ones() -> None:
    error = error_of("fox --v 5", aliases={"6": "sdxl", "niji 6": "anime"})
    assert error.token == "5"
    assert "6" in error.message and "niji 6" in error.message


def test_a_seed_out_of_range_names_the_range_in_full() -> None:
    assert "from 0 to 4294967295" in error_of("fox --seed 4294967296").message


def test_an_invisible_space_pasted_before_a_parameter_does_not_hide_it() -> None:
    for invisible in ("\u200b", "\u2060", "\ufeff"):
        [spec] = parse(f"a fox {invisible}--ar 16:9")
        assert (spec.prompt, spec.aspect_ratio) == ("a fox", "16:9")
    # Joiners are kept: emoji sequences and scripts need them.
    assert parse("a family \U0001F468\u200d\U0001F469\u200d\U0001F467")[0].prompt.count("\u200d") == 2
