"""Progress events from an engine's per-step callback: throttled, each with a small preview image.

The bot edits a Discord message per progress event, and Discord rate-limits message edits, so we
publish at most one event per settings.progress_interval_s. The preview is a small lossy image with
a short TTL: it is only interesting until the result arrives.

A worker sends them from a thread of its own (`background=True`, used as a context manager): encoding
the preview and two Redis round trips then happen beside the next denoising steps instead of between
them (on a GPU, while its queue of kernels runs dry). A newer event replaces an older one not yet
sent, and leaving the block sends the last one, so a job's progress still precedes its result.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable

import redis
from PIL import Image

from midway.contract import Event, EventKind

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 384
PREVIEW_QUALITY = 70
PREVIEW_TTL_S = 3600


def encode_preview(image: Image.Image) -> bytes:
    """A small WebP of the preview (a few KB): cheap to store and to attach to a message edit."""
    small = image.convert("RGB")
    small.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, format="WEBP", quality=PREVIEW_QUALITY)
    return buffer.getvalue()


class ProgressReporter:
    """The `on_progress(step, total, preview)` callback an engine calls after each step."""

    def __init__(
        self,
        job_id: str,
        *,
        publish: Callable[[Event], object],
        put_preview: Callable[[bytes], str],
        interval_s: float,
        attempt: int | None = None,
        worker: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        background: bool = False,
    ) -> None:
        self.job_id = job_id
        self.publish = publish
        self.put_preview = put_preview
        self.interval_s = interval_s
        self.attempt = attempt
        self.worker = worker
        self.clock = clock
        self._last_at: float | None = None
        self.published = 0
        self._background = background
        # The one event waiting for the sender thread: (step, total, preview); a newer one replaces it.
        self._mailbox: tuple[int, int, Image.Image | None] | None = None
        self._wake = threading.Condition()
        self._closing = False
        self._sender: threading.Thread | None = None

    def __enter__(self) -> ProgressReporter:
        if self._background:
            self._sender = threading.Thread(target=self._send_loop, name=f"progress-{self.job_id}", daemon=True)
            self._sender.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._sender is not None:
            with self._wake:
                self._closing = True
                self._wake.notify()
            self._sender.join()
            self._sender = None

    def wants_preview(self, step: int, total: int) -> bool:
        """Whether a call for this step would publish: engines build a preview only then."""
        return self._due(step, total, self.clock())

    def _due(self, step: int, total: int, now: float) -> bool:
        # The final step is followed at once by `done`, which carries the real images.
        if total <= 0 or step >= total:
            return False
        return self._last_at is None or now - self._last_at >= self.interval_s

    def __call__(self, step: int, total: int, preview: Image.Image | None) -> None:
        now = self.clock()
        if not self._due(step, total, now):
            return
        self._last_at = now
        if self._sender is None:
            self._send(step, total, preview)
            return
        with self._wake:
            self._mailbox = (step, total, preview)
            self._wake.notify()

    def _send_loop(self) -> None:
        while True:
            with self._wake:
                while self._mailbox is None and not self._closing:
                    self._wake.wait()
                item, self._mailbox = self._mailbox, None
                closing = self._closing
            if item is not None:
                try:
                    self._send(*item)
                except Exception:  # a bug here must not silence the rest of the job's progress
                    log.exception("could not send progress of job %s", self.job_id)
            if closing and item is None:
                return

    def _send(self, step: int, total: int, preview: Image.Image | None) -> None:
        event = Event(job_id=self.job_id, kind=EventKind.progress, step=step, total=total,
                      preview=self._store(preview), attempt=self.attempt, worker=self.worker)
        try:
            self.publish(event)
        except redis.RedisError:
            # Progress is a nicety too: a Redis blip mid-job must not fail the job (the result, which
            # is not optional, is written when the engine is done, by then perhaps with Redis back).
            log.warning("could not publish progress of job %s", self.job_id, exc_info=True)
            return
        self.published += 1

    def _store(self, preview: Image.Image | None) -> str | None:
        if preview is None:
            return None
        try:
            return self.put_preview(encode_preview(preview))
        except (OSError, ValueError, redis.RedisError):
            # A preview is a nicety: never fail a job because one could not be encoded or stored. Only
            # those errors: RQ's job timeout arrives as an exception raised wherever the worker is when
            # the alarm rings, and swallowing it here let an over-time job run on to the end.
            log.warning("could not store a preview for job %s", self.job_id, exc_info=True)
            return None
