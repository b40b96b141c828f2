"""Results whose terminal event the bot never read, delivered from keys.UNDELIVERED instead.

The event stream is trimmed (midway/events.py STREAM_MAXLEN) so that it cannot grow without bound. A
bot that is down for hours while workers keep publishing progress can come back to find a job's
`done` trimmed away, and that job's message would then sit at its last percentage for good.
JobStore.finish records every finished Discord job in keys.UNDELIVERED, in the same MULTI as its
terminal event, and delivering the job (or giving up on it) removes it. This sweep delivers whatever
is still there GRACE_S after it finished. Normally the stream has delivered it long before then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import redis

from midway.contract import Event, EventKind, Job

if TYPE_CHECKING:
    from bot.backend import Backend
    from bot.store import BotStore

# What a sweep hands a missed result to (Delivery.deliver_missed): the job and the terminal event it
# would have read from the stream.
Deliver = Callable[[Job, Event], Awaitable[None]]

log = logging.getLogger(__name__)

GRACE_S = 120.0  # the stream's turn first: a live bot delivers a result within seconds of its event
SWEEP_EVERY_S = 60.0
BATCH = 50


async def sweep_once(store: BotStore, backend: Backend, deliver: Deliver) -> int:
    """Deliver the missed results due now; returns how many were handed to `deliver`."""
    handed = 0
    for job_id in await store.undelivered(time.time() - GRACE_S, BATCH):
        job = await backend.get(job_id)
        if job is None or not job.status.finished or job.message is None or job.message.message_id is None:
            await store.forget_undelivered(job_id)  # expired, or nothing to answer in
            continue
        if await store.delivered(job_id) is not None:
            await store.forget_undelivered(job_id)  # delivered; the removal was lost
            continue
        log.warning("job %s finished %.0f s ago and its result was never delivered (its event was trimmed"
                    " from the stream?); delivering it now", job.id, time.time() - (job.finished_at or 0))
        await deliver(job, missed_event(job))
        handed += 1
    return handed


def missed_event(job: Job) -> Event:
    """The terminal event a finished job published: its images (and their safety verdict, which the result
    post applies the server's policy to, as for a result from the stream), or its texts (/describe, /shorten)."""
    return Event(job_id=job.id, kind=EventKind(job.status.value), outputs=job.outputs, grid=job.grid,
                 error=job.error, texts=job.texts, word_scores=job.word_scores, safety_scores=job.safety_scores,
                 safety_flagged=job.safety_flagged, safety_failed=job.safety_failed)


async def sweep_forever(store: BotStore, backend: Backend, deliver: Deliver) -> None:
    while True:
        try:
            await sweep_once(store, backend, deliver)
        except redis.RedisError as error:
            log.warning("could not look for missed results: %s", error)
        except Exception:  # a bug here must not stop the bot's other work
            log.exception("looking for missed results failed")
        await asyncio.sleep(SWEEP_EVERY_S)
