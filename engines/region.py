"""Vary (Region): which pixels get repainted, and the spec the bot sends. Pillow and numpy only, no torch:
the spec itself comes from midway/spec_edits.py (`region_spec`).

Spec fields and semantics (midway/contract.py, GenerationSpec):
- `operation = "inpaint"`, `region = (left, top, width, height)` as fractions of the image, `init_image`
  = the source; the canvas is `width x height` (the source's own size; a source of another size is
  resized to it). The rectangle, grown by a narrow seam band (`seam`), is inpainted from the prompt;
  everything else keeps the source's own pixels, blended back across the band so the edit has no hard
  edge. 4 images, image i from (seed, i), like every grid.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from midway.contract import GenerationSpec
from midway.region import Region


def box(region: Region, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The region in pixels (left, top, right, bottom) of an image of `size`: at least one pixel."""
    width, height = size
    left, top = round(region[0] * width), round(region[1] * height)
    right = max(left + 1, min(width, round((region[0] + region[2]) * width)))
    bottom = max(top + 1, min(height, round((region[1] + region[3]) * height)))
    return min(left, width - 1), min(top, height - 1), right, bottom


def seam(size: tuple[int, int]) -> int:
    """Width of the band just outside the region that is repainted too, then blended back."""
    return max(4, round(min(size) / 32))


def keep_alpha(region: Region, size: tuple[int, int]) -> np.ndarray:
    """(H, W) in [0, 1]: how much of the source to keep at each pixel. 0 inside the region, rising to 1
    over `seam` pixels outside it."""
    width, height = size
    left, top, right, bottom = box(region, size)
    band = seam(size)

    def distance(count: int, start: int, end: int) -> np.ndarray:
        # Pixels (centres) outside [start, end) along one axis, 0 inside.
        position = np.arange(count) + 0.5
        return np.maximum(np.maximum(start - position, position - end), 0)

    outside = np.maximum.outer(distance(height, top, bottom), distance(width, left, right))
    return np.clip(outside / band, 0, 1)


def source_and_mask(source: Image.Image, spec: GenerationSpec) -> tuple[Image.Image, Image.Image]:
    """The source at the spec's size, and the inpainting mask (white = paint): the region and its seam."""
    if spec.region is None:
        raise ValueError("a region variation needs a region")
    size = (spec.width, spec.height)
    image = source.convert("RGB")
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    mask = Image.fromarray(((keep_alpha(spec.region, size) < 1) * 255).astype(np.uint8))  # mode "L"
    return image, mask


def paste_back(generated: Image.Image, source: Image.Image, region: Region) -> Image.Image:
    """The generated image with the source's own pixels outside the region, blended across the seam."""
    alpha = keep_alpha(region, source.size)[..., None]
    painted = np.asarray(generated.convert("RGB").resize(source.size), dtype=np.float32)
    mixed = alpha * np.asarray(source, dtype=np.float32) + (1 - alpha) * painted
    return Image.fromarray(mixed.round().astype(np.uint8))
