"""The bot's async face over the shared job runtime (midway.jobs, midway.events, midway.blobs).

Those modules use the synchronous redis client (RQ needs it); every call here runs in a thread so
the gateway's event loop never blocks on Redis. Nothing here imports torch or the worker.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import redis

from midway import keys
from midway.blobs import blob_store
from midway.contract import Job
from midway.events import EventConsumer
from midway.jobs import JobStore
from midway.settings import Settings


class Backend:
    def __init__(self, settings: Settings, redis_url: str) -> None:
        # RQ reads bytes, so this client must not decode responses.
        self.redis = redis.Redis.from_url(redis_url)
        self.settings = settings
        self.jobs = JobStore(self.redis, settings)
        self.blobs = blob_store(settings, self.redis)
        self._submitting: set[asyncio.Future] = set()
        # Submissions run one at a time in their own thread, in arrival order. Each is a burst of
        # Python (RQ, JSON) holding the GIL; under a burst of /imagine, dozens of them in parallel
        # threads starved the event loop that is still acknowledging later interactions (every
        # socket call there gave up the GIL and waited a switch interval to get it back). One
        # thread bounds that to one competitor, and Redis serialises the MULTIs anyway.
        self._submitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="midway-submit")

    async def _run(self, function, *args, **kwargs):
        return await asyncio.to_thread(partial(function, *args, **kwargs))

    async def get(self, job_id: str) -> Job | None:
        return await self._run(self.jobs.get, job_id)

    async def save(self, job: Job) -> None:
        await self._run(self.jobs.save, job)

    async def submit(self, job: Job) -> Job:
        """Enqueue, and remember the job under its user for the per-user caps, /info and /cancel."""
        # Shielded and tracked: a bot shutting down waits for it (drain) instead of losing a job whose
        # "(Waiting to start)" message is already posted.
        future = asyncio.get_running_loop().run_in_executor(self._submitter, self._submit, job)
        self._submitting.add(future)
        future.add_done_callback(self._submitting.discard)
        return await asyncio.shield(future)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for submissions in flight (called before close())."""
        if self._submitting:
            await asyncio.wait(list(self._submitting), timeout=timeout_s)

    def _submit(self, job: Job) -> Job:
        # One thread call, so a bot shutting down cannot stop it half-way; and one MULTI in Redis (record,
        # the user's job list, `queued`, the queue push), so a crash or a dropped connection cannot leave a
        # listed job that no queue holds.
        return self.jobs.submit(job, list_for_user=True)

    async def cancel(self, job_id: str) -> Job | None:
        return await self._run(self.jobs.cancel, job_id)

    async def queue_position(self, job_id: str) -> int | None:
        return await self._run(self.jobs.queue_position, job_id)

    async def live_engines(self) -> set[str]:
        return set(await self._run(self.jobs.live_engines))

    async def blob(self, ref: str | None) -> bytes | None:
        if not ref:
            return None
        return await self._run(self.blobs.get, ref)

    async def put_blob(self, data: bytes, content_type: str = "image/png") -> str:
        return await self._run(self.blobs.put, data, content_type=content_type)

    def consumer(self, name: str) -> EventConsumer:
        # "$": a brand-new group starts at the stream's end; an existing group resumes where it was.
        return EventConsumer(self.redis, keys.BOT_GROUP, name, start_id="$")

    def close(self) -> None:
        self._submitter.shutdown(wait=False)
        self.redis.close()
