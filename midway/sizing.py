"""Aspect ratio -> concrete pixel size (pure).

Midjourney keeps the pixel area of the model's base size and picks the ratio as close as possible
within the size multiple the model needs (`--ar 16:9` may come out as 7:4). We do the same.
"""

from __future__ import annotations

import math

# Ratios past this are refused: beyond ~8:1 a 1-megapixel image is a few latent rows tall.
MAX_ASPECT = 8.0


def size_for_aspect(
    width_ratio: int, height_ratio: int, base_width: int = 1024, base_height: int = 1024, multiple: int = 64
) -> tuple[int, int]:
    """Pixel size with the base size's area, each side a multiple of `multiple`, ratio closest to W:H."""
    if width_ratio <= 0 or height_ratio <= 0:
        raise ValueError(f"aspect ratio sides must be positive, got {width_ratio}:{height_ratio}")
    target = width_ratio / height_ratio
    area = base_width * base_height
    ideal_h = math.sqrt(area / target)
    best: tuple[float, float, int, int] | None = None
    # Search heights around the ideal one; score by ratio error first, then by area error.
    centre = max(1, round(ideal_h / multiple))
    for h_units in range(max(1, centre - 3), centre + 4):
        height = h_units * multiple
        width = max(multiple, round(height * target / multiple) * multiple)
        ratio_error = abs(math.log((width / height) / target))
        area_error = abs(width * height - area) / area
        score = (round(ratio_error, 3), area_error, width, height)
        if best is None or score < best:
            best = score
    assert best is not None
    return best[2], best[3]
