"""Job records, enqueueing, cancellation and status transitions (no torch here). Queue positions and
live workers are in midway/positions.py, reading records tolerantly in midway/records.py.

The bot and `midway submit` use this; so does the worker. A Job lives at keys.job_key as JSON. It is
enqueued as an RQ job whose id is the Job id and whose only argument is that id, calling
`worker.tasks.run_job` by dotted name, so nothing here imports the worker or torch.

RQ needs a Redis client without decode_responses (it reads bytes); pass one to JobStore.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import cast

import redis
from rq import Retry
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from midway import events, keys
from midway.contract import Event, EventKind, Job, JobStatus, Lane
from midway.fairness import fair_insert_index
from midway.positions import QueuePositions, rq_queue
from midway.records import parse_job_record, record_object, record_owner, salvage_job
from midway.redis_clients import reply_text
from midway.replication import ReplicaWait
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
# What the user's message says when their job's record cannot be read by this release (jobs.end_unreadable).
UNREADABLE_ERROR = ("This job was saved by another version of Midway, which this one cannot read; "
                    "please submit it again.")
_LIVE = ("queued", "running")

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


def _remember_undelivered(pipe: redis.client.Pipeline, job: Job) -> None:
    """With a job's terminal event, in its MULTI: jobs of the bot (they have a message to answer in) wait
    in keys.UNDELIVERED until the bot delivers them, even if the event is trimmed first (bot/missed.py)."""
    if job.message is not None and job.message.message_id is not None:
        pipe.zadd(keys.UNDELIVERED, {job.id: job.finished_at or time.time()})


class JobStore:
    def __init__(self, redis: redis.Redis, settings: Settings | None = None) -> None:
        self.redis = redis
        self.settings = settings or get_settings()
        self.job_ttl_s = max(MIN_JOB_TTL_S, self.settings.image_ttl_s)
        self._owners: dict[str, str] = {}
        self.positions = QueuePositions(redis, self.get, self.engine_of)
        # With replicas (a Sentinel set), submits and results are acknowledged once a replica has them.
        self.replicas = ReplicaWait(redis, self.settings)

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
        workers = self.positions.live_workers()
        plan = _QueuePlan(self)
        with self.redis.pipeline() as pipe:
            pipe.multi()
            for job in jobs:
                job.status = JobStatus.queued
                job.spec.engine = self.engine_of(job)
                job.spec.lane = job.lane
                key = rq_queue(self.redis, job.spec.engine, job.lane).key
                index, pivot = plan.insert(key, job)
                ahead = self.positions.ahead_in_other_lanes(job, workers, plan.length)
                position = None if ahead is None else ahead + index + 1
                pipe.set(keys.job_key(job.id), job.model_dump_json(), ex=self.job_ttl_s)
                if list_for_user:
                    # Counted from now by its listing, so its caps hold (bot/holds.py) goes in the same MULTI.
                    pipe.sadd(keys.user_jobs_key(job.requester.user_id), job.id)
                    pipe.hdel(keys.user_holds_key(job.requester.user_id), job.id)
                events.add_to_pipeline(pipe, Event(job_id=job.id, kind=EventKind.queued, position=position))
                pipe.zadd(keys.ACTIVE_JOBS, {keys.active_member(job.id, job.requester.user_id): job.created_at})
                if job.cost != 1:
                    pipe.hset(keys.PARTIAL_COSTS, job.id, job.cost)
                self.enqueue_rq(job, pipe)
                if pivot is not None:
                    # RQ pushed it to the tail; move it to its fair place, in the same transaction.
                    pipe.eval(_REPOSITION, 1, key, job.id, pivot)
            pipe.execute()
        self.replicas.confirm(f"job {jobs[0].id}" if len(jobs) == 1 else f"{len(jobs)} jobs from {jobs[0].id}")
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
            # Members only (no WITHSCORES), though redis-py's stubs cannot tell.
            for member in cast("list[bytes]", self.redis.zrange(keys.ACTIVE_JOBS, 0, -1)):
                job_id, _, user_id = reply_text(member).partition(" ")
                if user_id:
                    self._remember_owner(job_id, user_id)
            unknown = [job_id for job_id in unknown if job_id not in self._owners]
        raws = self.redis.mget([keys.job_key(job_id) for job_id in unknown]) if unknown else []
        for job_id, raw in zip(unknown, raws, strict=True):
            if owner := record_owner(record_object(raw)):
                self._remember_owner(job_id, owner)
        return [self._owners.get(job_id, f"?{job_id}") for job_id in job_ids]

    def _remember_owner(self, job_id: str, user_id: str) -> None:
        if len(self._owners) >= OWNER_MEMORY:
            self._owners.clear()
        self._owners[job_id] = user_id

    # -- cancelling ------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> Job | None:
        """Waiting in its queue: it never runs (cancelled now). Running: the engine stops at its next step
        and the worker publishes `cancelled`. Finished: unchanged. Returns the job as it now stands."""
        raw = self.redis.get(keys.job_key(job_id))
        job = parse_job_record(job_id, raw)
        if job is None:
            return None if raw is None else self._cancel_unreadable(job_id, raw)
        if job.status.finished:
            return job
        # The flag lasts as long as the record: a running job whose worker dies goes back to its queue and
        # may be picked up by another worker long after; that one must still see it. finish() deletes it.
        self.redis.set(keys.cancel_key(job_id), "1", ex=self.job_ttl_s)
        if self._unqueue(job_id, self.engine_of(job), job.lane):
            # It was waiting: queued, or put back by RQ after its worker died (the record still says
            # running). No worker holds it now, so it ends here rather than when a worker comes back.
            self.finish(job_id, JobStatus.cancelled, only_from=(JobStatus.queued, JobStatus.running))
        elif job.status is JobStatus.queued:
            # If a worker popped it meanwhile, run_job sees the cancelled record and skips it.
            self.finish(job_id, JobStatus.cancelled, only_from=(JobStatus.queued,))
        return self.get(job_id)

    def _unqueue(self, job_id: str, engine: str, lane: Lane | str) -> bool:
        """Take a waiting job off its RQ queue (the list that fair insertion orders and the slot scan
        reads) and drop RQ's data of it. False when it was not waiting there."""
        if not self.redis.lrem(rq_queue(self.redis, engine, lane).key, 0, job_id):
            return False
        with contextlib.suppress(Exception):
            RQJob.fetch(job_id, connection=self.redis, serializer=JSONSerializer).delete(remove_from_queue=False)
        return True

    def _cancel_unreadable(self, job_id: str, raw: bytes | str) -> Job | None:
        """Cancel a job whose record this release cannot read: no worker of this release can run it, so it
        ends now (a newer worker that holds it still sees the flag)."""
        data = record_object(raw)
        if data is None or data.get("status") not in _LIVE:
            return salvage_job(job_id, data)
        spec = data.get("spec")
        if not isinstance(spec, dict):
            spec = {}
        waiting = False
        with contextlib.suppress(ValueError):  # a lane this release does not know
            waiting = self._unqueue(job_id, str(spec.get("engine") or self.settings.default_engine),
                                    str(data.get("lane")))
        self.end_unreadable(job_id, JobStatus.cancelled)
        if not waiting:
            # A newer worker, which can read it, may be running it: it stops at its next step.
            self.redis.set(keys.cancel_key(job_id), "1", ex=self.job_ttl_s)
        return self.get(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(keys.cancel_key(job_id)))

    # -- transitions (used by the worker) ----------------------------------------------------------

    def update(self, job_id: str, change: Callable[[Job], list[Event] | None],
               also: Callable[[redis.client.Pipeline, Job], object] | None = None) -> Job | None:
        """Atomically apply `change` to the stored job and publish the events it returns.

        `change` mutates the job in place and returns the events to publish, or None to leave the
        record untouched. Record and events commit in one MULTI, so a terminal event goes out once;
        `also` queues more commands on that MULTI.
        """
        key = keys.job_key(job_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    job = parse_job_record(job_id, raw)
                    if job is None:
                        # Gone, or unreadable by this release (end_unreadable ends those).
                        pipe.unwatch()
                        return None
                    published = change(job)
                    if published is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, job.model_dump_json(), ex=self.job_ttl_s)
                    for event in published:
                        events.add_to_pipeline(pipe, event)
                    if also is not None:
                        also(pipe, job)
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
               texts: list[str] | None = None, word_scores: list[float] | None = None,
               safety_scores: list[float] | None = None, safety_flagged: list[bool] | None = None,
               safety_failed: bool = False, only_from: tuple[JobStatus, ...] | None = None) -> Job | None:
        """Move a job to a terminal status and publish its terminal event, exactly once per job.

        A job's results (its images and their safety verdict, or a /describe's or /shorten's texts and word
        scores) go on both the
        record and the event, so the bot can answer from the event alone. Returns the finished job, or
        None when it had already finished (or was not in `only_from`)."""
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
            job.texts = list(texts or [])
            job.word_scores = list(word_scores or [])
            job.safety_scores = list(safety_scores or [])
            job.safety_flagged = list(safety_flagged or [])
            job.safety_failed = safety_failed
            return [Event(job_id=job.id, kind=kind, outputs=job.outputs, grid=grid, error=error,
                          texts=job.texts, word_scores=job.word_scores, safety_scores=job.safety_scores,
                          safety_flagged=job.safety_flagged, safety_failed=safety_failed,
                          worker=job.worker, attempt=job.attempts or None)]

        finished = self.update(job_id, change, also=_remember_undelivered)
        if finished is not None:
            self._release(job_id, finished.requester.user_id)
            # The images were stored before, on the same replication stream: a replica that has the
            # record has them too.
            self.replicas.confirm(f"job {job_id}'s {status.value}")
        return finished

    def _release(self, job_id: str, user_id: str, pipe: redis.client.Pipeline | None = None) -> None:
        """What a finished job lets go of: the user's running slot (worker/slots.py), so their next queued
        job can start, its place among the active jobs, and its cancel flag."""
        target = pipe if pipe is not None else self.redis.pipeline(transaction=False)
        target.srem(keys.user_running_key(user_id), job_id)
        target.zrem(keys.ACTIVE_JOBS, keys.active_member(job_id, user_id))
        target.hdel(keys.PARTIAL_COSTS, job_id)
        target.delete(keys.cancel_key(job_id))
        if pipe is None:
            target.execute()

    def end_unreadable(self, job_id: str, status: JobStatus = JobStatus.failed, *,
                       user_id: str | None = None) -> bool:
        """End, visibly, a live job whose record this release cannot read (written by another version, or
        damaged), instead of leaving it `queued` for the record's 30 days: the record becomes what can be
        salvaged of it, finished (so the bot can still edit the job's message), the terminal event goes
        out, and the user's places (queue cap, running slot) are freed, all in one MULTI. False when the
        record is gone, readable, or already finished. `user_id`: the owner, when the caller knows it."""
        key = keys.job_key(job_id)
        error = UNREADABLE_ERROR if status is JobStatus.failed else None
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    data = record_object(raw)
                    if raw is None or (data is not None and data.get("status") not in _LIVE) or \
                            parse_job_record(job_id, raw) is not None:
                        pipe.unwatch()
                        return False
                    job = salvage_job(job_id, data)
                    owner = user_id or record_owner(data) or self._active_owner(job_id)
                    pipe.multi()
                    if job is not None:
                        job.status, job.error, job.finished_at = status, error, time.time()
                        pipe.set(key, job.model_dump_json(), ex=self.job_ttl_s)
                        _remember_undelivered(pipe, job)
                    elif data is not None:
                        # Not even salvageable: still say it ended, for any reader that decodes the status.
                        data.update(status=status.value, error=error, finished_at=time.time())
                        pipe.set(key, json.dumps(data), keepttl=True)
                    else:
                        pipe.delete(key)
                    events.add_to_pipeline(pipe, Event(job_id=job_id, kind=EventKind(status.value), error=error))
                    if owner is not None:
                        pipe.srem(keys.user_jobs_key(owner), job_id)
                        self._release(job_id, owner, pipe)
                    pipe.execute()
                    log.warning("job %s: its record is unreadable here; %s (owner %s)", job_id, status.value, owner)
                    return True
                except redis.WatchError:
                    continue

    def _active_owner(self, job_id: str) -> str | None:
        """The user of a job, from its "<job> <user>" member of ACTIVE_JOBS (for a record naming none)."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", job_id) + " *"  # the id matched literally
        for member, _ in self.redis.zscan_iter(keys.ACTIVE_JOBS, match=pattern, count=1000):
            return reply_text(member).partition(" ")[2] or None
        return None


class _QueuePlan:
    """The queues a batch of submits touches, read once and kept in step with what the batch's
    MULTI will do to them, so each job of the batch is placed as if the ones before it were queued."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._queues: dict[str, list[str]] = {}
        self._users: dict[str, list[str]] = {}
        self._costs: dict[str, list[float]] = {}
        self._partial: dict[str, float] | None = None

    def _load(self, key: str) -> list[str]:
        if key not in self._queues:
            ids = [reply_text(value) for value in self.store.redis.lrange(key, 0, -1)]
            self._queues[key], self._users[key] = ids, self.store._users_of(ids)
            partial = self._partial_costs()
            self._costs[key] = [partial.get(job_id, 1.0) for job_id in ids]
        return self._queues[key]

    def _partial_costs(self) -> dict[str, float]:
        """Job id -> cost of the unfinished jobs that count as less than one (keys.PARTIAL_COSTS), read once."""
        if self._partial is None:
            raw = cast("dict[bytes, bytes]", self.store.redis.hgetall(keys.PARTIAL_COSTS))
            self._partial = {reply_text(job_id): float(reply_text(cost)) for job_id, cost in raw.items()}
        return self._partial

    def length(self, key: str) -> int:
        return len(self._load(key))

    def insert(self, key: str, job: Job) -> tuple[int, str | None]:
        """(the job's fair index, the job it goes before or None for the tail)."""
        ids, users, costs = self._load(key), self._users[key], self._costs[key]
        index = fair_insert_index(users, job.requester.user_id, costs)
        pivot = ids[index] if index < len(ids) else None
        ids.insert(index, job.id)
        users.insert(index, job.requester.user_id)
        costs.insert(index, job.cost)
        return index, pivot
