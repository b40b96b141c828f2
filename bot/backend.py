"""The bot's async face over the shared job runtime (midway.jobs, midway.events, midway.blobs).

Those modules use the synchronous redis client (RQ needs it); every call here runs in a thread so
the gateway's event loop never blocks on Redis. Nothing here imports torch or the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from midway import keys
from midway.blobs import blob_store
from midway.contract import Job
from midway.events import EventConsumer
from midway.jobs import JobStore
from midway.redis_clients import sync_redis
from midway.settings import Settings

_T = TypeVar("_T")

# Jobs per submit batch: bounds one MULTI (and the wait of the last job in it).
MAX_SUBMIT_BATCH = 64
# Acknowledgements before bookkeeping: during a burst (submits arriving less than SUBMIT_QUIET_S
# apart, or the bot's `busy` saying interactions await their answers: bot/ack_priority.py) a submit
# waits until neither holds, but never longer than SUBMIT_MAX_DELAY_S. On a busy bot the submit
# thread's Python would otherwise take the GIL from the event loop exactly while later interactions
# wait for their replies (bench/ack_load.py). A lone submit goes at once: bench/overhead.py counts
# every millisecond before the worker starts.
SUBMIT_QUIET_S = 0.02
SUBMIT_MAX_DELAY_S = 0.5
# How often a held submit looks again: a few event-loop wake-ups per burst, far below one reply's cost.
SUBMIT_POLL_S = 0.003


class Backend:
    def __init__(self, settings: Settings, redis_url: str, *, busy: Callable[[], bool] = lambda: False) -> None:
        # RQ reads bytes, so this client must not decode responses.
        self.redis = sync_redis(redis_url)
        self.settings = settings
        self.jobs = JobStore(self.redis, settings)
        self.blobs = blob_store(settings, self.redis)
        self._submitting: set[asyncio.Future] = set()
        # Submissions run in their own thread, one batch at a time, in arrival order. Each is Python
        # (RQ, JSON) holding the GIL; under a burst of /imagine, dozens of them in parallel threads
        # starved the event loop that is still acknowledging later interactions (every socket call
        # there gave up the GIL and waited a switch interval to get it back). One thread bounds that
        # to one competitor; and the jobs that arrive while a batch is in flight go together in the
        # next (JobStore.submit_many: one queue read and one MULTI), ~2.7x less CPU per job.
        self._submitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="midway-submit")
        self._to_submit: list[tuple[Job, asyncio.Future]] = []
        self._submit_flusher: asyncio.Task | None = None
        self._last_submit_at = 0.0
        self._busy = busy

    async def _run(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        return await asyncio.to_thread(partial(function, *args, **kwargs))

    async def get(self, job_id: str) -> Job | None:
        return await self._run(self.jobs.get, job_id)

    async def save(self, job: Job) -> None:
        await self._run(self.jobs.save, job)

    async def submit(self, job: Job) -> Job:
        """Enqueue, and remember the job under its user for the per-user caps, /info and /cancel."""
        # Shielded and tracked: a bot shutting down waits for it (drain) instead of losing a job whose
        # "(Waiting to start)" message is already posted.
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._to_submit.append((job, future))
        now = loop.time()
        in_burst, self._last_submit_at = now - self._last_submit_at < SUBMIT_QUIET_S, now
        self._submitting.add(future)
        future.add_done_callback(self._submitting.discard)
        if self._submit_flusher is None or self._submit_flusher.done():
            self._submit_flusher = loop.create_task(self._flush_submits(wait_first=in_burst or self._busy()))
        return await asyncio.shield(future)

    async def _flush_submits(self, wait_first: bool) -> None:
        loop = asyncio.get_running_loop()
        wait = wait_first
        while self._to_submit:
            if wait:
                await self._until_quiet(loop)
            # Jobs that arrived while a batch was in flight are a burst: let its acknowledgements go first.
            wait = True
            batch = self._to_submit[:MAX_SUBMIT_BATCH]
            del self._to_submit[:MAX_SUBMIT_BATCH]
            try:
                await loop.run_in_executor(self._submitter, self._submit, [job for job, _ in batch])
            except Exception as error:  # one MULTI: none of the batch was queued, and each caller says so
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for job, future in batch:
                if not future.done():
                    future.set_result(job)

    async def _until_quiet(self, loop: asyncio.AbstractEventLoop) -> None:
        first_at = loop.time()
        while True:
            now = loop.time()
            quiet_for, waited = now - self._last_submit_at, now - first_at
            if waited >= SUBMIT_MAX_DELAY_S or (quiet_for >= SUBMIT_QUIET_S and not self._busy()):
                return
            pause = SUBMIT_QUIET_S - quiet_for if quiet_for < SUBMIT_QUIET_S else SUBMIT_POLL_S
            await asyncio.sleep(min(pause, SUBMIT_MAX_DELAY_S - waited))

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for submissions in flight (called before close())."""
        if self._submitting:
            await asyncio.wait(list(self._submitting), timeout=timeout_s)

    def _submit(self, jobs: list[Job]) -> list[Job]:
        # One thread call, so a bot shutting down cannot stop it half-way; and one MULTI in Redis (records,
        # the users' job lists, `queued`, the queue pushes), so a crash or a dropped connection cannot leave
        # a listed job that no queue holds.
        return self.jobs.submit_many(jobs, list_for_user=True)

    async def cancel(self, job_id: str) -> Job | None:
        return await self._run(self.jobs.cancel, job_id)

    async def waiting_positions(self, jobs: list[Job]) -> dict[str, tuple[bool, int | None, float | None]]:
        """(still waiting, queue position, seconds until it starts) of each job (midway/positions.py)."""
        return await self._run(self.jobs.positions.waiting_estimates, jobs)

    async def live_engines(self) -> set[str]:
        return set(await self._run(self.jobs.positions.live_engines))

    async def blob(self, ref: str | None) -> bytes | None:
        if not ref:
            return None
        return await self._run(self.blobs.get, ref)

    async def put_blob(self, data: bytes, content_type: str = "image/png") -> str:
        return await self._run(self.blobs.put, data, content_type=content_type)

    def consumer(self, name: str) -> EventConsumer:
        # "$": a brand-new group starts at the stream's end; an existing group resumes where it was.
        # Every bot process is one consumer of the same group; what a dead one read but never acked is taken
        # over by another after MIDWAY_EVENT_CLAIM_IDLE_S.
        return EventConsumer(self.redis, keys.BOT_GROUP, name, start_id="$",
                             claim_idle_ms=int(self.settings.event_claim_idle_s * 1000))

    def close(self) -> None:
        self._submitter.shutdown(wait=False)
        self.redis.close()
