"""A parallel, lossless PNG encoder for big 8-bit images (the worker's 2x2 grids).

Pillow's PNG encoder runs on one core and, at zlib level 1, spends more time choosing a filter for
each scanline than compressing. Here every scanline gets the "Average" filter (PNG spec 9.2, type 3),
which on photo-like images compresses as well as Pillow's per-row choice at a fraction of the cost.
The filtered rows are cut into strips; each strip is filtered and deflated on its own thread (zlib and
numpy release the GIL) as a raw deflate segment ending on a byte boundary (Z_SYNC_FLUSH), the last one
ending the stream (Z_FINISH). Behind one zlib header, and followed by the Adler-32 of all the filtered
data, the segments form a single valid zlib stream: how pigz compresses in parallel.

Each strip also picks its deflate strategy from its content. On photo-like strips the Average filter
leaves small, noisy residuals in which LZ77 finds little to match, and searching costs: Huffman
coding alone is both faster and smaller (a 2048² photo-like grid: 128 vs 207 ms on one core, 6.52 vs
7.56 MB, below Pillow's default save at 6.84 MB). Flat art (logos, flat colour, text) filters to
runs of zeros that only LZ77 compresses well (a 1024² flat image: 88 KB with it, 577 KB without).
The share of zero bytes tells them apart: ~5-16% in photo-like strips, ~90% and more in flat ones.

Each strip also decodes on its own (midway/images/png_decode.py): its first row uses the "Sub" filter (type
1), which predicts from the left neighbour only, so no strip needs the row above it, and a private
`mwST` chunk records the rows per strip. A decoder that knows the chunk inflates and unfilters strips
on every core, and a cell of a grid decodes only the strips it lies in; any other decoder ignores the
chunk and reads a standard PNG. The Sub rows cost ~0.2% in size on a 2048² grid.

numpy does the filtering when it is importable. The bot's slim image has none, so Pillow's ImageChops
computes the same filter there: the same bytes, ~10% slower overall on a 2048² grid.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageChops

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow mode -> PNG colour type (PNG spec 11.2.2); all 8 bits per sample. Other modes go to Pillow.
COLOR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
SUB_FILTER = 1
AVERAGE_FILTER = 3
# Private, ancillary and unsafe to copy (PNG spec 5.4): it describes this file's IDAT layout, which an
# editor that rewrites the image data would break. Body: the rows per strip, a 4-byte big-endian int.
STRIPS_CHUNK = b"mwST"
# Filtered bytes per strip. Strips are deflated independently, each restarting with an empty history:
# at 256 KiB a 2048² photo-like grid grows by 0.15% (48 strips) against one stream. The strip layout
# depends only on the image, never on the thread count, so the bytes are the same on any machine.
STRIP_BYTES = 256 * 1024
ADLER_BASE = 65521
# Strips with at least this share of zero bytes after filtering are flat art: full deflate (LZ77).
FLAT_ZERO_SHARE = 0.4

RowFilter = Callable[[int, int], bytes | memoryview]


def encode_png(image: Image.Image, *, compress_level: int = 1, threads: int | None = None,
               strip_bytes: int = STRIP_BYTES) -> bytes:
    """A standard PNG of an L/LA/RGB/RGBA image, deflated in strips on `threads` threads (None: one
    per core). Other modes, empty images and images with a transparent colour key go to Pillow."""
    if image.mode not in COLOR_TYPES or 0 in image.size or "transparency" in image.info:
        return _pillow_png(image, compress_level)
    if not 0 <= compress_level <= 9:
        raise ValueError(f"compress_level must be 0..9, got {compress_level!r}")
    width, height = image.size
    stride = width * len(image.mode) + 1
    rows_per_strip = max(1, strip_bytes // stride)
    strips = [(start, min(start + rows_per_strip, height)) for start in range(0, height, rows_per_strip)]
    filter_rows = _row_filter(image)

    def encode_strip(index: int) -> tuple[bytes, int, int]:
        start, stop = strips[index]
        filtered = filter_rows(start, stop)
        compressor = zlib.compressobj(compress_level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, _strategy(filtered))
        last = index == len(strips) - 1
        body = compressor.compress(filtered) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        if index == 0:
            body = _zlib_header(compress_level) + body
        return _chunk(b"IDAT", body), zlib.adler32(filtered), len(filtered)

    workers = min(threads or os.cpu_count() or 1, len(strips))
    if workers == 1:
        encoded = [encode_strip(index) for index in range(len(strips))]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="png") as pool:
            encoded = list(pool.map(encode_strip, range(len(strips))))
    adler = functools.reduce(lambda total, part: _adler32_combine(total, part[1], part[2]), encoded, 1)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[image.mode], 0, 0, 0)
    return b"".join([
        PNG_SIGNATURE,
        _chunk(b"IHDR", header),
        *_colour_chunks(image),
        _chunk(STRIPS_CHUNK, struct.pack(">I", rows_per_strip)),
        *(idat for idat, _, _ in encoded),
        # The trailer is known only once every strip is done. To a standard decoder IDAT boundaries carry
        # no meaning (PNG 11.2.4); midway/images/png_decode.py reads one strip per IDAT.
        _chunk(b"IDAT", adler.to_bytes(4, "big")),
        _chunk(b"IEND", b""),
    ])


def _strategy(filtered: bytes | memoryview) -> int:
    """Huffman coding alone for photo-like residuals, full deflate for flat art (see the module doc)."""
    data = filtered if isinstance(filtered, bytes) else filtered.tobytes()
    flat = data.count(0) >= FLAT_ZERO_SHARE * len(data)
    return zlib.Z_DEFAULT_STRATEGY if flat else zlib.Z_HUFFMAN_ONLY


def _row_filter(image: Image.Image) -> RowFilter:
    try:
        import numpy  # noqa: F401  (optional: the bot's slim image has no numpy)
    except ImportError:
        return _pillow_average_filter(image)
    return _numpy_average_filter(image)


def _numpy_average_filter(image: Image.Image) -> RowFilter:
    import numpy as np

    width, height = image.size
    bpp = len(image.mode)
    pixels = np.frombuffer(image.tobytes(), np.uint8).reshape(height, width * bpp)

    def filter_rows(start: int, stop: int) -> memoryview:
        rows = pixels[start:stop]
        # The row above the image counts as zeros (PNG spec 9.2).
        up = pixels[start - 1:stop - 1] if start else np.vstack((np.zeros_like(pixels[:1]), pixels[:stop - 1]))
        out = np.empty((stop - start, width * bpp + 1), np.uint8)
        out[:, 0] = AVERAGE_FILTER
        # The first pixel of a row has no left neighbour, which also counts as zero.
        np.subtract(rows[:, :bpp], up[:, :bpp] >> 1, out=out[:, 1:1 + bpp])
        left, above, predicted = rows[:, :-bpp], up[:, bpp:], out[:, 1 + bpp:]
        # floor((left + above) / 2) in uint8 without overflow: (a & b) + ((a ^ b) >> 1).
        np.bitwise_and(left, above, out=predicted)
        predicted += np.bitwise_xor(left, above) >> 1
        np.subtract(rows[:, bpp:], predicted, out=predicted)
        if start:
            # A strip's first row predicts from its left neighbour only: the strip decodes on its own.
            out[0, 0] = SUB_FILTER
            out[0, 1:1 + bpp] = rows[0, :bpp]
            np.subtract(rows[0, bpp:], rows[0, :-bpp], out=out[0, 1 + bpp:])
        return out.reshape(-1).data

    return filter_rows


def _pillow_average_filter(image: Image.Image) -> RowFilter:
    width, bpp = image.width, len(image.mode)
    image.load()  # once, here: strips crop it from several threads

    def filter_rows(start: int, stop: int) -> bytes:
        region = image.crop((0, start, width, stop))
        # The row above the image counts as zeros (PNG spec 9.2); so does the one above a strip here,
        # whose first row is then replaced by its Sub-filtered form, which needs no row above.
        up, left = Image.new(image.mode, region.size), Image.new(image.mode, region.size)
        if region.height > 1:
            up.paste(region.crop((0, 0, width, region.height - 1)), (0, 1))
        if width > 1:
            left.paste(region.crop((0, 0, width - 1, region.height)), (1, 0))
        # add() with scale 2 computes floor((a + b) / 2) per sample; subtract_modulo wraps like PNG does.
        residual = ImageChops.subtract_modulo(region, ImageChops.add(left, up, scale=2.0))
        samples = Image.frombytes("L", (width * bpp, residual.height), residual.tobytes())
        rows = Image.new("L", (width * bpp + 1, residual.height), AVERAGE_FILTER)
        rows.paste(samples, (1, 0))
        if not start:
            return rows.tobytes()
        first_row = ImageChops.subtract_modulo(region.crop((0, 0, width, 1)), left.crop((0, 0, width, 1)))
        return bytes([SUB_FILTER]) + first_row.tobytes() + rows.tobytes()[width * bpp + 1:]

    return filter_rows


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of A+B from those of A and B (zlib's adler32_combine, which Python does not expose)."""
    remainder = second_length % ADLER_BASE
    low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % ADLER_BASE
    high = (remainder * (first & 0xFFFF) + (first >> 16) + (second >> 16) - remainder) % ADLER_BASE
    return (high << 16) | low


def _zlib_header(compress_level: int) -> bytes:
    # Two bytes whose level hint (FLEVEL) matches compress_level, as zlib itself writes them.
    return zlib.compress(b"", compress_level)[:2]


def _colour_chunks(image: Image.Image) -> list[bytes]:
    # Keep an embedded ICC profile, as Pillow's PNG save does: dropping it would shift the colours.
    icc = image.info.get("icc_profile")
    return [_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc))] if icc else []


def _chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join([struct.pack(">I", len(data)), kind, data,
                     struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))])


def _pillow_png(image: Image.Image, compress_level: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()
