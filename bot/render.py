"""Job images -> Discord files that fit the interaction's upload limit (Pillow only, no torch)."""

from __future__ import annotations

import io

import discord
from PIL import Image

from bot import messages
from midway.contract import Job
from midway.discord_limits import ATTACHMENT_SIZE
from midway.images.imaging import compose_grid, encode_image, image_from_bytes


def size_limit(job: Job) -> int:
    return (job.message.attachment_size_limit if job.message else None) or ATTACHMENT_SIZE


def fit(data: bytes, limit: int) -> tuple[bytes, str]:
    """PNG bytes as they are when they fit the limit, else re-encoded (WebP, then JPEG) to fit."""
    if data.startswith(b"\x89PNG") and len(data) <= limit:
        return data, "png"
    return encode_image(image_from_bytes(data), max_bytes=limit)


def thumbnail(data: bytes, side: int, limit: int) -> tuple[bytes, str]:
    """An image shrunk to at most `side` px on its long side (its shape kept), fitting the limit; one
    already that small is left as it is. Decoding is the caller's to keep off the event loop."""
    image = Image.open(io.BytesIO(data))
    if max(image.size) <= side:
        return fit(data, limit)
    image.draft("RGB", (side, side))  # a JPEG decodes at a fraction of its size: far less to read
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return encode_image(image.convert("RGB"), max_bytes=limit)


def result_image(job: Job, grid: bytes | None, outputs: list[bytes | None]) -> tuple[bytes, str] | None:
    """The one attachment of a result: the worker's grid, or the grid composed here, or the single image."""
    limit = size_limit(job)
    if grid is not None:
        return fit(grid, limit)
    present = [data for data in outputs if data is not None]
    if not present or len(present) != len(outputs):
        return None
    if len(present) == 1:
        return fit(present[0], limit)
    composed = compose_grid([image_from_bytes(data) for data in present])
    return encode_image(composed, max_bytes=limit)


def as_file(job: Job, data: bytes, fmt: str, *, spoiler: bool = False) -> discord.File:
    """`spoiler`: discord.py names the file `SPOILER_<name>`, which Discord blurs until clicked."""
    return discord.File(io.BytesIO(data), filename=messages.attachment_name(job, fmt), spoiler=spoiler)


def preview_file(data: bytes, job: Job) -> discord.File:
    data, fmt = fit(data, size_limit(job))
    return discord.File(io.BytesIO(data), filename=f"preview_{job.id[:8]}.{fmt}")
