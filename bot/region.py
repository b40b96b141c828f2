"""Vary (Region)'s region field: text -> the rectangle to repaint, as fractions of the image (pure).

Midjourney's Vary (Region) opens an Activity with a lasso and a rectangle tool; a bot cannot draw inside
Discord, so the modal takes the rectangle as text (reference §3d, "clone note"): `x,y,w,h` in percent of
the image (left, top, width, height; `%` signs optional), or a few words for the usual areas.
"""

from __future__ import annotations

import re

from engines.region import Region

# Discord caps placeholders at 100 characters (midway/discord_limits.TEXT_INPUT_PLACEHOLDER).
PLACEHOLDER = "x,y,w,h in % (e.g. 25,25,50,50) or words: center, top-left, bottom half, right third"

_HALF, _THIRD = 0.5, 1 / 3
# Named areas: corners are quarters, sides are halves unless a third is asked for.
NAMED: dict[str, Region] = {
    "center": (0.25, 0.25, 0.5, 0.5),
    "top left": (0.0, 0.0, _HALF, _HALF),
    "top right": (_HALF, 0.0, _HALF, _HALF),
    "bottom left": (0.0, _HALF, _HALF, _HALF),
    "bottom right": (_HALF, _HALF, _HALF, _HALF),
    "top half": (0.0, 0.0, 1.0, _HALF),
    "bottom half": (0.0, _HALF, 1.0, _HALF),
    "left half": (0.0, 0.0, _HALF, 1.0),
    "right half": (_HALF, 0.0, _HALF, 1.0),
    "top third": (0.0, 0.0, 1.0, _THIRD),
    "bottom third": (0.0, 1 - _THIRD, 1.0, _THIRD),
    "left third": (0.0, 0.0, _THIRD, 1.0),
    "right third": (1 - _THIRD, 0.0, _THIRD, 1.0),
    "middle third": (_THIRD, 0.0, _THIRD, 1.0),
    "whole": (0.0, 0.0, 1.0, 1.0),
}
_SYNONYMS = {"centre": "center", "middle": "center", "upper": "top", "lower": "bottom", "everything": "whole",
             "all": "whole", "full": "whole"}
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*%?\s*"
_PERCENTS = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")


class RegionError(ValueError):
    """A region the user typed that we cannot read; the message is for the user and echoes the text."""


def _words(text: str) -> str:
    words = re.sub(r"[-_/]+", " ", text.lower()).split()
    words = [_SYNONYMS.get(word, word) for word in words]
    if words and words[-1] == "quarter":  # "top left quarter" is the top-left corner
        words = words[:-1]
    if len(words) == 1 and words[0] in ("top", "bottom", "left", "right"):
        words.append("half")
    return " ".join(words)


def parse_region(text: str) -> Region:
    """`x,y,w,h` in percent, or a named area -> (left, top, width, height) fractions inside the image."""
    shown = text.strip()[:60]
    if not shown:
        raise RegionError(f"Say which part of the image to repaint: {PLACEHOLDER}.")
    match = _PERCENTS.match(text)
    if match is None:
        named = NAMED.get(_words(text))
        if named is None:
            raise RegionError(f"`{shown}` is not a region. Use {PLACEHOLDER}.")
        return named
    left, top, width, height = (float(value) for value in match.groups())
    if min(left, top) < 0 or width <= 0 or height <= 0:
        raise RegionError(f"`{shown}`: x and y must be 0 or more, width and height more than 0 (percent).")
    if left + width > 100 or top + height > 100:
        raise RegionError(f"`{shown}` reaches outside the image: x + w and y + h must be at most 100 (percent).")
    return (left / 100, top / 100, width / 100, height / 100)
