"""The reconciler: jobs RQ lost track of are put back (or failed, past max_attempts), and running slots
of jobs that are finished, missing or forgotten by RQ are freed without waiting for the slot set's TTL."""

from __future__ import annotations

import time

from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from midway import keys
from midway.contract import EventKind, JobStatus, Lane
from midway.events import EventConsumer
from midway.positions import WorkerHeartbeat, rq_queue
from worker.main import build_worker
from worker.reconcile import Reconciler

from .conftest import new_job


def reconciler(store, **kwargs) -> Reconciler:
    return Reconciler(store, interval_s=60, grace_s=0.0, **kwargs)


def queue_ids(redis_client, lane="fast") -> list[str]:
    return [value.decode() for value in redis_client.lrange(rq_queue(redis_client, "tiny", lane).key, 0, -1)]


def take_off_queue(redis_client, job) -> None:
    """What a worker does just before dying: the job left its queue, RQ never recorded it as started."""
    redis_client.lrem(rq_queue(redis_client, "tiny", job.lane).key, 0, job.id)


def mark_running(store, job, *, worker: str, attempts: int) -> None:
    record = store.get(job.id)
    record.status, record.worker, record.attempts = JobStatus.running, worker, attempts
    store.save(record)


def events_of(redis_client, job_id):
    return [event for _, event in EventConsumer(redis_client, "t", "t", start_id="0").read(block_ms=10, count=100)
            if event.job_id == job_id]


def test_a_job_lost_between_dequeue_and_start_is_put_back_by_a_workers_maintenance_and_runs(
        redis_client, settings, tiny_engine):
    fast = settings.model_copy(update={"heartbeat_s": 0.1})
    worker = build_worker(redis_client, fast, {"tiny": tiny_engine})
    job = worker_store(redis_client, fast).submit(new_job())
    take_off_queue(redis_client, job)

    worker.run_maintenance_tasks()  # first sighting: maybe a worker is taking it right now
    assert queue_ids(redis_client) == []
    time.sleep(0.45)  # past the grace (4 heartbeats) and the sweep interval (2 heartbeats)
    worker.run_maintenance_tasks()
    assert queue_ids(redis_client) == [job.id]

    worker.work(burst=True)
    record = worker_store(redis_client, fast).get(job.id)
    assert record.status is JobStatus.done and record.recoveries == 1 and len(record.outputs) == 4
    assert redis_client.zcard(keys.ACTIVE_JOBS) == 0


def worker_store(redis_client, settings):
    from midway.jobs import JobStore

    return JobStore(redis_client, settings)


def test_a_running_job_whose_worker_died_and_rq_forgot_is_put_back_at_the_head(store, redis_client):
    other = store.submit(new_job(user="bob"))
    job = store.submit(new_job(user="alice"))
    take_off_queue(redis_client, job)
    # Its worker is gone (no heartbeat) and RQ's own retries are used up: RQ tracks it nowhere.
    mark_running(store, job, worker="dead-worker", attempts=1)
    sweeper = reconciler(store)
    assert sweeper.sweep().requeued == []
    assert sweeper.sweep().requeued == [job.id]
    record = store.get(job.id)
    assert (record.status, record.recoveries, record.attempts) == (JobStatus.queued, 1, 1)
    assert queue_ids(redis_client) == [job.id, other.id]
    assert RQJob.fetch(job.id, connection=redis_client, serializer=JSONSerializer).args == [job.id]


def test_a_requeued_job_publishes_queued_with_its_place_at_the_head_so_its_message_refreshes(
        store, redis_client):
    # A live worker serves tiny/fast (so positions are known); the job's own worker is dead.
    beat = WorkerHeartbeat(name="alive", engines=["tiny"], lanes=[Lane.fast])
    redis_client.set(keys.worker_heartbeat_key("alive"), beat.model_dump_json(), ex=60)
    redis_client.sadd(keys.WORKERS_SET, "alive")
    store.submit(new_job(user="bob"))
    job = store.submit(new_job(user="alice"))
    take_off_queue(redis_client, job)
    mark_running(store, job, worker="dead-worker", attempts=1)
    sweeper = reconciler(store)
    sweeper.sweep()
    assert sweeper.sweep().requeued == [job.id]
    published = events_of(redis_client, job.id)  # submit's `queued`, then the requeue's
    assert [event.kind for event in published] == [EventKind.queued, EventKind.queued]
    assert published[-1].position == 1 == store.positions.queue_position(job.id)


def test_a_job_lost_past_its_attempts_fails_with_a_reason_and_frees_its_place(store, redis_client):
    job = store.submit(new_job(user="alice"))
    take_off_queue(redis_client, job)
    mark_running(store, job, worker="dead-worker", attempts=3)
    redis_client.sadd(keys.user_running_key("alice"), job.id)
    sweeper = reconciler(store)
    sweeper.sweep()
    assert sweeper.sweep().failed == [job.id]
    record = store.get(job.id)
    assert record.status is JobStatus.failed and "lost" in record.error and "Try again" in record.error
    assert [event.kind for event in events_of(redis_client, job.id)] == [EventKind.queued, EventKind.failed]
    assert redis_client.smembers(keys.user_running_key("alice")) == set()
    assert redis_client.zcard(keys.ACTIVE_JOBS) == 0 and queue_ids(redis_client) == []


def test_a_queued_job_lost_again_and_again_is_failed_after_max_attempts_recoveries(store, redis_client):
    job = store.submit(new_job())
    sweeper = reconciler(store)
    for _ in range(job.max_attempts):
        take_off_queue(redis_client, job)
        sweeper.sweep()
        assert sweeper.sweep().requeued == [job.id]
    take_off_queue(redis_client, job)
    sweeper.sweep()
    assert sweeper.sweep().failed == [job.id]
    assert store.get(job.id).status is JobStatus.failed


def test_healthy_jobs_are_left_alone(store, redis_client):
    waiting = store.submit(new_job(user="alice"))
    running = store.submit(new_job(user="bob"))
    take_off_queue(redis_client, running)
    mark_running(store, running, worker="alive-worker", attempts=1)
    redis_client.set(keys.worker_heartbeat_key("alive-worker"), "{}", ex=60)
    redis_client.sadd(keys.user_running_key("bob"), running.id)
    sweeper = reconciler(store)
    for _ in range(3):
        report = sweeper.sweep()
        assert (report.requeued, report.failed, report.freed_slots) == ([], [], [])
    assert queue_ids(redis_client) == [waiting.id]
    assert store.get(running.id).status is JobStatus.running
    assert redis_client.smembers(keys.user_running_key("bob")) == {running.id.encode()}


def test_a_job_is_not_put_back_before_it_has_looked_lost_for_the_grace_period(store, redis_client):
    job = store.submit(new_job())
    take_off_queue(redis_client, job)  # a worker took it a moment ago and is about to record the start
    sweeper = Reconciler(store, interval_s=60, grace_s=30)
    assert sweeper.sweep().requeued == [] and sweeper.sweep().requeued == []
    assert queue_ids(redis_client) == []


def test_running_slots_of_finished_missing_and_rq_forgotten_jobs_are_freed_at_once(store, redis_client):
    finished, missing, forgotten, live = (store.submit(new_job(user="alice")) for _ in range(4))
    slots = keys.user_running_key("alice")
    redis_client.sadd(slots, finished.id, missing.id, forgotten.id, live.id)
    record = store.get(finished.id)
    record.status = JobStatus.done  # finished by a path that did not free the slot
    store.save(record)
    redis_client.delete(keys.job_key(missing.id))
    take_off_queue(redis_client, forgotten)
    redis_client.delete(RQJob.key_for(forgotten.id))
    report = reconciler(store).sweep()
    assert sorted(report.freed_slots) == sorted([finished.id, missing.id, forgotten.id])
    assert redis_client.smembers(slots) == {live.id.encode()}
    assert sorted(report.forgotten) == sorted([finished.id, missing.id])


def test_each_pass_looks_at_a_bounded_batch_and_the_next_pass_goes_on(store, redis_client):
    jobs = [store.submit(new_job()) for _ in range(5)]
    for job in jobs:
        redis_client.delete(keys.job_key(job.id))
    sweeper = reconciler(store, batch=2)
    assert [len(sweeper.sweep().forgotten) for _ in range(4)] == [2, 2, 1, 0]
    assert redis_client.zcard(keys.ACTIVE_JOBS) == 0


def test_only_one_worker_sweeps_per_interval(store):
    first, second = Reconciler(store, interval_s=60, grace_s=0), Reconciler(store, interval_s=60, grace_s=0)
    assert first.maybe_sweep().swept is True
    assert second.maybe_sweep().swept is False
