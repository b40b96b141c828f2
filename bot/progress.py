"""Progress on a job's message: coalesced, throttled edits, and live queue positions while it waits.

Progress is coalesced per message: at most one edit is in flight per message and at most one more
waits, holding only the newest state. discord.py already sleeps on exhausted rate-limit buckets
(X-RateLimit-Remaining / Reset-After); while it sleeps newer progress replaces the waiting edit
instead of piling up behind it, so a slow bucket never replays stale percentages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import aiohttp
import discord
import redis

from bot import messages, render
from bot.backend import Backend
from bot.results import job_channel
from bot.views import build_view
from midway.contract import Job

log = logging.getLogger(__name__)

# A 403 (missing access) or 404 (unknown channel or message) does not heal by retrying: the bot lost the
# channel, or it was deleted. 5xx, 429 past discord.py's own waits, and network errors may heal.
PERMANENT_ERRORS = (discord.Forbidden, discord.NotFound)
RETRYABLE_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, asyncio.TimeoutError)
# Jobs whose result this bot has begun delivering, remembered so late events cannot touch their message.
FINISHED_MEMORY = 10_000


@dataclass
class PendingEdit:
    content: str
    buttons: list[messages.ButtonSpec]
    preview: str | None = None
    entry_ids: list[str] = field(default_factory=list)


class ProgressEdits:
    """Delivery's progress half (a mixin: Delivery owns the state below and the stream it acknowledges).
    A job's result takes the job's lock in `_locks`, so no progress edit is in flight as it is posted,
    and enters `_finished`, so none follows it."""

    client: discord.Client
    backend: Backend
    throttle_s: float
    queue_poll_s: float
    _pending: dict[str, PendingEdit]
    _pumps: dict[str, asyncio.Task]
    _locks: dict[str, asyncio.Lock]
    _jobs: dict[str, Job]
    _waiting: dict[str, str]
    _finished: dict[str, None]
    _stopping: asyncio.Event
    _acks_due: list[str]
    _unsubmitted: set[str]

    async def _ack(self, entry_ids: list[str]) -> None:
        raise NotImplementedError

    async def _job(self, job_id: str, fresh: bool = False) -> Job | None:
        raise NotImplementedError

    def track(self, job: Job) -> None:
        """Show live queue positions for a job whose message says "(Waiting to start)" (called before
        it is submitted, so its `queued` event finds it tracked)."""
        self._jobs[job.id] = job
        self._waiting.setdefault(job.id, messages.waiting(job))
        self._unsubmitted.add(job.id)

    @property
    def idle(self) -> bool:
        """No edit is waiting or in flight (bench/ack_load.py measures each burst from a quiet bot)."""
        return not self._pumps and not self._pending

    def submitted(self, job_id: str) -> None:
        """Its submit returned: the job is in Redis now, so the position poll may look for it."""
        self._unsubmitted.discard(job_id)

    def untrack(self, job_id: str) -> None:
        self._waiting.pop(job_id, None)
        self._unsubmitted.discard(job_id)

    def offer(self, job: Job, content: str, buttons: list[messages.ButtonSpec], *, preview: str | None = None,
              entry_id: str | None = None) -> None:
        """Queue an edit of the job's message; a newer offer replaces an older one not yet sent."""
        if self._stopping.is_set():
            return  # shutting down: no new edits (an entry stays un-acknowledged for the next start)
        if job.id in self._finished:
            # The result is (being) delivered: a queue-position or progress edit would overwrite it.
            if entry_id is not None:
                self._acks_due.append(entry_id)
            return
        previous = self._pending.get(job.id)
        entry_ids = previous.entry_ids if previous else []
        if previous is not None and preview is None:
            preview = previous.preview
        if entry_id is not None:
            entry_ids = [*entry_ids, entry_id]
        self._pending[job.id] = PendingEdit(content, buttons, preview, entry_ids)
        if job.id not in self._pumps:
            self._pumps[job.id] = asyncio.create_task(self._pump(job))

    async def _pump(self, job: Job) -> None:
        lock = self._locks.setdefault(job.id, asyncio.Lock())
        try:
            while (pending := self._pending.pop(job.id, None)) is not None:
                async with lock:
                    await self._apply(job, pending)
                # The pause between edits of one message; newer offers coalesce meanwhile.
                await asyncio.sleep(self.throttle_s)
        finally:
            self._pumps.pop(job.id, None)

    async def _apply(self, job: Job, pending: PendingEdit) -> None:
        assert job.message is not None and job.message.message_id is not None
        attachments = []
        try:
            data = await self.backend.blob(pending.preview)
        except redis.RedisError:  # the edit still goes, without its preview
            data = None
        if data is not None:
            attachments.append(render.preview_file(data, job))
        try:
            await self.message_of(job).edit(content=pending.content, attachments=attachments,
                                          view=build_view(pending.buttons))
        except PERMANENT_ERRORS as error:
            # Logged once: remembered as finished, so no later progress for it reaches Discord.
            log.info("message of job %s is gone or out of reach (%s); dropping its progress", job.id, error)
            self._remember_finished(job.id)
        except RETRYABLE_ERRORS as error:
            # Progress is disposable: the next event (or the result) supersedes it.
            log.warning("progress edit for job %s failed: %s", job.id, error)
        try:
            await self._ack(pending.entry_ids)
        except redis.RedisError as error:
            # Left pending: read again once the stream is back (run() rewinds after its own errors).
            log.warning("acknowledging progress of job %s failed: %s", job.id, error)

    def message_of(self, job: Job) -> discord.PartialMessage:
        assert job.message is not None and job.message.message_id is not None
        return job_channel(self.client, job).get_partial_message(int(job.message.message_id))

    async def _poll_queue_positions(self) -> None:
        while True:
            await asyncio.sleep(self.queue_poll_s)
            # With hundreds waiting a poll is 5-20 ms of the loop: not while interactions wait for answers.
            priority = getattr(self.client, "ack_priority", None)
            if priority is not None:
                await priority.until_idle()
            with contextlib.suppress(Exception):
                await self.refresh_positions()

    async def refresh_positions(self) -> None:
        """Edit every waiting message whose queue position changed; positions of all at once, from the
        queue lists alone (bench: a burst leaves hundreds waiting, polled every queue_poll_s)."""
        jobs = []
        for job_id in [job_id for job_id in self._waiting if job_id not in self._unsubmitted]:
            # Through the cache, which forgets everything past 5000 jobs: a waiting job must not drop
            # out of it and then stay in _waiting, polled every few seconds for ever.
            job = await self._job(job_id)
            if job is None:
                self._waiting.pop(job_id, None)
            else:
                jobs.append(job)
        positions = await self.backend.waiting_positions(jobs)
        for job in jobs:
            if job.id not in self._waiting:
                continue
            still_waiting, position = positions[job.id]
            if not still_waiting:  # started, finished or cancelled: its events take over the message
                self._waiting.pop(job.id, None)
                continue
            text = messages.waiting(job, position, served=position is not None)
            if text != self._waiting.get(job.id) and job.message and job.message.message_id:
                self._waiting[job.id] = text
                self.offer(job, text, messages.cancel_buttons(job.id))

    def _remember_finished(self, job_id: str) -> None:
        self._finished[job_id] = None
        if len(self._finished) > FINISHED_MEMORY:
            del self._finished[next(iter(self._finished))]
