"""`--sref <code>`: a style from a number. The code seeds a small abstract picture (a palette of four
colours over smooth noise) that is encoded like any style reference, so the same code gives the same
style on any engine with an IP-Adapter, and `--sref random` only has to pick a code (the parser does).

Midjourney's codes index its own style space; ours are not the same styles, only the same idea.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# The picture's side: enough for smooth shapes; the CLIP processor resizes it anyway.
SIDE = 64
# Noise grid before the smooth upscale: a few large blobs of colour, not pixel noise.
GRID = 4


def style_image(code: int) -> Image.Image:
    """The picture behind a style code: four random colours blended by smooth random fields."""
    rng = np.random.default_rng(code)
    palette = rng.uniform(0, 255, size=(4, 3))
    fields = [Image.fromarray(rng.uniform(0, 255, size=(GRID, GRID)).astype(np.uint8), mode="L")
              .resize((SIDE, SIDE), Image.Resampling.BICUBIC) for _ in palette]
    weights = np.stack([np.asarray(f, dtype=np.float64) + 1 for f in fields]) ** 3
    weights /= weights.sum(0, keepdims=True)
    pixels = np.einsum("khw,kc->hwc", weights, palette)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8), mode="RGB")
