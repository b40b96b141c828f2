"""midway.images.png: the parallel PNG encoder must be a lossless, standard PNG that any decoder accepts."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from bench.grid_encode import photo_like_cell
from midway.images.imaging import compose_grid
from midway.images.png import encode_png

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1, 1), (3, 7), (1023, 5), (2050, 1030)]
# Small strips force many strips (and threads) even on small images.
TINY_STRIPS = 1000


def noise(size: tuple[int, int], mode: str) -> Image.Image:
    width, height = size
    pixels = np.random.default_rng(width * height).integers(0, 256, (height, width, len(mode)), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(axis=2) if len(mode) == 1 else pixels, mode)


def gradient(size: tuple[int, int], mode: str) -> Image.Image:
    width, height = size
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    bands = [(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), (x + y) % 256, 255 - x % 256]
    pixels = np.stack(bands[:len(mode)], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels.squeeze(axis=2) if len(mode) == 1 else pixels, mode)


def flat(size: tuple[int, int], mode: str) -> Image.Image:
    return Image.new(mode, size, (200, 30, 90, 128)[:len(mode)])


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pillow_png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each CRC as a strict decoder does."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, offset = [], 8
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset:offset + 4]), data[offset + 4:offset + 8]
        body, crc = data[offset + 8:offset + 8 + length], data[offset + 8 + length:offset + 12 + length]
        assert struct.unpack(">I", crc)[0] == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        found.append((kind, body))
        offset += 12 + length
    return found


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("make", [noise, gradient, flat])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_decodes_to_exactly_the_same_pixels(make, size: tuple[int, int], mode: str) -> None:
    image = make(size, mode)
    data = encode_png(image, threads=2)
    Image.open(io.BytesIO(data)).verify()
    decoded = decode(data)
    assert (decoded.mode, decoded.size) == (mode, size)
    assert decoded.tobytes() == image.tobytes()


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_grey_modes_are_lossless_too(mode: str) -> None:
    image = noise((257, 33), mode)
    decoded = decode(encode_png(image, strip_bytes=TINY_STRIPS))
    assert decoded.mode == mode and decoded.tobytes() == image.tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_many_strips_on_many_threads_give_the_single_strip_pixels(mode: str) -> None:
    image = gradient((300, 200), mode).resize((301, 199))
    single = encode_png(image, threads=1, strip_bytes=1 << 30)
    many = encode_png(image, threads=4, strip_bytes=TINY_STRIPS)
    assert sum(kind == b"IDAT" for kind, _ in chunks(many)) > 10
    assert many != single
    assert decode(many).tobytes() == decode(single).tobytes() == image.tobytes()
    # The strip layout, not the thread count, decides the bytes: the same on every machine.
    assert encode_png(image, threads=1, strip_bytes=TINY_STRIPS) == many


def test_the_joined_strips_are_one_strict_zlib_stream() -> None:
    # Pillow stops inflating once it has every row, so it would miss a wrong Adler-32; zlib does not.
    image = noise((123, 97), "RGB")
    parts = chunks(encode_png(image, threads=3, strip_bytes=TINY_STRIPS))
    inflater = zlib.decompressobj()
    filtered = inflater.decompress(b"".join(body for kind, body in parts if kind == b"IDAT"))
    assert inflater.eof and not inflater.unused_data
    assert len(filtered) == 97 * (123 * 3 + 1)
    assert [kind for kind, _ in parts][:1] + [kind for kind, _ in parts][-1:] == [b"IHDR", b"IEND"]


def test_photo_like_grid_is_smaller_than_pillows_default_save() -> None:
    # Huffman coding of the filtered residuals: smaller than Pillow's zlib level 6 with its per-row filters.
    grid = compose_grid([photo_like_cell(seed, 256) for seed in range(4)])
    ours = encode_png(grid, threads=2)
    assert len(ours) < len(pillow_png(grid, compress_level=6))
    assert decode(ours).tobytes() == grid.tobytes()


def test_flat_art_keeps_the_run_compression_of_full_deflate() -> None:
    # Flat colour with sharp edges (logos, text): runs of zero residuals that Huffman coding alone
    # would store at a bit each (several times Pillow's size); full deflate matches them.
    art = Image.new("RGB", (512, 512), (240, 240, 235))
    draw = ImageDraw.Draw(art)
    for i in range(16):
        draw.ellipse((i * 25, i * 20, i * 25 + 150, i * 20 + 110), fill=(i * 37 % 255, i * 91 % 255, i * 53 % 255))
        draw.text((8, i * 30), "Midway flat art " * 4, fill=(0, 0, 0))
    ours = encode_png(art, threads=2)
    assert len(ours) <= 2 * len(pillow_png(art, compress_level=6))
    assert decode(ours).tobytes() == art.tobytes()


def test_other_modes_and_colour_keys_are_still_lossless_pngs() -> None:
    palette = noise((40, 30), "L").convert("P")
    keyed = noise((40, 30), "RGB")
    keyed.info["transparency"] = keyed.getpixel((0, 0))
    for image in (palette, noise((40, 30), "L").convert("1"), keyed):
        decoded = decode(encode_png(image))
        assert decoded.mode == image.mode and decoded.tobytes() == image.tobytes()
    assert decode(encode_png(keyed)).info["transparency"] == keyed.getpixel((0, 0))


def test_keeps_the_icc_profile() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = noise((20, 10), "RGB")
    image.info["icc_profile"] = profile
    assert decode(encode_png(image)).info["icc_profile"] == profile


def test_without_numpy_the_same_bytes_come_out(tmp_path) -> None:
    # The bot's slim image has no numpy: Pillow's ImageChops must compute the very same filter.
    images = [noise((61, 47), "RGBA"), gradient((1, 9), "RGB"), noise((33, 1), "LA"), flat((5, 5), "L")]
    for index, image in enumerate(images):
        image.save(tmp_path / f"{index}.png")
    script = (
        "import sys; sys.modules['numpy'] = None\n"
        "from pathlib import Path\nfrom PIL import Image\nfrom midway.images.png import encode_png\n"
        f"for path in sorted(Path({str(tmp_path)!r}).glob('*.png')):\n"
        f"    path.with_suffix('.out').write_bytes(encode_png(Image.open(path), strip_bytes={TINY_STRIPS}))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=REPO_ROOT)
    for index, image in enumerate(images):
        assert (tmp_path / f"{index}.out").read_bytes() == encode_png(image, strip_bytes=TINY_STRIPS)
