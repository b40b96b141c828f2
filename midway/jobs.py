"""Job records, enqueueing, cancellation, queue positions and live workers (no torch here).

The bot and `midway submit` use this; so does the worker. A Job lives at keys.job_key as JSON. It is
enqueued as an RQ job whose id is the Job id and whose only argument is that id, calling
`worker.tasks.run_job` by dotted name, so nothing here imports the worker or torch.

RQ needs a Redis client without decode_responses (it reads bytes); pass one to JobStore.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import redis
from pydantic import BaseModel, ValidationError
from rq import Queue, Retry
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from midway import events, keys
from midway.contract import Event, EventKind, Job, JobStatus, Lane
from midway.fairness import fair_insert_index
from midway.settings import Settings, get_settings

log = logging.getLogger(__name__)

TASK = "worker.tasks.run_job"
# Job records outlive their images: buttons on old messages must still find their job.
MIN_JOB_TTL_S = 30 * 24 * 3600
RQ_RESULT_TTL_S = 3600
# Job id -> requester, remembered per JobStore: a job's requester never changes, and fair insertion
# needs the requester of every queued job on each submit (a burst of N submits would otherwise read
# and validate O(N^2) job records, in the bot's threads, while it is acknowledging interactions).
OWNER_MEMORY = 20_000

# Move a job from the tail of a queue to just before a pivot; if the pivot left the queue meanwhile
# (it and everything before it was dequeued), the job goes to the head. A job already dequeued stays.
_REPOSITION = """
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 1 then
  if redis.call('LINSERT', KEYS[1], 'BEFORE', ARGV[2], ARGV[1]) == -1 then
    redis.call('LPUSH', KEYS[1], ARGV[1])
  end
  return 1
end
return 0
"""


class WorkerHeartbeat(BaseModel):
    """What a live worker publishes at keys.worker_heartbeat_key (JSON, with a TTL)."""

    name: str
    engines: list[str]
    lanes: list[Lane]
    host: str = ""
    pid: int = 0
    started_at: float = 0.0
    at: float = 0.0
    job_id: str | None = None


def rq_queue(client: redis.Redis, engine: str, lane: Lane | str) -> Queue:
    return Queue(keys.queue_name(engine, lane), connection=client, serializer=JSONSerializer)


def parse_job_record(job_id: str, raw: bytes | str | None) -> Job | None:
    """A job's stored record (GET keys.job_key) as a Job; None when it is gone or unreadable."""
    if raw is None:
        return None
    try:
        return Job.model_validate_json(raw)
    except ValidationError:
        log.warning("job record %s is unreadable", job_id)
        return None


class JobStore:
    def __init__(self, redis: redis.Redis, settings: Settings | None = None) -> None:
        self.redis = redis
        self.settings = settings or get_settings()
        self.job_ttl_s = max(MIN_JOB_TTL_S, self.settings.image_ttl_s)
        self._owners: dict[str, str] = {}

    # -- records ---------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        return parse_job_record(job_id, self.redis.get(keys.job_key(job_id)))

    def save(self, job: Job) -> None:
        self.redis.set(keys.job_key(job.id), job.model_dump_json(), ex=self.job_ttl_s)

    def engine_of(self, job: Job) -> str:
        return job.spec.engine or self.settings.default_engine

    # -- submitting ------------------------------------------------------------------------------

    def submit(self, job: Job, *, list_for_user: bool = False) -> Job:
        """Save the job, publish `queued` with its position, enqueue it fairly on its (engine, lane) queue."""
        return self.submit_many([job], list_for_user=list_for_user)[0]

    def submit_many(self, jobs: list[Job], *, list_for_user: bool = False) -> list[Job]:
        """Submit `jobs` in order, as `submit` would one by one, in one read pass and one MULTI.

        Record, `queued` event, RQ push and fair repositioning (and, with list_for_user, the user's
        job-list entry that the bot's caps and /cancel read) commit in one MULTI: a dropped connection
        or a crash part-way can leave no record saying `queued` that no queue holds, which would wait
        forever and hold one of the user's queue places. In the MULTI `queued` precedes the push, so
        no `started` beats it. A burst of /imagine arrives here as one batch (bot/backend.py), so the
        queue is read once per batch instead of once per job.
        """
        if not jobs:
            return []
        workers = self.live_workers()
        plan = _QueuePlan(self)
        with self.redis.pipeline() as pipe:
            pipe.multi()
            for job in jobs:
                job.status = JobStatus.queued
                job.spec.engine = self.engine_of(job)
                job.spec.lane = job.lane
                key = rq_queue(self.redis, job.spec.engine, job.lane).key
                index, pivot = plan.insert(key, job)
                ahead = self._ahead_in_other_lanes(job, workers, plan.length)
                position = None if ahead is None else ahead + index + 1
                pipe.set(keys.job_key(job.id), job.model_dump_json(), ex=self.job_ttl_s)
                if list_for_user:
                    pipe.sadd(keys.user_jobs_key(job.requester.user_id), job.id)
                events.add_to_pipeline(pipe, Event(job_id=job.id, kind=EventKind.queued, position=position))
                pipe.zadd(keys.ACTIVE_JOBS, {keys.active_member(job.id, job.requester.user_id): job.created_at})
                self.enqueue_rq(job, pipe)
                if pivot is not None:
                    # RQ pushed it to the tail; move it to its fair place, in the same transaction.
                    pipe.eval(_REPOSITION, 1, key, job.id, pivot)
            pipe.execute()
        for job in jobs:
            self._remember_owner(job.id, job.requester.user_id)
        return jobs

    def enqueue_rq(self, job: Job, pipe: redis.client.Pipeline, *, at_front: bool = False) -> None:
        """Push the job's RQ entry (id = job id, argument = job id) inside `pipe`'s MULTI."""
        queue = rq_queue(self.redis, self.engine_of(job), job.lane)
        # A job a worker died on is retried by RQ (Retry) at the head of its queue; run_job counts
        # attempts against job.max_attempts and fails the job past it, so RQ's retries are a ceiling.
        queue.enqueue(TASK, job.id, job_id=job.id, job_timeout=self.settings.job_timeout_s,
                      retry=Retry(max=max(1, job.max_attempts), enqueue_at_front=True),
                      result_ttl=RQ_RESULT_TTL_S, failure_ttl=RQ_RESULT_TTL_S,
                      description=f"midway job {job.id}", at_front=at_front, pipeline=pipe)

    def _users_of(self, job_ids: list[str]) -> list[str]:
        unknown = [job_id for job_id in job_ids if job_id not in self._owners]
        if unknown:
            # Every active job's owner at once from the short "<job> <user>" members of ACTIVE_JOBS: a
            # fresh process (a restarted bot) facing a long queue would otherwise parse every queued
            # job's record, in its submit thread, while it is acknowledging a burst.
            for member in self.redis.zrange(keys.ACTIVE_JOBS, 0, -1):
                job_id, _, user_id = _text(member).partition(" ")
                if user_id:
                    self._remember_owner(job_id, user_id)
            unknown = [job_id for job_id in unknown if job_id not in self._owners]
        raws = self.redis.mget([keys.job_key(job_id) for job_id in unknown]) if unknown else []
        for job_id, raw in zip(unknown, raws, strict=True):
            try:
                if raw:
                    self._remember_owner(job_id, Job.model_validate_json(raw).requester.user_id)
            except ValidationError:
                pass
        return [self._owners.get(job_id, f"?{job_id}") for job_id in job_ids]

    def _remember_owner(self, job_id: str, user_id: str) -> None:
        if len(self._owners) >= OWNER_MEMORY:
            self._owners.clear()
        self._owners[job_id] = user_id

    # -- cancelling ------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> Job | None:
        """Queued: it never runs (cancelled now). Running: the engine stops at its next step and the
        worker publishes `cancelled`. Finished: unchanged. Returns the job as it now stands."""
        job = self.get(job_id)
        if job is None or job.status.finished:
            return job
        self.redis.set(keys.cancel_key(job_id), "1", ex=max(60, self.settings.job_timeout_s * 2))
        if job.status is JobStatus.queued:
            queue = rq_queue(self.redis, self.engine_of(job), job.lane)
            if self.redis.lrem(queue.key, 0, job_id):
                with contextlib.suppress(Exception):
                    RQJob.fetch(job_id, connection=self.redis, serializer=JSONSerializer).delete(
                        remove_from_queue=False)
            # If a worker popped it meanwhile, run_job sees the cancelled record and skips it.
            self.finish(job_id, JobStatus.cancelled, only_from=(JobStatus.queued,))
        return self.get(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(keys.cancel_key(job_id)))

    # -- transitions (used by the worker) ----------------------------------------------------------

    def update(self, job_id: str, change: Callable[[Job], list[Event] | None]) -> Job | None:
        """Atomically apply `change` to the stored job and publish the events it returns.

        `change` mutates the job in place and returns the events to publish, or None to leave the
        record untouched. Record and events commit in one MULTI, so a terminal event goes out once.
        """
        key = keys.job_key(job_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    job = Job.model_validate_json(raw)
                    published = change(job)
                    if published is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, job.model_dump_json(), ex=self.job_ttl_s)
                    for event in published:
                        events.add_to_pipeline(pipe, event)
                    pipe.execute()
                    return job
                except redis.WatchError:
                    continue

    def start(self, job_id: str, worker: str) -> Job | None:
        """Claim a job for `worker`: running, attempts + 1, `started` published. None: don't run it."""

        def change(job: Job) -> list[Event] | None:
            if job.status.finished:
                return None
            job.status = JobStatus.running
            job.attempts += 1
            job.worker = worker
            job.started_at = time.time()
            job.error = None
            return [Event(job_id=job.id, kind=EventKind.started, worker=worker, attempt=job.attempts)]

        return self.update(job_id, change)

    def finish(self, job_id: str, status: JobStatus, *, error: str | None = None,
               outputs: list[str] | None = None, grid: str | None = None, compute_s: float | None = None,
               only_from: tuple[JobStatus, ...] | None = None) -> Job | None:
        """Move a job to a terminal status and publish its terminal event, exactly once per job.

        Returns the finished job, or None when it had already finished (or was not in `only_from`)."""
        kind = EventKind(status.value)

        def change(job: Job) -> list[Event] | None:
            if job.status.finished or (only_from is not None and job.status not in only_from):
                return None
            job.status = status
            job.finished_at = time.time()
            job.error = error
            job.outputs = list(outputs or [])
            job.grid = grid
            job.compute_s = compute_s
            return [Event(job_id=job.id, kind=kind, outputs=job.outputs, grid=grid, error=error,
                          worker=job.worker, attempt=job.attempts or None)]

        finished = self.update(job_id, change)
        if finished is not None:
            # Free the user's running slot (worker/slots.py) so their next queued job can start.
            user_id = finished.requester.user_id
            self.redis.srem(keys.user_running_key(user_id), job_id)
            self.redis.zrem(keys.ACTIVE_JOBS, keys.active_member(job_id, user_id))
        return finished

    # -- positions and live workers ----------------------------------------------------------------

    def live_workers(self) -> list[WorkerHeartbeat]:
        names = sorted(_text(name) for name in self.redis.smembers(keys.WORKERS_SET))
        if not names:
            return []
        raws = self.redis.mget([keys.worker_heartbeat_key(name) for name in names])
        live = []
        for name, raw in zip(names, raws, strict=True):
            if raw is None:
                # Its heartbeat expired: the worker is gone (or stuck); forget it.
                self.redis.srem(keys.WORKERS_SET, name)
                continue
            with contextlib.suppress(ValidationError):
                live.append(WorkerHeartbeat.model_validate_json(raw))
        return live

    def live_engines(self) -> dict[str, list[str]]:
        engines: dict[str, list[str]] = {}
        for worker in self.live_workers():
            for engine in worker.engines:
                engines.setdefault(engine, []).append(worker.name)
        return engines

    def queue_position(self, job_id: str) -> int | None:
        """1 = next to start. Counts only jobs a live worker for the job's engine will take first
        (its own queue, and the lanes ahead of its lane that such a worker serves); None when the job
        is not waiting in a queue or no live worker serves its engine and lane."""
        job = self.get(job_id)
        if job is None or job.status is not JobStatus.queued:
            return None
        return self.waiting_positions([job])[job_id][1]

    def waiting_positions(self, jobs: list[Job]) -> dict[str, tuple[bool, int | None]]:
        """(still waiting in its queue, queue_position) of jobs the caller holds, from the queue lists
        alone: one LRANGE per queue, no job record read. The bot refreshes every waiting message at
        once, and a burst leaves hundreds waiting. A job not in its queue has started or finished (or
        is lost until the reconciler re-enqueues it, which publishes `queued` again)."""
        workers: list[WorkerHeartbeat] | None = None
        queues: dict[str, dict[str, int]] = {}

        def index_in(key: str) -> dict[str, int]:
            if key not in queues:
                queues[key] = {_text(value): index for index, value in enumerate(self.redis.lrange(key, 0, -1))}
            return queues[key]

        result: dict[str, tuple[bool, int | None]] = {}
        for job in jobs:
            engine = self.engine_of(job)
            index = index_in(rq_queue(self.redis, engine, job.lane).key).get(job.id)
            if index is None:
                result[job.id] = (False, None)
                continue
            workers = self.live_workers() if workers is None else workers
            ahead = self._ahead(engine, job.lane, workers, lambda key: len(index_in(key)))
            result[job.id] = (True, None if ahead is None else ahead + index + 1)
        return result

    def head_position(self, job: Job) -> int | None:
        """The position `job` has once put at the head of its own queue (None as in queue_position)."""
        ahead = self._ahead_in_other_lanes(job)
        return None if ahead is None else ahead + 1

    def _ahead_in_other_lanes(self, job: Job, workers: list[WorkerHeartbeat] | None = None,
                              length: Callable[[str], int] | None = None) -> int | None:
        workers = self.live_workers() if workers is None else workers
        return self._ahead(self.engine_of(job), job.lane, workers, length)

    def _ahead(self, engine: str, job_lane: Lane, workers: list[WorkerHeartbeat],
               length: Callable[[str], int] | None = None) -> int | None:
        """Jobs in earlier lanes (turbo before fast before relax) that a live worker of the job's
        engine serves, so it takes them first; None when no live worker serves the job's lane."""
        served = {lane for worker in workers if engine in worker.engines for lane in worker.lanes}
        if job_lane not in served:
            return None
        length = length or (lambda key: int(self.redis.llen(key)))
        ahead = 0
        for lane in keys.LANE_ORDER:
            if lane == job_lane:
                break
            if lane in served:
                ahead += length(rq_queue(self.redis, engine, lane).key)
        return ahead


class _QueuePlan:
    """The queues a batch of submits touches, read once and kept in step with what the batch's
    MULTI will do to them, so each job of the batch is placed as if the ones before it were queued."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._queues: dict[str, list[str]] = {}
        self._users: dict[str, list[str]] = {}

    def _load(self, key: str) -> list[str]:
        if key not in self._queues:
            ids = [_text(value) for value in self.store.redis.lrange(key, 0, -1)]
            self._queues[key], self._users[key] = ids, self.store._users_of(ids)
        return self._queues[key]

    def length(self, key: str) -> int:
        return len(self._load(key))

    def insert(self, key: str, job: Job) -> tuple[int, str | None]:
        """(the job's fair index, the job it goes before or None for the tail)."""
        ids, users = self._load(key), self._users[key]
        index = fair_insert_index(users, job.requester.user_id)
        pivot = ids[index] if index < len(ids) else None
        ids.insert(index, job.id)
        users.insert(index, job.requester.user_id)
        return index, pivot


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
