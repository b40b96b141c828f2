"""Image helpers shared by the engines, the worker and the bot. Pillow only: no torch here.

Discord caps attachment sizes, so `encode_image` keeps PNG when it fits the byte budget and
otherwise falls back to WebP, then JPEG, lowering quality until the data fits.
"""

from __future__ import annotations

import io

from PIL import Image

from midway.images.png import encode_png
from midway.images.png_decode import decode_png, png_size

GRID_GAP = 0
# Quality ladder for the lossy fallbacks; the last rung also halves the image if still too big.
QUALITIES = (92, 85, 75, 60, 45, 30)
# zlib level of our PNGs (midway/images/png.py: Average filter, strips deflated in parallel). bench/grid_encode.py:
# on a 2x2 grid of 1024² photo-like cells, 0.11x the time of Pillow's default save (level 6, per-row
# filter choice, one core) for 1.11x the bytes; still lossless, and a 2048² grid stays under 10 MiB.
PNG_COMPRESS_LEVEL = 1


def compose_grid(images: list[Image.Image]) -> Image.Image:
    """Four images -> one 2x2 grid (image 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)."""
    if not 1 <= len(images) <= 4:
        raise ValueError(f"a grid holds 1 to 4 images, got {len(images)}")
    width, height = images[0].size
    if any(image.size != (width, height) for image in images):
        raise ValueError(f"grid images must share one size, got {[image.size for image in images]}")
    grid = Image.new("RGB", (2 * width + GRID_GAP, 2 * height + GRID_GAP), "black")
    for index, image in enumerate(images):
        row, col = divmod(index, 2)
        grid.paste(image.convert("RGB"), (col * (width + GRID_GAP), row * (height + GRID_GAP)))
    return grid


def cell_box(grid_size: tuple[int, int], index: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of cell `index` of a compose_grid grid of `grid_size`."""
    width, height = (grid_size[0] - GRID_GAP) // 2, (grid_size[1] - GRID_GAP) // 2
    row, col = divmod(index, 2)
    left, top = col * (width + GRID_GAP), row * (height + GRID_GAP)
    return left, top, left + width, top + height


def split_grid(grid: Image.Image) -> list[Image.Image]:
    """The inverse of compose_grid: the four cells of a 2x2 grid."""
    return [grid.crop(cell_box(grid.size, index)) for index in range(4)]


def cell_from_bytes(grid: bytes, index: int) -> Image.Image:
    """Cell `index` of an encoded grid. A grid that midway.images.png wrote decodes only that cell's rows, on
    every core (a 2048² grid's cell: ~30 instead of ~100 ms on 2 cores); any other is decoded whole."""
    size = png_size(grid)
    cell = decode_png(grid, cell_box(size, index)) if size is not None else None
    return _as_rgb(cell) if cell is not None else split_grid(image_from_bytes(grid))[index]


def image_to_png_bytes(image: Image.Image) -> bytes:
    """Lossless PNG deflated in parallel strips (midway.images.png); Pillow for the modes that does not cover."""
    return encode_png(image, compress_level=PNG_COMPRESS_LEVEL)


def image_from_bytes(data: bytes) -> Image.Image:
    """Decoded, as RGB or RGBA. Our own PNGs decode on every core (midway/images/png_decode.py)."""
    image = decode_png(data)
    if image is None:
        image = Image.open(io.BytesIO(data))
        image.load()
    return _as_rgb(image)


def _as_rgb(image: Image.Image) -> Image.Image:
    return image.convert("RGB") if image.mode not in ("RGB", "RGBA") else image


def _lossy(image: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    rgb = image.convert("RGB")
    if fmt == "webp":
        rgb.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        rgb.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def encode_image(image: Image.Image, *, max_bytes: int | None = None) -> tuple[bytes, str]:
    """(data, "png" | "webp" | "jpeg"): PNG when it fits the budget, else the first lossy that fits."""
    png = image_to_png_bytes(image)
    if max_bytes is None or len(png) <= max_bytes:
        return png, "png"
    for fmt in ("webp", "jpeg"):
        for quality in QUALITIES:
            data = _lossy(image, fmt, quality)
            if len(data) <= max_bytes:
                return data, fmt
    # Still too big at the lowest quality: shrink until it fits (a preview beats no image).
    smaller = image
    while smaller.width > 16 and smaller.height > 16:
        smaller = smaller.resize((smaller.width // 2, smaller.height // 2), Image.Resampling.LANCZOS)
        data = _lossy(smaller, "jpeg", QUALITIES[-1])
        if len(data) <= max_bytes:
            return data, "jpeg"
    raise ValueError(f"cannot encode a {image.width}x{image.height} image within {max_bytes} bytes")
