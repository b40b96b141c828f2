"""Image blobs addressed by reference, with a time to live (no torch here).

Workers put images; the bot and `midway submit` get them by the ref carried in an Event. Two stores:
Redis (the default: nothing else to run, shared by every machine that shares the Redis) and a
directory (a shared volume, for large images or to keep them out of Redis memory). After the TTL an
image is gone; it can be re-derived from its job's spec and seed (the worker does that for U/V).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import Protocol

import redis

from midway import keys
from midway.settings import Settings

# A ref is `<32 hex>.<ext>`: safe as a Redis key part and as a file name (no path traversal).
_REF_PATTERN = re.compile(r"^[0-9a-f]{32}\.(png|jpg|jpeg|webp|bin)$")

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class BlobStore(Protocol):
    def put(self, data: bytes, *, content_type: str = "image/png", ttl_s: int | None = None) -> str: ...

    def get(self, ref: str) -> bytes | None: ...


def new_ref(content_type: str) -> str:
    return f"{uuid.uuid4().hex}.{_EXTENSIONS.get(content_type, 'bin')}"


def is_ref(ref: str) -> bool:
    return bool(_REF_PATTERN.match(ref))


def content_type(ref: str) -> str:
    """The MIME type a ref was stored with (from its extension), for attachments and HTTP replies."""
    return _CONTENT_TYPES.get(ref.rsplit(".", 1)[-1], "application/octet-stream")


def filename(ref: str, stem: str = "image") -> str:
    """A friendly attachment name keeping the ref's extension (`grid.png`)."""
    return f"{stem}.{ref.rsplit('.', 1)[-1]}"


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
        if not is_ref(ref):
            return None
        return self.client.get(keys.blob_key(ref))


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
        if not is_ref(ref):
            return None
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
                if is_ref(path.name) and path.stat().st_mtime <= now:
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
