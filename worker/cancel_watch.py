"""Cancel requests watched from a thread of their own, so a denoising step never waits on Redis.

An engine asks `should_cancel()` between steps. Asking Redis there put a network round trip on the
compute thread at every step, and more when Redis shares a machine with busy neighbours (the bot on
a small box) and must wait to be scheduled. On a GPU that wait also holds back the next step's kernel
launches. Here a thread asks every CANCEL_POLL_S and the step loop reads a flag: a cancel lands
within one poll plus one step. What bench/overhead.py saw of it is in bench/RESULTS.md (the
worker's engine.run against the same engine in-process; the spread between runs is about as large
as the effect).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

# How often a running job's cancel flag is read; well inside the time a person waits for a Cancel.
CANCEL_POLL_S = 0.1


class CancelWatch:
    """`with CancelWatch(lambda: store.cancel_requested(job_id)) as cancelled:` ... `cancelled()`."""

    def __init__(self, is_requested: Callable[[], bool], interval_s: float | None = None,
                 name: str = "cancel-watch") -> None:
        self.is_requested = is_requested
        self.interval_s = CANCEL_POLL_S if interval_s is None else interval_s
        self._requested = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=name, daemon=True)

    def __enter__(self) -> CancelWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def __call__(self) -> bool:
        return self._requested.is_set()

    def _watch(self) -> None:
        failing = False
        while not self._stop.wait(self.interval_s):
            try:
                if self.is_requested():
                    self._requested.set()
                    return
                failing = False
            except redis.RedisError:
                # A Redis blip must not fail the job: the next poll asks again (logged once per outage).
                if not failing:
                    log.warning("could not check for a cancel request; will keep asking", exc_info=True)
                failing = True
