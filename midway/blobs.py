"""Image blobs addressed by reference, with a time to live (no torch here).

Workers put images; the bot and `midway submit` get them by the ref carried in an Event. Two stores:
Redis (the default: nothing else to run, shared by every machine that shares the Redis) and a
directory (a shared volume, for large images or to keep them out of Redis memory). After the TTL an
image is gone; it can be re-derived from its job's spec and seed (the worker does that for U/V).

A *cell ref* names image i of a stored 2x2 grid. The grid holds every image losslessly, so a worker
stores only the grid and hands out cell refs; `get` crops the cell on read.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeGuard, cast

import redis
from PIL import Image

from midway import keys
from midway.images.imaging import cell_from_bytes, image_from_bytes, image_to_png_bytes
from midway.settings import Settings

log = logging.getLogger(__name__)

# A stored ref is `<32 hex>.<ext>`: safe as a Redis key part and as a file name (no path traversal).
_STORED_PATTERN = re.compile(r"[0-9a-f]{32}\.(png|jpg|jpeg|webp|bin)")
# A cell ref is `<grid ref>~<i>`. `~` is safe in a Redis key, a file name and a URL (RFC 3986 calls it
# unreserved), and no stored ref contains it, so a cell ref never collides with a stored blob.
_CELL_PATTERN = re.compile(r"([0-9a-f]{32}\.(?:png|jpg|jpeg|webp))~([0-3])")

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class BlobStore(Protocol):
    def put(self, data: bytes, *, content_type: str = "image/png", ttl_s: int | None = None) -> str: ...

    def get(self, ref: str) -> bytes | None: ...


def new_ref(content_type: str) -> str:
    return f"{uuid.uuid4().hex}.{_EXTENSIONS.get(content_type, 'bin')}"


def cell_ref(grid_ref: str, index: int) -> str:
    """The ref of image `index` (0 = top-left, as in compose_grid) of the stored grid `grid_ref`."""
    ref = f"{grid_ref}~{index}"
    if parse_cell_ref(ref) is None:
        raise ValueError(f"no cell {index!r} of {grid_ref!r}: a grid is a stored image with cells 0 to 3")
    return ref


def parse_cell_ref(ref: object) -> tuple[str, int] | None:
    """(grid ref, index) of a cell ref; None for anything else."""
    match = _CELL_PATTERN.fullmatch(ref) if isinstance(ref, str) else None
    return (match.group(1), int(match.group(2))) if match else None


def is_stored_ref(ref: object) -> TypeGuard[str]:
    """A ref that names bytes as stored (not a cell cut from a grid on read)."""
    return isinstance(ref, str) and bool(_STORED_PATTERN.fullmatch(ref))


def is_ref(ref: object) -> bool:
    return is_stored_ref(ref) or parse_cell_ref(ref) is not None


def content_type(ref: str) -> str:
    """The MIME type a ref was stored with (from its extension), for attachments and HTTP replies.
    A cell is always PNG: it is cut from its grid and encoded on read."""
    return _CONTENT_TYPES.get(_extension(ref), "application/octet-stream")


def filename(ref: str, stem: str = "image") -> str:
    """A friendly attachment name keeping the ref's extension (`grid.png`)."""
    return f"{stem}.{_extension(ref)}"


def _extension(ref: str) -> str:
    return "png" if parse_cell_ref(ref) is not None else ref.rsplit(".", 1)[-1]


def read_ref(ref: object, read_stored: Callable[[str], bytes | None]) -> bytes | None:
    """The bytes `ref` names, given a store's reader of stored refs; None for anything malformed or gone.

    Refs arrive from Redis and from Discord custom_ids, so nothing here raises for a bad one.
    """
    if is_stored_ref(ref):
        return read_stored(ref)
    cell = parse_cell_ref(ref)
    if cell is None:
        return None
    grid_ref, index = cell
    grid = read_stored(grid_ref)
    return None if grid is None else _crop_cell(grid, index, grid_ref)


def read_image(store: BlobStore, ref: str) -> Image.Image | None:
    """The image `ref` names, decoded (None when gone). A cell is decoded from its grid's rows, without
    the PNG encode and decode a `get` of it would add (the worker's source image of a V, zoom or pan:
    ~0.3 s at 1024²). Raises OSError for data that is no image."""
    cell = parse_cell_ref(ref)
    data = store.get(cell[0] if cell else ref)
    if data is None:
        return None
    return cell_from_bytes(data, cell[1]) if cell else image_from_bytes(data)


def _crop_cell(grid: bytes, index: int, grid_ref: str) -> bytes | None:
    try:
        cell = cell_from_bytes(grid, index)
    except (OSError, ValueError):  # Pillow's errors for data that is no image, or a damaged one
        log.warning("blob %s is not a readable grid; cell %d is missing", grid_ref, index)
        return None
    return image_to_png_bytes(cell)


class RedisBlobStore:
    """Blobs as plain Redis strings (raw image bytes, never pickled) with EXPIRE."""

    def __init__(self, client: redis.Redis, default_ttl_s: int) -> None:
        self.client = client
        self.default_ttl_s = default_ttl_s

    def put(self, data: bytes, *, content_type: str = "image/png", ttl_s: int | None = None) -> str:
        ref = new_ref(content_type)
        self.client.set(keys.blob_key(ref), data, ex=max(1, int(ttl_s or self.default_ttl_s)))
        return ref

    def get(self, ref: str) -> bytes | None:
        return read_ref(ref, self._read)

    def _read(self, ref: str) -> bytes | None:
        # Midway's clients are made without decode_responses (RQ reads bytes), so GET answers bytes;
        # redis-py types the reply for either kind of client.
        return cast("bytes | None", self.client.get(keys.blob_key(ref)))


class FileBlobStore:
    """Blobs as files in a directory; a file's mtime is its expiry time, so no index is needed.

    Every process that mounts the directory sees the same blobs. Writes go to a temporary name and
    are renamed into place, so a reader never sees half an image.
    """

    def __init__(self, directory: Path, default_ttl_s: int) -> None:
        self.directory = Path(directory)
        self.default_ttl_s = default_ttl_s

    def put(self, data: bytes, *, content_type: str = "image/png", ttl_s: int | None = None) -> str:
        ref = new_ref(content_type)
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / ref
        partial = self.directory / f".{ref}.partial"
        partial.write_bytes(data)
        expires_at = time.time() + max(1, int(ttl_s or self.default_ttl_s))
        os.utime(partial, (expires_at, expires_at))
        partial.replace(final)
        return ref

    def get(self, ref: str) -> bytes | None:
        return read_ref(ref, self._read)

    def _read(self, ref: str) -> bytes | None:
        path = self.directory / ref
        try:
            if path.stat().st_mtime <= time.time():
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def purge_expired(self) -> int:
        """Delete expired files (the worker calls this now and then); returns how many went."""
        removed = 0
        now = time.time()
        for path in self.directory.glob("*.*"):
            try:
                if is_stored_ref(path.name) and path.stat().st_mtime <= now:
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def blob_store(settings: Settings, client: redis.Redis) -> BlobStore:
    """The store settings.blob_store names ("redis" or "fs"), with settings.image_ttl_s."""
    kind = settings.blob_store.strip().lower()
    if kind == "redis":
        return RedisBlobStore(client, settings.image_ttl_s)
    if kind in ("fs", "file", "files"):
        return FileBlobStore(settings.resolved_blob_dir, settings.image_ttl_s)
    raise ValueError(f"MIDWAY_BLOB_STORE must be 'redis' or 'fs', got {settings.blob_store!r}")
