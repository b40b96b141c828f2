"""midway.images.png_decode: our own PNGs decode strip by strip to exactly the pixels Pillow reads, any crop
decodes to the same pixels as cropping the whole, and every other PNG is left to Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from midway.images.imaging import cell_from_bytes, compose_grid, image_from_bytes, split_grid
from midway.images.png import STRIPS_CHUNK, SUB_FILTER, encode_png
from midway.images.png_decode import DamagedPNG, decode_png, png_size, strip_layout
from tests.midway.test_png import TINY_STRIPS, chunks, gradient, noise, pillow_png


def pillow_decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def rebuilt(parts: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG from (type, body) chunks, every CRC recomputed."""
    out = [b"\x89PNG\r\n\x1a\n"]
    for kind, body in parts:
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)))
    return b"".join(out)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("size", [(1, 1), (5, 3), (301, 199)], ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("threads", [1, 3])
def test_decodes_exactly_what_pillow_reads(mode: str, size: tuple[int, int], threads: int) -> None:
    image = noise(size, mode)
    data = encode_png(image, strip_bytes=TINY_STRIPS)
    decoded = decode_png(data, threads=threads)
    assert decoded is not None and (decoded.mode, decoded.size) == (mode, size)
    assert decoded.tobytes() == image.tobytes() == pillow_decode(data).tobytes()


def test_every_strip_after_the_first_starts_with_a_row_that_needs_no_row_above() -> None:
    image = gradient((120, 90), "RGB")
    data = encode_png(image, strip_bytes=TINY_STRIPS)
    layout = strip_layout(data)
    assert layout is not None and len(layout.strips) > 10
    filtered = zlib.decompress(b"".join(body for kind, body in chunks(data) if kind == b"IDAT"))
    stride = 120 * 3 + 1
    first_rows = {filtered[start * stride] for start in range(0, 90, layout.rows_per_strip)}
    assert first_rows == {3, SUB_FILTER}  # Average for the image's first row, Sub for every other strip's


@pytest.mark.parametrize("box", [(0, 0, 301, 199), (0, 0, 150, 99), (150, 99, 301, 199), (7, 3, 8, 4),
                                 (0, 50, 301, 51), (13, 20, 290, 180)])
def test_a_crop_decodes_to_the_crop_of_the_whole(box: tuple[int, int, int, int]) -> None:
    image = gradient((300, 200), "RGBA").resize((301, 199))
    data = encode_png(image, strip_bytes=TINY_STRIPS)
    part = decode_png(data, box, threads=2)
    assert part is not None and part.tobytes() == image.crop(box).tobytes()


def test_a_box_outside_the_image_is_refused() -> None:
    data = encode_png(noise((20, 10), "RGB"))
    with pytest.raises(ValueError):
        decode_png(data, (0, 0, 21, 10))


def test_cells_of_a_grid_match_split_grid_for_any_encoder() -> None:
    cells = [noise((64, 48), "RGB"), gradient((64, 48), "RGB"), noise((64, 48), "RGB").rotate(90),
             Image.new("RGB", (64, 48), "teal")]
    grid = compose_grid(cells)
    for data in (encode_png(grid, strip_bytes=TINY_STRIPS), pillow_png(grid)):
        for index, cell in enumerate(cells):
            assert cell_from_bytes(data, index).tobytes() == cell.tobytes()
        assert [cell.tobytes() for cell in split_grid(image_from_bytes(data))] == [c.tobytes() for c in cells]


def test_other_pngs_are_left_to_pillow() -> None:
    image = noise((40, 30), "RGB")
    assert decode_png(pillow_png(image)) is None
    assert decode_png(b"not a png") is None and png_size(b"not a png") is None
    # A chunk the strip decoder does not handle (here an ICC profile) goes to Pillow, which keeps it.
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.info["icc_profile"] = icc
    with_icc = encode_png(image, strip_bytes=TINY_STRIPS)
    assert decode_png(with_icc) is None
    assert image_from_bytes(with_icc).tobytes() == image.tobytes()


def test_a_layout_that_does_not_match_its_strips_is_left_to_pillow() -> None:
    image = noise((50, 40), "RGB")
    parts = chunks(encode_png(image, strip_bytes=TINY_STRIPS))
    (rows_per_strip,) = struct.unpack(">I", dict(parts)[STRIPS_CHUNK])
    lying = rebuilt([(kind, struct.pack(">I", rows_per_strip + 1) if kind == STRIPS_CHUNK else body)
                     for kind, body in parts])
    assert decode_png(lying) is None
    assert image_from_bytes(lying).tobytes() == image.tobytes()


def test_a_damaged_strip_is_an_error_not_wrong_pixels() -> None:
    image = noise((50, 40), "RGB")
    data = bytearray(encode_png(image, strip_bytes=TINY_STRIPS))
    third_strip = [index for index in range(len(data)) if data[index:index + 4] == b"IDAT"][2]
    data[third_strip + 10] ^= 0xFF
    with pytest.raises(DamagedPNG):
        decode_png(bytes(data))
    # Pillow does not check IDAT checksums: without the strip decoder this would be wrong pixels.
    with pytest.raises(OSError):
        image_from_bytes(bytes(data))


def test_default_strips_decode_the_same_in_pillow_and_here() -> None:
    rng = np.random.default_rng(7)
    pixels = np.clip(128 + rng.normal(0, 40, (300, 1100, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    data = encode_png(image, threads=2)
    layout = strip_layout(data)
    assert layout is not None and len(layout.strips) == 4
    assert pillow_decode(data).tobytes() == image.tobytes() == image_from_bytes(data).tobytes()
