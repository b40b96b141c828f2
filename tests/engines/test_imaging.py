"""Grid composition and size-budgeted encoding (Pillow only)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from midway.images.imaging import compose_grid, encode_image, image_from_bytes, image_to_png_bytes, split_grid

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def test_grid_places_images_left_to_right_then_top_to_bottom():
    grid = compose_grid([Image.new("RGB", (40, 30), colour) for colour in COLOURS])
    assert grid.size == (80, 60)
    assert [grid.getpixel(xy) for xy in [(5, 5), (45, 5), (5, 35), (45, 35)]] == COLOURS
    assert [cell.getpixel((0, 0)) for cell in split_grid(grid)] == COLOURS


def test_grid_refuses_mismatched_sizes():
    with pytest.raises(ValueError, match="share one size"):
        compose_grid([Image.new("RGB", (4, 4)), Image.new("RGB", (5, 4))])


def noise_image(size: int = 256) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8))


def test_encode_keeps_png_when_it_fits():
    image = Image.new("RGB", (64, 64), "red")
    data, fmt = encode_image(image, max_bytes=10_000)
    assert fmt == "png" and data == image_to_png_bytes(image)
    assert encode_image(noise_image())[1] == "png"  # no budget: always PNG


def test_encode_falls_back_to_lossy_within_the_budget():
    image = noise_image()
    png_size = len(image_to_png_bytes(image))
    data, fmt = encode_image(image, max_bytes=png_size // 3)
    assert fmt in ("webp", "jpeg") and len(data) <= png_size // 3
    assert image_from_bytes(data).size == (256, 256)
    tiny_budget, fmt = encode_image(image, max_bytes=3000)
    assert len(tiny_budget) <= 3000 and fmt == "jpeg"
