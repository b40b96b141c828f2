"""Records another release wrote: fields this one does not know are ignored, and a record it truly cannot
read still ends visibly (a `failed` event, the user's places freed) instead of waiting for 30 days."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from midway import keys
from midway.contract import EventKind, GenerationSpec, Job, JobStatus, MessageRef
from midway.events import parse_entry
from midway.jobs import UNREADABLE_ERROR, rq_queue
from worker.reconcile import Reconciler
from worker.rq_worker import serve

from .conftest import ScriptedEngine, new_job


def rewrite(redis_client, job_id: str, change) -> None:
    """What another release's writer leaves: the stored JSON changed behind this release's models."""
    data = json.loads(redis_client.get(keys.job_key(job_id)))
    change(data)
    redis_client.set(keys.job_key(job_id), json.dumps(data))


def newer_fields(data: dict) -> None:
    data["priority"] = 1
    data["spec"]["sampler"] = "dpm++"


def newer_operation(data: dict) -> None:
    # A value of an enum only a newer release has: no dropping of fields makes this spec runnable here.
    data["spec"]["operation"] = "retexture"


def events_of(redis_client, job_id: str):
    entries = (parse_entry(fields) for _, fields in redis_client.xrange(keys.EVENTS_STREAM))
    return [event for event in entries if event is not None and event.job_id == job_id]


def bot_view(redis_url: str, user_id: str):
    """What the bot reads for the caps, /info and /cancel."""
    from bot.context import active_jobs, read_context

    async def read():
        client = aioredis.Redis.from_url(redis_url)
        try:
            return (await read_context(client, user_id, None, None)).load, await active_jobs(client, user_id)
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_models_read_from_redis_ignore_unknown_fields_but_are_built_strictly() -> None:
    data = json.loads(new_job().model_dump_json())
    newer_fields(data)
    data["requester"]["locale"] = "fr"
    job = Job.from_record(json.dumps(data))
    assert job.spec.prompt == "a red fox" and job.requester.user_id == "u1"
    with pytest.raises(ValidationError):
        Job.model_validate_json(json.dumps(data))
    with pytest.raises(ValidationError, match="sampler"):
        GenerationSpec(prompt="x", sampler="dpm++")
    newer_operation(data)
    with pytest.raises(ValidationError, match="operation"):
        Job.from_record(json.dumps(data))


def test_a_record_with_fields_of_a_newer_release_runs(store, make_worker, redis_client):
    engine = ScriptedEngine()
    worker = make_worker({"tiny": engine})
    job = store.submit(new_job(), list_for_user=True)
    rewrite(redis_client, job.id, newer_fields)
    serve(worker, burst=True)
    assert len(engine.calls) == 1 and store.get(job.id).status is JobStatus.done
    assert [event.kind for event in events_of(redis_client, job.id)][-1] is EventKind.done


def test_an_unreadable_record_fails_visibly_and_frees_the_users_places(store, make_worker, redis_client,
                                                                      redis_url):
    engine = ScriptedEngine()
    worker = make_worker({"tiny": engine})
    job = new_job()
    job.message = MessageRef(channel_id="10", message_id="11")
    store.submit(job, list_for_user=True)
    rewrite(redis_client, job.id, newer_operation)
    serve(worker, burst=True)

    assert engine.calls == []
    failed = events_of(redis_client, job.id)[-1]
    assert failed.kind is EventKind.failed and failed.error == UNREADABLE_ERROR
    # The record now reads (what could be salvaged of it), so the bot can edit the job's message.
    record = store.get(job.id)
    assert record.status is JobStatus.failed and record.message == job.message and record.spec.prompt == "a red fox"
    assert redis_client.zcard(keys.ACTIVE_JOBS) == 0 and not redis_client.smembers(keys.user_jobs_key("u1"))
    load, active = bot_view(redis_url, "u1")
    assert (load.queued, load.running, active) == (0, 0, [])


def test_info_and_cancel_answer_for_an_unreadable_record(store, redis_client, redis_url):
    job = store.submit(new_job(), list_for_user=True)
    other = store.submit(new_job("a blue bird"), list_for_user=True)
    rewrite(redis_client, job.id, newer_operation)
    redis_client.sadd(keys.user_jobs_key("u1"), "not-json")
    redis_client.set(keys.job_key("not-json"), "{\"status\": \"queued\", \"id\": ")

    load, active = bot_view(redis_url, "u1")
    assert load.queued == 2 and sorted(listed.id for listed in active) == sorted([job.id, other.id])

    after = store.cancel(job.id)
    assert after is not None and after.status is JobStatus.cancelled
    assert redis_client.lpos(rq_queue(redis_client, "tiny", job.lane).key, job.id) is None
    assert [event.kind for event in events_of(redis_client, job.id)] == [EventKind.queued, EventKind.cancelled]
    load, active = bot_view(redis_url, "u1")
    assert load.queued == 1 and [listed.id for listed in active] == [other.id]


def test_the_reconciler_fails_an_unreadable_record_only_once_rq_has_lost_it(store, redis_client):
    kept, lost = store.submit(new_job(), list_for_user=True), store.submit(new_job(user="u2"), list_for_user=True)
    for job in (kept, lost):
        rewrite(redis_client, job.id, newer_operation)
    # Lost: it left its queue and RQ forgot it (a worker died taking it, or RQ's retries ran out).
    redis_client.lrem(rq_queue(redis_client, "tiny", lost.lane).key, 0, lost.id)
    RQJob.fetch(lost.id, connection=redis_client, serializer=JSONSerializer).delete()
    reconciler = Reconciler(store, interval_s=60, grace_s=0.0)

    assert reconciler.sweep().failed == []  # first sighting
    assert reconciler.sweep().failed == [lost.id]
    assert events_of(redis_client, lost.id)[-1].kind is EventKind.failed
    assert store.get(lost.id).status is JobStatus.failed
    # Still queued in RQ: a worker takes it and ends it itself (or, of a newer release, runs it).
    assert store.get(kept.id) is None and events_of(redis_client, kept.id)[-1].kind is EventKind.queued
    assert [member.decode().split()[0] for member in redis_client.zrange(keys.ACTIVE_JOBS, 0, -1)] == [kept.id]
    assert not redis_client.smembers(keys.user_jobs_key("u2"))
