"""`::` multi-prompts: `space::2 ship` -> [("space", 2.0), ("ship", 1.0)].

Midjourney normalises the weights (`::` alone is `::1`), allows negative ones as long as the total
stays positive, and treats `--no x` as `x::-.5`.
"""

from __future__ import annotations

import math
import re

from midway.prompt.errors import PromptError, shown

# `::` optionally followed directly by a number (`::2`, `::-.5`, `::1.25`).
_SEPARATOR = re.compile(r"::([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?")
NO_WEIGHT = -0.5
# No model needs more; the bound also keeps `::99999…` from becoming infinity.
MAX_ABS_WEIGHT = 1000.0


def split_weights(text: str, negative_items: list[str]) -> list[tuple[str, float]]:
    """The weighted parts of `text`, plus the `--no` items at -0.5; empty when `text` has no `::`."""
    if "::" not in text:
        return []
    pieces = _SEPARATOR.split(text)
    # re.split with one group alternates: text, weight-or-None, text, weight-or-None, ..., text.
    parts: list[tuple[str, float]] = []
    for index in range(0, len(pieces) - 1, 2):
        parts.append((" ".join(pieces[index].split()), _weight(pieces[index + 1])))
    parts.append((" ".join(pieces[-1].split()), 1.0))
    # `a:: b` ends with text; `a::2` ends with an empty part that carries nothing.
    weighted = [(part, weight) for part, weight in parts if part]
    if not weighted:
        raise PromptError("Your prompt has `::` but no text around it.", "::")
    weighted += [(item, NO_WEIGHT) for item in negative_items]
    _check_total(weighted)
    return weighted


def _weight(typed: str | None) -> float:
    if typed is None:
        return 1.0
    weight = float(typed)
    if not math.isfinite(weight) or abs(weight) > MAX_ABS_WEIGHT:
        raise PromptError(
            f"The weight {shown('::' + typed)} is too large; weights go from "
            f"-{MAX_ABS_WEIGHT:g} to {MAX_ABS_WEIGHT:g}.",
            "::" + typed,
        )
    return weight


def _check_total(weighted: list[tuple[str, float]]) -> None:
    total = sum(weight for _, weight in weighted)
    if weighted and total <= 0:
        part, weight = min(weighted, key=lambda item: item[1])
        token = f"{part}::{weight:g}"
        raise PromptError(
            f"The `::` weights add up to {total:g}; they must add up to more than zero "
            f"(the most negative part is {shown(token)}; `--no` items count as -0.5).",
            token,
        )
