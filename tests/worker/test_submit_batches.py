"""A burst of submits as one batch (JobStore.submit_many, used by the bot): the same fair order,
positions and atomicity as submitting one at a time, and all waiting positions read in one call."""

from __future__ import annotations

import pytest
import redis
from rq import Queue

from midway import keys
from midway.contract import EventKind, JobStatus, Lane
from midway.jobs import rq_queue
from tests.worker.conftest import new_job
from tests.worker.test_jobs import heartbeat, queued_ids

USERS = ["heavy", "heavy", "heavy", "light", "heavy", "other", "light", "heavy"]


def queued_positions(consumer) -> dict[str, int | None]:
    return {event.job_id: event.position for _, event in consumer.read(block_ms=10, count=100)
            if event.kind is EventKind.queued}


def test_a_batch_queues_in_the_same_fair_order_as_one_by_one(store, redis_client, consumer):
    heartbeat(redis_client, "w1", ["tiny"])
    one_by_one = [store.submit(new_job(user=user)) for user in USERS]
    expected_order = [store.get(job_id).requester.user_id for job_id in queued_ids(redis_client)]
    expected_positions = queued_positions(consumer)
    redis_client.delete(rq_queue(redis_client, "tiny", Lane.fast).key)

    batch = store.submit_many([new_job(user=user) for user in USERS])
    order = [store.get(job_id).requester.user_id for job_id in queued_ids(redis_client)]
    assert order == expected_order == ["heavy", "light", "other", "heavy", "light", "heavy", "heavy", "heavy"]
    # Each `queued` event says where that job stood when it joined, exactly as one by one.
    positions = queued_positions(consumer)
    assert [positions[job.id] for job in batch] == [expected_positions[job.id] for job in one_by_one]
    assert all(store.get(job.id).status is JobStatus.queued for job in batch)


def test_a_batch_joins_behind_what_is_already_queued(store, redis_client):
    waiting = [store.submit(new_job(user="a")) for _ in range(2)]
    batch = store.submit_many([new_job(user="b"), new_job(user="a"), new_job(user="b")])
    assert queued_ids(redis_client) == [waiting[0].id, batch[0].id, waiting[1].id, batch[2].id, batch[1].id]


def test_a_batch_cut_off_part_way_queues_none_of_it(store, redis_client, monkeypatch):
    calls = {"n": 0}
    enqueue = Queue.enqueue

    def drops_on_the_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise redis.ConnectionError("Connection reset by peer")
        return enqueue(self, *args, **kwargs)

    monkeypatch.setattr(Queue, "enqueue", drops_on_the_third)
    jobs = [new_job(user=f"u{index}") for index in range(4)]
    with pytest.raises(redis.ConnectionError):
        store.submit_many(jobs, list_for_user=True)
    assert queued_ids(redis_client) == []
    assert all(store.get(job.id) is None for job in jobs)
    assert redis_client.xlen(keys.EVENTS_STREAM) == 0
    assert not any(redis_client.exists(keys.user_jobs_key(f"u{index}")) for index in range(4))


def test_positions_of_many_jobs_match_one_at_a_time(store, redis_client):
    heartbeat(redis_client, "w1", ["tiny"], lanes=[Lane.fast, Lane.relax])
    jobs = store.submit_many([new_job(user=user) for user in USERS])
    relaxed = new_job(user="late")
    relaxed.lane = Lane.relax
    jobs.append(store.submit(relaxed))
    started, cancelled = jobs[0], jobs[1]
    # A worker takes the head of the queue (RQ pops it) and starts it; the other is cancelled.
    redis_client.lrem(rq_queue(redis_client, "tiny", Lane.fast).key, 0, started.id)
    store.start(started.id, "w1")
    store.cancel(cancelled.id)

    batched = store.positions.waiting_positions(jobs)
    assert {job_id: position for job_id, (_, position) in batched.items()} == {
        job.id: store.positions.queue_position(job.id) for job in jobs}
    assert not batched[started.id][0] and not batched[cancelled.id][0]
    waiting = [job for job in jobs if job not in (started, cancelled)]
    assert all(batched[job.id][0] for job in waiting)
    # The relax job waits behind every fast one a worker for tiny will take first.
    assert sorted(batched[job.id][1] for job in waiting) == list(range(1, len(waiting) + 1))
    assert batched[relaxed.id][1] == len(waiting)


def test_a_waiting_job_no_live_worker_serves_still_waits_without_a_position(store, redis_client):
    job = store.submit(new_job())
    assert store.positions.waiting_positions([job]) == {job.id: (True, None)}


def test_a_restarted_submitter_still_places_fairly_behind_the_queue_it_did_not_make(store, settings, redis_client):
    from midway.jobs import JobStore

    heavy = store.submit_many([new_job(user="heavy") for _ in range(3)])
    fresh = JobStore(redis_client, settings)  # a new bot process: it has seen none of those jobs
    light = fresh.submit(new_job(user="light"))
    assert queued_ids(redis_client) == [heavy[0].id, light.id, heavy[1].id, heavy[2].id]
