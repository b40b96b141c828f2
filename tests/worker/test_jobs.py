"""JobStore: records, queued events with positions, fair order, cancel while queued, live workers."""

from __future__ import annotations

import json

from midway import keys
from midway.contract import EventKind, JobStatus, Lane
from midway.jobs import JobStore
from midway.positions import WorkerHeartbeat, rq_queue
from tests.worker.conftest import new_job


def heartbeat(client, name: str, engines: list[str], lanes=tuple(Lane), ttl: int = 30) -> None:
    beat = WorkerHeartbeat(name=name, engines=engines, lanes=list(lanes))
    client.set(keys.worker_heartbeat_key(name), beat.model_dump_json(), ex=ttl)
    client.sadd(keys.WORKERS_SET, name)


def queued_ids(client, engine="tiny", lane=Lane.fast) -> list[str]:
    return [value.decode() for value in client.lrange(rq_queue(client, engine, lane).key, 0, -1)]


def test_submit_stores_json_enqueues_the_id_and_publishes_queued(store, redis_client, consumer):
    heartbeat(redis_client, "w1", ["tiny"])
    job = store.submit(new_job())
    record = json.loads(redis_client.get(keys.job_key(job.id)))
    assert record["status"] == "queued" and record["spec"]["engine"] == "tiny"
    assert queued_ids(redis_client) == [job.id]
    [(_, event)] = consumer.read(block_ms=10)
    assert (event.job_id, event.kind, event.position) == (job.id, EventKind.queued, 1)
    assert store.get(job.id) == job


def test_position_counts_only_jobs_a_live_worker_serves(store, redis_client):
    first = store.submit(new_job())
    assert store.positions.queue_position(first.id) is None  # nobody serves tiny yet
    heartbeat(redis_client, "w1", ["tiny"], lanes=[Lane.fast, Lane.relax])
    second = store.submit(new_job(user="u2"))
    relaxed = new_job(user="u3")
    relaxed.lane = Lane.relax
    relaxed = store.submit(relaxed)
    assert [store.positions.queue_position(job.id) for job in (first, second, relaxed)] == [1, 2, 3]
    heartbeat(redis_client, "w2", ["sdxl"])  # another engine's worker changes nothing
    assert store.positions.queue_position(relaxed.id) == 3
    assert sorted(store.positions.live_engines()) == ["sdxl", "tiny"]


def test_a_worker_whose_heartbeat_lapsed_is_not_live(store, redis_client):
    heartbeat(redis_client, "gone", ["tiny"])
    redis_client.delete(keys.worker_heartbeat_key("gone"))
    job = store.submit(new_job())
    assert store.positions.live_engines() == {}
    assert store.positions.queue_position(job.id) is None
    assert not redis_client.sismember(keys.WORKERS_SET, "gone")


def test_one_heavy_user_does_not_push_a_light_user_to_the_back(store, redis_client):
    heavy = [store.submit(new_job(user="heavy")) for _ in range(4)]
    light = store.submit(new_job(user="light"))
    assert queued_ids(redis_client) == [heavy[0].id, light.id, *[job.id for job in heavy[1:]]]


def test_half_cost_drafts_share_a_round_for_every_bot_process(store, redis_client):
    drafts = []
    for _ in range(4):
        draft = new_job(user="heavy", draft=True)
        draft.cost = 0.5
        drafts.append(store.submit(draft))
    light = store.submit(new_job(user="light"))
    # Two of the heavy user's drafts are one job's worth: the light user's job waits behind both.
    assert queued_ids(redis_client) == [drafts[0].id, drafts[1].id, light.id, drafts[2].id, drafts[3].id]
    # Another process's JobStore, which did not submit the drafts, places its job by the same costs.
    late = JobStore(redis_client, store.settings).submit(new_job(user="late"))
    assert queued_ids(redis_client).index(late.id) == 3
    store.cancel(drafts[0].id)  # a finished draft's cost is forgotten with it
    assert not redis_client.hexists(keys.PARTIAL_COSTS, drafts[0].id)
    assert redis_client.hexists(keys.PARTIAL_COSTS, drafts[1].id)


def test_cancel_while_queued_removes_it_and_publishes_cancelled_once(store, redis_client, consumer):
    job = store.submit(new_job())
    cancelled = store.cancel(job.id)
    assert cancelled.status is JobStatus.cancelled and cancelled.finished_at is not None
    assert queued_ids(redis_client) == []
    assert store.cancel(job.id).status is JobStatus.cancelled
    assert [event.kind for _, event in consumer.read(block_ms=10)] == [EventKind.queued, EventKind.cancelled]
    assert store.cancel("no-such-job") is None


def test_terminal_transition_happens_once(store, consumer):
    job = store.submit(new_job())
    assert store.start(job.id, "w1").attempts == 1
    assert store.finish(job.id, JobStatus.done, outputs=["a"], grid="g") is not None
    assert store.finish(job.id, JobStatus.failed, error="late duplicate") is None
    assert store.start(job.id, "w2") is None
    kinds = [event.kind for _, event in consumer.read(block_ms=10)]
    assert kinds == [EventKind.queued, EventKind.started, EventKind.done]
    assert store.get(job.id).outputs == ["a"]
