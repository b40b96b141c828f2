"""Cancelling a job whose worker died: RQ put it back in its queue while its record still says running.
It must end at once, not on a flag that may expire before a worker comes back to it."""

from __future__ import annotations

from midway import keys
from midway.contract import EventKind, JobStatus
from midway.jobs import rq_queue
from worker.rq_worker import serve

from .conftest import ScriptedEngine, new_job


def kinds(consumer, job_id: str) -> list[EventKind]:
    return [event.kind for _, event in consumer.read(block_ms=10, count=1000) if event.job_id == job_id]


def taken_by_a_worker_that_died(store, job) -> None:
    """The record a worker left when it was killed mid-job: running, attempt 1, its worker gone."""

    def took(record):
        record.status, record.attempts, record.worker = JobStatus.running, 1, "gpu0-dead"
        return []

    store.update(job.id, took)


def test_cancelling_a_requeued_running_job_ends_it_at_once(store, make_worker, consumer, redis_client):
    engine = ScriptedEngine()
    job = store.submit(new_job(), list_for_user=True)
    taken_by_a_worker_that_died(store, job)  # and RQ put it back at the head of its queue

    after = store.cancel(job.id)
    assert after.status is JobStatus.cancelled and after.finished_at is not None
    assert redis_client.lpos(rq_queue(redis_client, "tiny", job.lane).key, job.id) is None
    assert redis_client.zcard(keys.ACTIVE_JOBS) == 0 and not redis_client.exists(keys.cancel_key(job.id))

    serve(make_worker({"tiny": engine}), burst=True)  # a worker comes back, long after any flag expired
    assert engine.calls == [] and store.get(job.id).status is JobStatus.cancelled
    assert kinds(consumer, job.id) == [EventKind.queued, EventKind.cancelled]


def test_a_cancel_of_a_running_job_lasts_until_a_worker_takes_it_again(store, make_worker, consumer,
                                                                       redis_client):
    engine = ScriptedEngine()
    job = store.submit(new_job())
    queue = rq_queue(redis_client, "tiny", job.lane).key
    redis_client.lrem(queue, 0, job.id)  # a worker took it off its queue and is running it
    taken_by_a_worker_that_died(store, job)

    assert store.cancel(job.id).status is JobStatus.running  # "Stopping…": its worker stops it
    # The flag lives as long as the record: the worker may die and RQ hand the job out much later.
    assert redis_client.ttl(keys.cancel_key(job.id)) > store.settings.job_timeout_s * 2

    redis_client.lpush(queue, job.id)  # its worker died; RQ put it back
    serve(make_worker({"tiny": engine}), burst=True)
    assert engine.calls == [] and store.get(job.id).status is JobStatus.cancelled
    assert kinds(consumer, job.id) == [EventKind.queued, EventKind.cancelled]
    assert not redis_client.exists(keys.cancel_key(job.id))
