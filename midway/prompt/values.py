"""Value readers for parameters: each checks one value and explains a bad one in the user's terms."""

from __future__ import annotations

import math
import re

from midway.contract import MAX_LORA_WEIGHT, LoraChoice
from midway.prompt.errors import PromptError, shown
from midway.sizing import MAX_ASPECT

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ASPECT = re.compile(r"([0-9]+):([0-9]+)")
# Midjourney's quality steps; V7's `--q 4` is accepted and rounds to the nearest of these.
QUALITY_STEPS = (0.25, 0.5, 1.0, 2.0)
MAX_QUALITY = 4.0


def invalid(param: str, value: str, why: str) -> PromptError:
    return PromptError(f"Invalid value {shown(value)} for {shown('--' + param)}: {why}.", value, param)


def number(param: str, value: str, low: float, high: float, whole: bool = False) -> float:
    """A number within [low, high]; `whole` refuses fractions. Never calls int() on user digits."""
    kind = "a whole number" if whole else "a number"
    # Whole bounds in full (a seed's 4294967295, not 4.29497e+09).
    shown_low, shown_high = (f"{int(low)}", f"{int(high)}") if whole else (f"{low:g}", f"{high:g}")
    expected = f"it must be {kind} from {shown_low} to {shown_high}"
    if not _NUMBER.fullmatch(value):
        raise invalid(param, value, expected)
    # float() of any digit string is safe (huge -> inf); int() of 5000 digits raises ValueError.
    result = float(value)
    if not math.isfinite(result) or not low <= result <= high or (whole and not result.is_integer()):
        raise invalid(param, value, expected)
    return result


def image_weights(urls: list[str], typed: list[str | None]) -> list[float]:
    """Each image's `::` weight (1 where none is typed, or a bare `::` as in text multi-prompts), or []
    (equal) when none is typed. A weight must be a number above zero."""
    if all(weight is None for weight in typed):
        return []
    weights = []
    for url, weight in zip(urls, typed, strict=True):
        value = math.nan if weight and not _NUMBER.fullmatch(weight) else float(weight or 1)
        if not math.isfinite(value) or value <= 0:
            token = f"{url}::{weight}"
            raise PromptError(f"Invalid image weight {shown(token)}: the number after `::` must be above zero, "
                              "like `https://example.com/a.png::2`.", token)
        weights.append(value)
    return weights


def whole(param: str, value: str, low: int, high: int) -> int:
    return int(number(param, value, low, high, whole=True))


def quality(param: str, value: str) -> float:
    wanted = number(param, value, 0, MAX_QUALITY)
    # Nearest step; on a tie the cheaper one (quality only changes GPU time).
    return min(QUALITY_STEPS, key=lambda step: (abs(step - wanted), step))


def aspect(param: str, value: str) -> str:
    """`W:H` with positive whole numbers, at most MAX_ASPECT:1 either way; returned as typed, minus zeros."""
    match = _ASPECT.fullmatch(value)
    if match is None:
        raise invalid(param, value, "write it as two whole numbers like `16:9` (`1.5:1` is not allowed)")
    # Leading zeros are harmless; cap digit count before int() (sides are compared as floats anyway).
    sides = [digits.lstrip("0") or "0" for digits in match.groups()]
    if "0" in sides:
        raise invalid(param, value, "both sides must be above zero")
    ratio = float(sides[0]) / float(sides[1])
    if len(sides[0]) > 9 or len(sides[1]) > 9 or not 1 / MAX_ASPECT <= ratio <= MAX_ASPECT:
        raise invalid(param, value, f"ratios wider or taller than {MAX_ASPECT:g}:1 are not supported")
    return f"{sides[0]}:{sides[1]}"


def negative_items(param: str, value: str) -> list[str]:
    items = [" ".join(item.split()) for item in value.split(",")]
    items = [item for item in items if item]
    if not items:
        raise invalid(param, value, "list what to leave out, separated by commas")
    return items


def style(param: str, value: str) -> str:
    # raw, 4a-4c, Niji 5 styles, tuner codes, random-64: letters, digits and dashes.
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise invalid(param, value, "a style is one word such as `raw`")
    return value.lower() if value.isalpha() else value


def lora(param: str, value: str) -> LoraChoice:
    """`name` or `name::weight` after `--lora`: the weight checked here, the name later against the
    catalogue and the channel (midway/loras.py), which the grammar does not know."""
    name, separator, weight = value.partition("::")
    if not name:
        raise invalid(param, value, "it must name a LoRA, as in `--lora name` or `--lora name::0.8`")
    if not separator:
        return LoraChoice(name=name.lower())
    return LoraChoice(name=name.lower(), weight=number(param, weight, -MAX_LORA_WEIGHT, MAX_LORA_WEIGHT))
