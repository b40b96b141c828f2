"""Zoom Out and Pan (outpainting): where the source goes on the new canvas, what gets painted, and the
the canvas and masks. Pillow and numpy only, no torch; the specs themselves come from midway/spec_edits.py.

Spec fields and semantics (midway/contract.py, GenerationSpec):
- `operation = "zoom"`, `zoom = Z` (1.0-2.0), `init_image` = the source: the canvas is
  `width x height` (normally the source's own size, `zoom_spec` keeps it); the source is scaled to fit
  the canvas, shrunk by Z and centred, and the engine paints everything around it. Zoom Out 2x is Z=2,
  1.5x is Z=1.5; Z=1 with a different `--ar` (width/height) extends only the sides that grew.
- `operation = "pan"`, `pan = left|right|up|down`, `init_image` = the source: the canvas grows by
  PAN_GROWTH (50%) along that axis (`pan_spec` computes width/height and the `--ar` to echo); the
  source keeps its size, flush with the opposite side, and the engine paints the new strip.
- Both return 4 images (image i from (seed, i)) at width x height. The source's pixels are pasted back
  over the kept area, blended over a narrow band (`overlap`) where it meets new content, so what was
  there stays exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from midway.contract import GenerationSpec, Operation, PanDirection
from midway.spec_edits import MAX_ZOOM, PAN_GROWTH

# Where the source sits on the canvas (0 = left/top, 1 = right/bottom): pan left grows the left side,
# so the source stays on the right.
_PAN_ANCHOR = {
    PanDirection.left: (1.0, 0.5),
    PanDirection.right: (0.0, 0.5),
    PanDirection.up: (0.5, 1.0),
    PanDirection.down: (0.5, 0.0),
}


@dataclass(frozen=True)
class Layout:
    """The canvas size and the box (left, top, right, bottom) the scaled source covers."""

    canvas: tuple[int, int]
    box: tuple[int, int, int, int]

    @property
    def source_size(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]


def layout(spec: GenerationSpec, source_size: tuple[int, int]) -> Layout:
    """Where the source goes on the spec's canvas for its zoom or pan."""
    canvas_w, canvas_h = spec.width, spec.height
    width, height = source_size
    fit = min(canvas_w / width, canvas_h / height)
    if spec.operation == Operation.pan:
        if spec.pan is None:
            raise ValueError("a pan needs a direction (left, right, up or down)")
        anchor = _PAN_ANCHOR[spec.pan]
        # Fill the other axis; along the pan axis leave at least a third of the canvas to paint.
        horizontal = spec.pan in (PanDirection.left, PanDirection.right)
        room = canvas_w / (width * PAN_GROWTH) if horizontal else canvas_h / (height * PAN_GROWTH)
        scale = min(canvas_h / height if horizontal else canvas_w / width, room)
    else:
        zoom = spec.zoom if spec.zoom is not None else MAX_ZOOM
        anchor, scale = (0.5, 0.5), fit / zoom
    scaled_w, scaled_h = max(1, round(width * scale)), max(1, round(height * scale))
    left, top = round((canvas_w - scaled_w) * anchor[0]), round((canvas_h - scaled_h) * anchor[1])
    return Layout(canvas=(canvas_w, canvas_h), box=(left, top, left + scaled_w, top + scaled_h))


def overlap(plan: Layout) -> int:
    """Width of the band where the source meets new content: repainted, then blended back."""
    return max(8, round(min(plan.source_size) / 16))


def keep_alpha(plan: Layout) -> np.ndarray:
    """(H, W) in [0, 1]: how much of the source to keep at each canvas pixel. 1 inside the box, ramping to
    0 over `overlap` pixels towards each box edge that borders new content (not the canvas border)."""
    canvas_w, canvas_h = plan.canvas
    left, top, right, bottom = plan.box
    band = overlap(plan)

    def ramp(size: int, start: int, end: int) -> np.ndarray:
        position = np.arange(size) + 0.5
        rising = (position - start) / band if start > 0 else np.where(position >= start, np.inf, -np.inf)
        falling = (end - position) / band if end < size else np.where(position <= end, np.inf, -np.inf)
        return np.clip(np.minimum(rising, falling), 0, 1)

    return np.minimum.outer(ramp(canvas_h, top, bottom), ramp(canvas_w, left, right))


def canvas_and_mask(source: Image.Image, plan: Layout) -> tuple[Image.Image, Image.Image]:
    """The source pasted on a grey canvas, and the inpainting mask (white = paint): everything the
    source does not fully keep, so the seam band is repainted too and can blend."""
    canvas = Image.new("RGB", plan.canvas, (127, 127, 127))
    canvas.paste(source.convert("RGB").resize(plan.source_size, Image.Resampling.LANCZOS), plan.box[:2])
    mask = Image.fromarray(((keep_alpha(plan) < 1) * 255).astype(np.uint8))  # 2-D uint8: mode "L"
    return canvas, mask


def paste_back(generated: Image.Image, source: Image.Image, plan: Layout) -> Image.Image:
    """The generated canvas with the source's own pixels over the kept area, blended across the seam."""
    placed = Image.new("RGB", plan.canvas)
    placed.paste(source.convert("RGB").resize(plan.source_size, Image.Resampling.LANCZOS), plan.box[:2])
    alpha = keep_alpha(plan)[..., None]
    painted = np.asarray(generated.convert("RGB").resize(plan.canvas), dtype=np.float32)
    mixed = alpha * np.asarray(placed, dtype=np.float32) + (1 - alpha) * painted
    return Image.fromarray(mixed.round().astype(np.uint8))
