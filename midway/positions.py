"""Queue positions and live workers: what the bot tells a user about their place in line.

A position counts only the jobs a live worker of the job's engine will take before it (its own queue,
and the lanes ahead of its lane that such a worker serves). Workers announce themselves with a
heartbeat (WorkerHeartbeat, JSON with a TTL); one whose heartbeat lapsed is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import redis
from pydantic import BaseModel, ValidationError
from rq import Queue
from rq.serializers import JSONSerializer

from midway import keys
from midway.contract import Job, JobStatus, Lane
from midway.redis_clients import reply_text


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
    # A worker within a GPU memory budget (worker/residency.py) names the engines now on its device
    # (None: all of them) and the measured seconds to bring each on; and the seconds of each engine's
    # last job, for wait estimates.
    resident: list[str] | None = None
    load_s: dict[str, float] = {}
    job_s: dict[str, float] = {}


def rq_queue(client: redis.Redis, engine: str, lane: Lane | str) -> Queue:
    return Queue(keys.queue_name(engine, lane), connection=client, serializer=JSONSerializer)


class QueuePositions:
    """Positions and live workers, read from the queues and heartbeats in Redis. JobStore owns one
    (`store.positions`) and hands it the two things it cannot know: how to read a job record and which
    engine a job runs on (a job without one runs on the settings' default)."""

    def __init__(self, client: redis.Redis, get: Callable[[str], Job | None],
                 engine_of: Callable[[Job], str]) -> None:
        self.redis = client
        self.get = get
        self.engine_of = engine_of

    def live_workers(self) -> list[WorkerHeartbeat]:
        names = sorted(reply_text(name) for name in self.redis.smembers(keys.WORKERS_SET))
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

    def waiting_positions(self, jobs: list[Job], workers: list[WorkerHeartbeat] | None = None
                          ) -> dict[str, tuple[bool, int | None]]:
        """(still waiting in its queue, queue_position) of jobs the caller holds, from the queue lists
        alone: one LRANGE per queue, no job record read. The bot refreshes every waiting message at
        once, and a burst leaves hundreds waiting. A job not in its queue has started or finished (or
        is lost until the reconciler re-enqueues it, which publishes `queued` again)."""
        queues: dict[str, dict[str, int]] = {}

        def index_in(key: str) -> dict[str, int]:
            if key not in queues:
                queues[key] = {reply_text(value): index for index, value in enumerate(self.redis.lrange(key, 0, -1))}
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

    def wait_estimate_s(self, job: Job) -> float | None:
        """Seconds until `job` starts: the jobs ahead of it at its workers' last job time (shared among
        them), plus the time to bring its engine onto a device when no live worker has it there (a swap,
        worker/residency.py). None when it is not waiting or no live worker serves it."""
        position = self.queue_position(job.id)
        return None if position is None else self._estimate(job, position, self.live_workers())

    def waiting_estimates(self, jobs: list[Job]) -> dict[str, tuple[bool, int | None, float | None]]:
        """waiting_positions with each waiting job's wait_estimate_s, on one read of the heartbeats."""
        workers = self.live_workers()
        positions = self.waiting_positions(jobs, workers)
        estimates: dict[str, tuple[bool, int | None, float | None]] = {}
        for job in jobs:
            waiting, position = positions[job.id]
            eta_s = None if position is None else self._estimate(job, position, workers)
            estimates[job.id] = (waiting, position, eta_s)
        return estimates

    def _estimate(self, job: Job, position: int, workers: list[WorkerHeartbeat]) -> float | None:
        engine = self.engine_of(job)
        serving = [w for w in workers if engine in w.engines and job.lane in w.lanes]
        if not serving:
            return None
        per_job = min((w.job_s[engine] for w in serving if engine in w.job_s), default=0.0)
        return (position - 1) * per_job / len(serving) + swap_s(engine, serving)

    def head_position(self, job: Job) -> int | None:
        """The position `job` has once put at the head of its own queue (None as in queue_position)."""
        ahead = self.ahead_in_other_lanes(job)
        return None if ahead is None else ahead + 1

    def ahead_in_other_lanes(self, job: Job, workers: list[WorkerHeartbeat] | None = None,
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


def swap_s(engine: str, workers: list[WorkerHeartbeat]) -> float:
    """0 when one of `workers` has `engine` on its device (or keeps every engine there); otherwise the
    quickest time one of them measured bringing it on (0 until one has)."""
    if any(w.resident is None or engine in w.resident for w in workers):
        return 0.0
    return min((w.load_s[engine] for w in workers if engine in w.load_s), default=0.0)
