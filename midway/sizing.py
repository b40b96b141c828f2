"""Aspect ratio -> concrete pixel size (pure).

Midjourney keeps the pixel area of the model's base size and picks the ratio as close as possible
within the size multiple the model needs (`--ar 16:9` may come out as 7:4). We do the same: among
sizes within AREA_TOLERANCE of the base area, the closest ratio wins (16:9 at a 1024x1024 base ->
1344x768, SDXL's own 16:9 bucket), so a wide image keeps the pixel budget the model was trained on.
"""

from __future__ import annotations

import functools
import math

# Ratios past this are refused (the prompt parser enforces it): beyond ~8:1 a 1-megapixel image is a
# few latent rows tall and the models produce garbage.
MAX_ASPECT = 8.0
# Sizes whose area is within this fraction of the base area compete on ratio; the others are only a
# fallback, judged on ratio and area error together (small bases, where the size step is coarse).
AREA_TOLERANCE = 0.10


# Pure and called twice per /imagine before its acknowledgement; a server uses a handful of ratios.
@functools.lru_cache(maxsize=1024)
def size_for_aspect(
    width_ratio: int, height_ratio: int, base_width: int = 1024, base_height: int = 1024, multiple: int = 64
) -> tuple[int, int]:
    """Pixel size with about the base size's area, each side a multiple of `multiple`, ratio closest to W:H."""
    if width_ratio <= 0 or height_ratio <= 0:
        raise ValueError(f"aspect ratio sides must be positive, got {width_ratio}:{height_ratio}")
    if width_ratio < height_ratio:
        # Portrait is landscape transposed, so 2:3 is exactly 3:2 turned on its side.
        height, width = size_for_aspect(height_ratio, width_ratio, base_width, base_height, multiple)
        return width, height
    target = width_ratio / height_ratio
    area = base_width * base_height
    centre = max(1, round(math.sqrt(area / target) / multiple))
    candidates: list[tuple[bool, float, float, int, int]] = []
    for height_units in range(max(1, centre - 3), centre + 4):
        height = height_units * multiple
        exact_units = height * target / multiple
        for width_units in {max(1, math.floor(exact_units)), max(1, math.ceil(exact_units))}:
            width = width_units * multiple
            candidates.append(_score(width, height, target, area) + (width, height))
    best = min(candidates)
    return best[3], best[4]


def _score(width: int, height: int, target: float, area: int) -> tuple[bool, float, float]:
    """Sort key: in-tolerance sizes first, by ratio error then area error; others by both errors summed."""
    ratio_error = abs(math.log((width / height) / target))
    area_error = abs(width * height - area) / area
    if area_error <= AREA_TOLERANCE:
        return (False, round(ratio_error, 3), area_error)
    return (True, ratio_error + abs(math.log(width * height / area)), 0.0)
