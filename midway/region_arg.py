"""`--region x,y,w,h` for the CLI: the rectangle to repaint, as fractions of the image (pure, torch-free).

Values are fractions (0.25,0.25,0.5,0.5) or percent (25,25,50,50 or 25%,25%,50%,50%): any `%` sign, or
any value above 1, means percent. The contract's validator checks that the rectangle lies inside.
"""

from __future__ import annotations

Region = tuple[float, float, float, float]


def parse_region_arg(text: str) -> Region:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"--region {text!r}: give x,y,w,h (fractions like 0.25 or percent like 25%)")
    try:
        values = [float(part.rstrip("%").strip()) for part in parts]
    except ValueError:
        raise ValueError(f"--region {text!r}: x,y,w,h must be numbers") from None
    percent = "%" in text or any(value > 1 for value in values)
    left, top, width, height = (value / 100 if percent else value for value in values)
    if min(left, top) < 0 or width <= 0 or height <= 0 or left + width > 1 + 1e-9 or top + height > 1 + 1e-9:
        raise ValueError(f"--region {text!r} must lie inside the image, with width and height above 0")
    return (left, top, width, height)
