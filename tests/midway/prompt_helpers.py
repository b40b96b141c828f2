"""Shared helpers for the prompt tests: a parser with a fixed seed, and error capture."""

from __future__ import annotations

import pytest

from midway.contract import GenerationSpec
from midway.prompt import ParseOptions, PromptError, parse_prompt

FIXED_SEED = 1234


def parse(text: str, **options) -> list[GenerationSpec]:
    options.setdefault("seed_source", lambda: FIXED_SEED)
    return parse_prompt(text, ParseOptions(**options))


def parse_one(text: str, **options) -> GenerationSpec:
    specs = parse(text, **options)
    assert len(specs) == 1, specs
    return specs[0]


def error_of(text: str, **options) -> PromptError:
    with pytest.raises(PromptError) as caught:
        parse(text, **options)
    return caught.value
