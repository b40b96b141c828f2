"""The reconciler: finds active jobs that RQ lost track of and puts them back (or fails them), and frees
running slots that no longer belong to a live job.

RQ covers a worker that dies *while* a job is in its StartedJobRegistry. Two windows remain: a worker
that dies between taking a job off its queue and RQ recording it as started (the record says `queued`,
no queue or registry holds it), and a job whose RQ retries ran out on failures that run_job does not
count as attempts (the record says `running`, its worker is gone, RQ holds nothing). Either job would
wait forever and hold one of its user's queue places and running slots.

A record this release cannot read (written by another version, or damaged) is treated the same way,
except that a lost one is failed rather than put back: no worker of this release could run it.

The sweep reads keys.ACTIVE_JOBS (written by the atomic submit), a bounded batch per pass from a cursor,
so it never SCANs the keyspace. A lock with the sweep interval as its TTL lets one worker sweep per
interval however many run. A job that looks lost is acted on only when it still looks lost `grace_s`
later: a worker that has just taken it off its queue records it as started within milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus as RQStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from midway import events, keys
from midway.contract import Event, EventKind, Job, JobStatus
from midway.jobs import JobStore
from midway.positions import rq_queue
from midway.records import parse_job_record, record_object
from midway.redis_clients import reply_text

log = logging.getLogger(__name__)

_LIVE = (JobStatus.queued, JobStatus.running)
# RQ states in which a worker will still take a job (and, unable to read its record, end it itself).
_RQ_PENDING = (RQStatus.QUEUED, RQStatus.STARTED, RQStatus.SCHEDULED, RQStatus.DEFERRED)


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)  # finished or missing: left the active set
    freed_slots: list[str] = field(default_factory=list)
    swept: bool = False


class Reconciler:
    def __init__(self, store: JobStore, *, interval_s: float, grace_s: float, batch: int = 200) -> None:
        self.store = store
        self.redis = store.redis
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.batch = batch

    def maybe_sweep(self) -> SweepReport:
        """Sweep unless another worker swept within interval_s (the lock is never released early)."""
        ttl_ms = max(1, int(self.interval_s * 1000))
        # The value is JSON like every other Midway value (tests/worker/test_no_pickle.py reads them all).
        holder = json.dumps({"sweep": uuid.uuid4().hex, "at": time.time()})
        if not self.redis.set(keys.RECONCILE_LOCK, holder, nx=True, px=ttl_ms):
            return SweepReport()
        return self.sweep()

    def sweep(self, now: float | None = None) -> SweepReport:
        now = time.time() if now is None else now
        report = SweepReport(swept=True)
        members = self._next_batch()
        if not members:
            return report
        entries = [reply_text(member).split(" ", 1) for member in members]
        raws = self.redis.mget([keys.job_key(job_id) for job_id, _ in entries])
        started: dict[str, set[str]] = {}
        for member, (job_id, user_id), raw in zip(members, entries, raws, strict=True):
            job = parse_job_record(job_id, raw)
            if job is None and _live_record(raw):
                self._check_unreadable(job_id, user_id, now, report)
            elif job is None or job.status not in _LIVE:
                self._forget(member, job_id, user_id, report)
            else:
                self._check(job, started, now, report)
        return report

    def _next_batch(self) -> list:
        """The next `batch` members after the cursor (a created_at score); past the end, from the start."""
        cursor = self.redis.get(keys.RECONCILE_CURSOR)
        low = f"({reply_text(cursor)}" if cursor else "-inf"
        # (member, score) pairs with withscores=True, which redis-py's reply type does not distinguish.
        found: Any = self.redis.zrangebyscore(keys.ACTIVE_JOBS, low, "+inf", start=0, num=self.batch,
                                              withscores=True)
        if len(found) == self.batch:
            self.redis.set(keys.RECONCILE_CURSOR, repr(found[-1][1]))
        else:
            self.redis.delete(keys.RECONCILE_CURSOR)
        return [member for member, _ in found]

    def _in_started_registry(self, job: Job, cache: dict[str, set[str]]) -> bool:
        """Whether RQ records the job as running (one small ZRANGE per queue per pass)."""
        queue = rq_queue(self.redis, self.store.engine_of(job), job.lane)
        if queue.name not in cache:
            registry = StartedJobRegistry(queue=queue)
            cache[queue.name] = {job_id for job_id, _ in registry.get_job_and_execution_ids()}
        return job.id in cache[queue.name]

    def _forget(self, member, job_id: str, user_id: str, report: SweepReport) -> None:
        with self.redis.pipeline() as pipe:
            pipe.zrem(keys.ACTIVE_JOBS, member)
            pipe.srem(keys.user_running_key(user_id), job_id)
            pipe.hdel(keys.RECONCILE_SUSPECTS, job_id)
            removed = pipe.execute()
        report.forgotten.append(job_id)
        if removed[1]:
            report.freed_slots.append(job_id)

    def _check(self, job: Job, started: dict[str, set[str]], now: float, report: SweepReport) -> None:
        queue = rq_queue(self.redis, self.store.engine_of(job), job.lane)
        has_rq_data = RQJob.exists(job.id, connection=self.redis)
        queued = self.redis.lpos(queue.key, job.id) is not None
        tracked = has_rq_data and (queued or self._in_started_registry(job, started))
        on_live_worker = job.status is JobStatus.running and bool(
            job.worker and self.redis.exists(keys.worker_heartbeat_key(job.worker)))
        if not has_rq_data and not on_live_worker:
            # A slot held by a job RQ forgot would block its user until the slot set's TTL.
            if self.redis.srem(keys.user_running_key(job.requester.user_id), job.id):
                report.freed_slots.append(job.id)
        if tracked or on_live_worker:
            self.redis.hdel(keys.RECONCILE_SUSPECTS, job.id)
            return
        if self._lost_for_grace(job.id, now):
            self._recover(job, report)

    def _lost_for_grace(self, job_id: str, now: float) -> bool:
        """Whether a job that looks lost now already looked lost `grace_s` ago (the first sighting is noted)."""
        first_seen = self.redis.hget(keys.RECONCILE_SUSPECTS, job_id)
        if first_seen is None:
            self.redis.hset(keys.RECONCILE_SUSPECTS, job_id, now)
            return False
        if now - float(first_seen) < self.grace_s:
            return False
        self.redis.hdel(keys.RECONCILE_SUSPECTS, job_id)
        return True

    def _check_unreadable(self, job_id: str, user_id: str, now: float, report: SweepReport) -> None:
        """A live job whose record this release cannot read: while RQ will still hand it to a worker, that
        worker ends it (or, of a newer release, runs it); once RQ has lost it, it fails here."""
        with contextlib.suppress(NoSuchJobError):
            rq_job = RQJob.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
            if rq_job.get_status(refresh=False) in _RQ_PENDING:
                self.redis.hdel(keys.RECONCILE_SUSPECTS, job_id)
                return
        if self._lost_for_grace(job_id, now) and self.store.end_unreadable(job_id, user_id=user_id):
            report.failed.append(job_id)

    def _recover(self, job: Job, report: SweepReport) -> None:
        if job.attempts >= job.max_attempts or job.recoveries >= job.max_attempts:
            reason = (f"This job was lost {job.recoveries + 1} times (a worker stopped while taking it); "
                      "giving up. Try again.")
            if self.store.finish(job.id, JobStatus.failed, error=reason, only_from=(job.status,)):
                log.warning("job %s: lost by the queue too often; failed", job.id)
                report.failed.append(job.id)
        elif self._requeue(job.id, job.status):
            log.warning("job %s: lost by the queue while %s; put back at the head", job.id, job.status.value)
            report.requeued.append(job.id)

    def _requeue(self, job_id: str, expected: JobStatus) -> bool:
        """Record (queued, recoveries + 1), a `queued` event (so the user's message stops showing the stale
        state) and RQ push at the head commit together, only if the record still says `expected` (a worker
        that picked the job up meanwhile wins)."""
        key = keys.job_key(job_id)
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(key)
                job = parse_job_record(job_id, pipe.get(key))
                if job is None or job.status is not expected:
                    return False
                job.status = JobStatus.queued
                job.recoveries += 1
                position = self.store.positions.head_position(job)
                pipe.multi()
                pipe.set(key, job.model_dump_json(), ex=self.store.job_ttl_s)
                # Before the push, as in submit: no `started` can beat it.
                events.add_to_pipeline(pipe, Event(job_id=job.id, kind=EventKind.queued, position=position))
                self.store.enqueue_rq(job, pipe, at_front=True)
                pipe.execute()
                return True
            except redis.WatchError:
                return False


def _live_record(raw: bytes | str | None) -> bool:
    """Whether a stored record, decoded without validating it, still says queued or running."""
    data = record_object(raw)
    return data is not None and data.get("status") in (JobStatus.queued.value, JobStatus.running.value)
