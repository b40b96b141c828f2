"""A region of an image: the rectangle Vary (Region) repaints, read from text the same way everywhere (pure).

Midjourney's Vary (Region) opens an Activity with a lasso and a rectangle tool; a bot cannot draw inside
Discord, so the modal takes the rectangle as text (reference §3d, "clone note"), and `midway generate
--region` takes the same text: `x,y,w,h` (left, top, width, height) in percent of the image (`25,25,50,50`,
`%` signs optional) or in fractions (`0.25,0.25,0.5,0.5`), or a few words for the usual areas. Any `%`
sign, or any value above 1, means percent; otherwise the values are fractions.
"""

from __future__ import annotations

import re

# (left, top, width, height) as fractions of the image.
Region = tuple[float, float, float, float]

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
_FOUR_NUMBERS = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")


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
    """`x,y,w,h` in percent or fractions, or a named area -> (left, top, width, height) fractions inside the
    image. RegionError (a ValueError) echoes the text when it cannot be read or reaches outside."""
    shown = text.strip()[:60]
    if not shown:
        raise RegionError(f"Say which part of the image to repaint: {PLACEHOLDER}.")
    match = _FOUR_NUMBERS.match(text)
    if match is None:
        named = NAMED.get(_words(text))
        if named is None:
            raise RegionError(f"`{shown}` is not a region. Use {PLACEHOLDER}.")
        return named
    values = [float(value) for value in match.groups()]
    percent = "%" in text or any(value > 1 for value in values)
    left, top, width, height = (value / 100 if percent else value for value in values)
    unit = "percent" if percent else "fractions"
    if min(left, top) < 0 or width <= 0 or height <= 0:
        raise RegionError(f"`{shown}`: x and y must be 0 or more, width and height more than 0 ({unit}).")
    if left + width > 1 + 1e-9 or top + height > 1 + 1e-9:
        limit = "100 (percent)" if percent else "1 (fractions)"
        raise RegionError(f"`{shown}` reaches outside the image: x + w and y + h must be at most {limit}.")
    return (left, top, width, height)
