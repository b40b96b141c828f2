"""Property: any text whatever gives specs or a PromptError, never another exception, in bounded time."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from midway.contract import GenerationSpec
from midway.prompt import ParseOptions, PromptError, parse_prompt

FRAGMENTS = [
    "{",
    "}",
    ",",
    "\\",
    "\\,",
    "\\{",
    "\\}",
    "::",
    ":",
    "::-",
    "::2",
    "::-.5",
    "::1e9",
    "--",
    "—",
    "–",
    " ",
    "\n",
    "--ar",
    "--ar 16:9",
    "16:9",
    "1.5:1",
    "--no",
    "--no a, b",
    "--q",
    "--r",
    "--r 3",
    "--repeat 9",
    "--seed",
    "4294967295",
    "99999999999999999999",
    "--v",
    "--niji",
    "--v 6",
    "--style raw",
    "--raw",
    "--tile",
    "--iw",
    "--s",
    "--c",
    "--w",
    "--stop",
    "--fast",
    "--relax",
    ".5",
    "-1",
    "0",
    "nan",
    "inf",
    "https://e.com/a.png ",
    "<https://e.com/b.webp> ",
    "https://e.com/c.png::2 ",
    "<https://e.com/d.jpg>::-1 ",
    "http://[::1/x.png ",
    "https://e.com/page ",
    "cat",
    "🦊",
    "\u200b",
    "\x00",
    "é",
    "ß",
    "\u202e",
    "９",
    "٣",
]
fragment_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=60).map("".join)
OPTIONS = ParseOptions(seed_source=lambda: 7)


def parse_or_refuse(text: str) -> None:
    started = time.monotonic()
    try:
        specs = parse_prompt(text, OPTIONS)
    except PromptError as error:
        assert isinstance(error.message, str) and error.message
        assert isinstance(error.token, str)
    else:
        assert 1 <= len(specs) <= OPTIONS.max_permutations * OPTIONS.max_repeat
        for spec in specs:
            # Each spec is valid on its own and survives the wire.
            assert GenerationSpec.model_validate_json(spec.model_dump_json()) == spec
    assert time.monotonic() - started < 2.0


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(fragment_text)
def test_grammar_fragments_never_crash(text: str) -> None:
    parse_or_refuse(text)


@settings(max_examples=200, deadline=2000)
@given(st.text(max_size=200))
def test_any_unicode_never_crashes(text: str) -> None:
    parse_or_refuse(text)


@settings(max_examples=30, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["{a,b}", "{", "}", "::", "--", "{,}", "\\", ","]), min_size=500, max_size=2000))
def test_long_adversarial_prompts_finish_quickly(parts: list[str]) -> None:
    parse_or_refuse("".join(parts)[:6000])
