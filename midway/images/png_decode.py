"""Decoding the PNGs midway.images.png writes, strip by strip: on every core, and only the rows asked for.

Pillow inflates a PNG on one core, and inflating is most of the cost (a 2048² grid: ~80 of ~100 ms).
midway.images.png deflates each strip of rows on its own, starts each strip with a row that needs no row
above it, and records the rows per strip in an `mwST` chunk. So each strip here is a small PNG stream
of its own that Pillow's decoder (which releases the GIL) turns into rows on a thread of its own, and
a crop (a cell of a grid, for U1-U4 and the worker's sources) decodes only the strips it lies in.

Anything else, a PNG from another encoder included, returns None and the caller uses Pillow. A strip
whose chunk fails its CRC raises OSError: Pillow skips IDAT checksums and would return damaged pixels.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

from midway.images.png import COLOR_TYPES, PNG_SIGNATURE, STRIPS_CHUNK

MODES = {color_type: mode for mode, color_type in COLOR_TYPES.items()}
# Chunks this decoder understands; any other (a palette, a colour key, an ICC profile...) goes to Pillow.
KNOWN_CHUNKS = {b"IHDR", STRIPS_CHUNK, b"IDAT", b"IEND"}
ADLER_BYTES = 4
# Put in front of each raw-deflate strip for Pillow's decoder. Any valid header does: the decoder only
# checks it, and the strips use no preset dictionary.
_ZLIB_HEADER = zlib.compress(b"")[:2]

Box = tuple[int, int, int, int]


class DamagedPNG(OSError):
    """Our own PNG, damaged: a strip's bytes are not the ones its CRC was computed on."""


@dataclass(frozen=True)
class StripLayout:
    mode: str
    width: int
    height: int
    rows_per_strip: int
    # Each strip's deflate data and its chunk's CRC, checked on the thread that inflates it.
    strips: list[tuple[memoryview, int]]

    def rows_of(self, index: int) -> tuple[int, int]:
        start = index * self.rows_per_strip
        return start, min(start + self.rows_per_strip, self.height)


def decode_png(data: bytes, box: Box | None = None, *, threads: int | None = None) -> Image.Image | None:
    """The image (or its `box`: left, top, right, bottom) of a PNG that midway.images.png wrote, decoded on
    `threads` threads (None: one per core); None for any other PNG. DamagedPNG (an OSError) when a
    strip's bytes fail their CRC."""
    layout = strip_layout(data)
    if layout is None:
        return None
    left, top, right, bottom = box or (0, 0, layout.width, layout.height)
    if not (0 <= left < right <= layout.width and 0 <= top < bottom <= layout.height):
        raise ValueError(f"box {box} is not inside the {layout.width}x{layout.height} image")
    wanted = range(top // layout.rows_per_strip, (bottom - 1) // layout.rows_per_strip + 1)

    def decode_strip(index: int) -> Image.Image:
        body, crc = layout.strips[index]
        if zlib.crc32(body, zlib.crc32(b"IDAT")) != crc:
            raise DamagedPNG(f"strip {index} of the PNG fails its CRC")
        start, stop = layout.rows_of(index)
        # Strip 0 carries the zlib header; the others are raw deflate, behind a header of their own.
        # Pillow stops once it has the strip's rows, before the stream's end it would otherwise want.
        stream = body if index == 0 else _ZLIB_HEADER + body
        rows = Image.frombytes(layout.mode, (layout.width, stop - start), bytes(stream), "zip", layout.mode)
        return rows.crop((left, max(top, start) - start, right, min(bottom, stop) - start))

    workers = min(threads or os.cpu_count() or 1, len(wanted))
    try:
        if workers == 1:
            pieces = [decode_strip(index) for index in wanted]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="png-decode") as pool:
                pieces = list(pool.map(decode_strip, wanted))
    except DamagedPNG:
        raise
    except (OSError, ValueError):  # Pillow's errors for a stream that does not inflate to the rows
        return None
    image = Image.new(layout.mode, (right - left, bottom - top))
    offset = 0
    for piece in pieces:
        image.paste(piece, (0, offset))
        offset += piece.height
    return image


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, which is always its first chunk; None for anything else."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def strip_layout(data: bytes) -> StripLayout | None:
    """Where each strip of a midway.images.png file lies; None unless the file is exactly that layout."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    view = memoryview(data)
    header: bytes | None = None
    rows_per_strip: int | None = None
    idats: list[tuple[memoryview, int]] = []
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(data):
        length, kind = struct.unpack(">I4s", view[offset:offset + 8])
        end = offset + 8 + length
        if kind not in KNOWN_CHUNKS or end + 4 > len(data):
            return None
        body, (crc,) = view[offset + 8:end], struct.unpack(">I", view[end:end + 4])
        if kind == b"IHDR":
            header = bytes(body)
        elif kind == STRIPS_CHUNK:
            if idats or length != 4 or zlib.crc32(body, zlib.crc32(kind)) != crc:
                return None
            (rows_per_strip,) = struct.unpack(">I", body)
        elif kind == b"IDAT":
            idats.append((body, crc))
        else:  # IEND
            break
        offset = end + 4
    if header is None or rows_per_strip is None or len(header) != 13 or rows_per_strip < 1:
        return None
    width, height, depth, color_type, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    mode = MODES.get(color_type)
    if mode is None or depth != 8 or compression or filtering or interlace or not width or not height:
        return None
    # Past Pillow's decompression-bomb limit, Pillow decides (it warns or refuses).
    if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
        return None
    strips = -(-height // rows_per_strip)
    # One IDAT per strip, then one holding only the stream's Adler-32.
    if len(idats) != strips + 1 or len(idats[-1][0]) != ADLER_BYTES or not _is_zlib_header(idats[0][0]):
        return None
    return StripLayout(mode, width, height, rows_per_strip, idats[:-1])


def _is_zlib_header(body: memoryview) -> bool:
    if len(body) < 2:
        return False
    method, flags = body[0], body[1]
    # Deflate, a valid check value, and no preset dictionary (RFC 1950 2.2).
    return method & 0x0F == 8 and (method << 8 | flags) % 31 == 0 and not flags & 0x20
