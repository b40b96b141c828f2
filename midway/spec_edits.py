"""The specs of derived jobs: Zoom Out, Pan and Vary (Region) from the spec of the image they start from
(pure, torch- and numpy-free). The bot builds them; the engines paint them (engines/outpaint.py,
engines/region.py say how the canvas and masks follow from these fields).
"""

from __future__ import annotations

import math

from midway.contract import GenerationSpec, Operation, PanDirection
from midway.region import Region

PAN_GROWTH = 1.5
MIN_ZOOM, MAX_ZOOM = 1.0, 2.0
# The largest canvas a zoom / pan / Make Square may make when the channel sets no `max_side`, relative to
# the engine's base size: each pan grows the canvas by half (1024 -> 1536 -> 2304 -> ...), so without a
# bound repeated pans end in GPU out-of-memory. Each side <= 3x the base side, area <= 4x the base area.
MAX_CANVAS_SIDE_FACTOR = 3
MAX_CANVAS_AREA_FACTOR = 4


def aspect_ratio(width: int, height: int) -> str:
    """`--ar` text of a size, reduced: 384x256 -> "3:2"."""
    divisor = math.gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def pan_size(width: int, height: int, direction: PanDirection | str, multiple: int = 8) -> tuple[int, int]:
    """The canvas after panning: the side along `direction` grows by 50%, rounded to `multiple`."""
    direction = PanDirection(direction)

    def grow(side: int) -> int:
        return max(side + multiple, round(side * PAN_GROWTH / multiple) * multiple)

    if direction in (PanDirection.left, PanDirection.right):
        return grow(width), height
    return width, grow(height)


def canvas_limit(width: int, height: int, base_width: int, base_height: int,
                 max_side: int | None = None) -> str | None:
    """Why a `width x height` outpaint canvas is too large (the limit, in words), or None when it fits:
    the channel's `max_side` when set, else the default bound relative to the engine's base size."""
    if max_side is not None:
        if max(width, height) > max_side:
            return f"this channel's limit of {max_side} pixels per side"
        return None
    side_limit = MAX_CANVAS_SIDE_FACTOR * max(base_width, base_height)
    if max(width, height) > side_limit or width * height > MAX_CANVAS_AREA_FACTOR * base_width * base_height:
        return (f"the largest canvas this engine paints: {side_limit} pixels per side and "
                f"{MAX_CANVAS_AREA_FACTOR}x its {base_width}x{base_height} area")
    return None


def pan_spec(spec: GenerationSpec, direction: PanDirection | str, multiple: int = 8) -> GenerationSpec:
    """The spec of a Pan job from the spec of the image being panned (caller sets init_image and seed)."""
    width, height = pan_size(spec.width, spec.height, direction, multiple)
    return spec.model_copy(update={
        "operation": Operation.pan, "pan": PanDirection(direction), "zoom": None, "width": width,
        "height": height, "aspect_ratio": aspect_ratio(width, height), "n_images": 4, "strength": None,
    })


def zoom_spec(spec: GenerationSpec, factor: float) -> GenerationSpec:
    """The spec of a Zoom Out job (same canvas size) from the spec of the image being zoomed out."""
    if not MIN_ZOOM <= factor <= MAX_ZOOM:
        raise ValueError(f"zoom factor must be between {MIN_ZOOM} and {MAX_ZOOM}, got {factor}")
    return spec.model_copy(update={"operation": Operation.zoom, "zoom": factor, "pan": None, "n_images": 4,
                                   "strength": None})


def region_spec(spec: GenerationSpec, region: Region) -> GenerationSpec:
    """The spec of a Vary (Region) job from the spec of the image being edited (caller sets init_image and
    seed). Raises ValueError (from the contract) when the region does not lie inside the image."""
    return GenerationSpec.model_validate({
        **spec.model_dump(), "operation": Operation.inpaint, "region": region, "zoom": None, "pan": None,
        "n_images": 4, "strength": None, "upscale_factor": None, "upscale_mode": None,
    })
