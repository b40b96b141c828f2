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
from collections.abc import Awaitable, Callable
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
LOST_IN_FAILOVER = "Redis lost this job (it failed over before a replica had it); please submit it again"
# Jobs whose result this bot has begun delivering, remembered so late events cannot touch their message.
FINISHED_MEMORY = 10_000


@dataclass
class PendingEdit:
    content: str
    buttons: list[messages.ButtonSpec]
    preview: str | None = None
    entry_ids: list[str] = field(default_factory=list)


class JobCache:
    """The records of the jobs this bot is showing, read from Redis once (again, fresh, for a result)."""

    LIMIT = 5000

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._jobs: dict[str, Job] = {}

    async def get(self, job_id: str, fresh: bool = False) -> Job | None:
        if fresh or job_id not in self._jobs:
            job = await self.backend.get(job_id)
            if job is None:
                return None
            self.put(job)
        return self._jobs[job_id]

    def put(self, job: Job) -> None:
        if len(self._jobs) > self.LIMIT and job.id not in self._jobs:
            self._jobs.clear()
        self._jobs[job.id] = job

    def forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)


class ProgressEdits:
    """The edits of jobs' messages before their results: "(Waiting to start)" with live queue positions,
    then "(NN%)" with a preview. Delivery owns one and tells it when a result begins (`result_begins`):
    the result then takes the job's lock, so no progress edit is in flight as it is posted, and drops
    the job's edits (`drop_edits`), so none follows it.

    `ack` acknowledges stream entries now, `ack_later` hands one to Delivery's next batched XACK, and
    `stopping` is Delivery's shutdown flag."""

    def __init__(self, client: discord.Client, backend: Backend, jobs: JobCache, *,
                 ack: Callable[[list[str]], Awaitable[None]], ack_later: Callable[[str], None],
                 stopping: asyncio.Event, throttle_s: float = 1.0, queue_poll_s: float = 2.0,
                 delivered: Callable[[str], Awaitable[bool]] | None = None) -> None:
        self.client = client
        # Whether a job's result is already posted, perhaps by another bot process (its progress events
        # went to this one): a progress edit then would overwrite the "(Done)" on its message.
        self._delivered = delivered
        self.backend = backend
        self.jobs = jobs
        self._ack = ack
        self._ack_later = ack_later
        self._stopping = stopping
        self.throttle_s = throttle_s
        self.queue_poll_s = queue_poll_s
        self.pending: dict[str, PendingEdit] = {}
        self.pumps: dict[str, asyncio.Task] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        # Jobs whose message says "(Waiting to start)", with the text it shows.
        self.waiting: dict[str, str] = {}
        # Jobs whose result has begun: insertion-ordered, oldest forgotten first.
        self.finished: dict[str, None] = {}
        # Tracked jobs whose submit has not returned yet: no record to poll, nothing to drop.
        self.unsubmitted: set[str] = set()

    def lock(self, job_id: str) -> asyncio.Lock:
        return self.locks.setdefault(job_id, asyncio.Lock())

    def result_begins(self, job_id: str) -> None:
        """A result is on its way (before it waits for `lock(job_id)`): from now on no edit is queued."""
        self.waiting.pop(job_id, None)
        self.remember_finished(job_id)

    def drop_edits(self, job_id: str) -> PendingEdit | None:
        """Under `lock(job_id)`: stop the job's edits for good. Returns the edit that was waiting, whose
        stream entries the result acknowledges."""
        superseded = self.pending.pop(job_id, None)
        pump = self.pumps.pop(job_id, None)
        if pump is not None:
            pump.cancel()
        return superseded

    def forget(self, job_id: str) -> None:
        self.locks.pop(job_id, None)
        self.jobs.forget(job_id)

    def cancel_all(self) -> list[asyncio.Task]:
        """Shutting down: every edit in flight is cancelled; returns their tasks, to await."""
        for task in self.pumps.values():
            task.cancel()
        return list(self.pumps.values())

    def track(self, job: Job) -> None:
        """Show live queue positions for a job whose message says "(Waiting to start)" (called before
        it is submitted, so its `queued` event finds it tracked)."""
        self.jobs.put(job)
        self.waiting.setdefault(job.id, messages.waiting(job))
        self.unsubmitted.add(job.id)

    @property
    def idle(self) -> bool:
        """No edit is waiting or in flight (bench/ack_load.py measures each burst from a quiet bot)."""
        return not self.pumps and not self.pending

    def submitted(self, job_id: str) -> None:
        """Its submit returned: the job is in Redis now, so the position poll may look for it."""
        self.unsubmitted.discard(job_id)

    def untrack(self, job_id: str) -> None:
        self.waiting.pop(job_id, None)
        self.unsubmitted.discard(job_id)

    def offer(self, job: Job, content: str, buttons: list[messages.ButtonSpec], *, preview: str | None = None,
              entry_id: str | None = None) -> None:
        """Queue an edit of the job's message; a newer offer replaces an older one not yet sent."""
        if self._stopping.is_set():
            return  # shutting down: no new edits (an entry stays un-acknowledged for the next start)
        if job.id in self.finished:
            # The result is (being) delivered: a queue-position or progress edit would overwrite it.
            if entry_id is not None:
                self._ack_later(entry_id)
            return
        previous = self.pending.get(job.id)
        entry_ids = previous.entry_ids if previous else []
        if previous is not None and preview is None:
            preview = previous.preview
        if entry_id is not None:
            entry_ids = [*entry_ids, entry_id]
        self.pending[job.id] = PendingEdit(content, buttons, preview, entry_ids)
        if job.id not in self.pumps:
            self.pumps[job.id] = asyncio.create_task(self._pump(job))

    async def _pump(self, job: Job) -> None:
        lock = self.lock(job.id)
        try:
            while (pending := self.pending.pop(job.id, None)) is not None:
                async with lock:
                    await self._apply(job, pending)
                # The pause between edits of one message; newer offers coalesce meanwhile.
                await asyncio.sleep(self.throttle_s)
        finally:
            self.pumps.pop(job.id, None)

    async def _apply(self, job: Job, pending: PendingEdit) -> None:
        assert job.message is not None and job.message.message_id is not None
        if await self._delivered_elsewhere(job.id):
            self.remember_finished(job.id)
            await self._ack(pending.entry_ids)
            return
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
            self.remember_finished(job.id)
        except RETRYABLE_ERRORS as error:
            # Progress is disposable: the next event (or the result) supersedes it.
            log.warning("progress edit for job %s failed: %s", job.id, error)
        try:
            await self._ack(pending.entry_ids)
        except redis.RedisError as error:
            # Left pending: read again once the stream is back (run() rewinds after its own errors).
            log.warning("acknowledging progress of job %s failed: %s", job.id, error)

    async def _delivered_elsewhere(self, job_id: str) -> bool:
        if self._delivered is None or job_id in self.finished:
            return False
        try:
            return await self._delivered(job_id)
        except redis.RedisError:
            return False  # the edit still goes: progress is disposable, a stale one is superseded

    def message_of(self, job: Job) -> discord.PartialMessage:
        assert job.message is not None and job.message.message_id is not None
        return job_channel(self.client, job).get_partial_message(int(job.message.message_id))

    async def poll_queue_positions(self) -> None:
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
        for job_id in [job_id for job_id in self.waiting if job_id not in self.unsubmitted]:
            # Through the cache, which forgets everything past 5000 jobs: a waiting job must not drop
            # out of it and then stay in _waiting, polled every few seconds for ever.
            job = await self.jobs.get(job_id)
            if job is None:
                self.waiting.pop(job_id, None)
            else:
                jobs.append(job)
        positions = await self.backend.waiting_positions(jobs)
        for job in jobs:
            if job.id not in self.waiting:
                continue
            still_waiting, position, eta_s = positions[job.id]
            if not still_waiting:  # started, finished or cancelled: its events take over the message
                self.waiting.pop(job.id, None)
                await self._fail_if_lost(job)
                continue
            text = messages.waiting(job, position, served=position is not None, eta_s=eta_s)
            if text != self.waiting.get(job.id) and job.message and job.message.message_id:
                self.waiting[job.id] = text
                self.offer(job, text, messages.cancel_buttons(job.id))

    async def _fail_if_lost(self, job: Job) -> None:
        """A job that left its queue with no record left behind was lost, not started: Redis replicates
        asynchronously, and a failover to a replica that never got the job takes queue entry and record
        alike. No event will ever come for it, so its message says so now instead of waiting for ever."""
        if await self.backend.get(job.id) is not None:
            return
        log.warning("job %s: its record and queue entry are gone (lost in a Redis failover?); telling its user",
                    job.id)
        self.offer(job, messages.failed(job, LOST_IN_FAILOVER), [])
        self.remember_finished(job.id)

    def remember_finished(self, job_id: str) -> None:
        self.finished[job_id] = None
        if len(self.finished) > FINISHED_MEMORY:
            del self.finished[next(iter(self.finished))]
