"""Reliability defects found in review, each pinned by a test: the event consumer group across a bot
restart under a new name, and submissions that must commit whole or not at all."""

from __future__ import annotations

import time

import pytest
import redis
from rq import Queue

from midway import keys
from midway.contract import Event, EventKind, JobStatus
from midway.events import EventConsumer, publish
from midway.jobs import rq_queue

from .conftest import new_job


def kinds(entries):
    return [(event.job_id, event.kind) for _, event in entries]


def test_a_bot_restarted_under_a_new_name_takes_over_what_the_old_one_left_unacked(redis_client):
    # In docker compose the consumer name is bot-<container hostname>, which changes when the container
    # is recreated: the old consumer's un-acked `done` must still reach the new bot.
    old = EventConsumer(redis_client, "bot", "bot-3f2a9c", claim_idle_ms=200)
    publish(redis_client, Event(job_id="j1", kind=EventKind.done))
    assert kinds(old.read(block_ms=10)) == [("j1", EventKind.done)]  # read, then killed before the ack

    new = EventConsumer(redis_client, "bot", "bot-81d0e4", claim_idle_ms=200)
    assert new.read(block_ms=10) == []  # too fresh: the old bot may still be acting on it
    time.sleep(0.3)
    [(entry_id, event)] = new.read(block_ms=10)
    assert (event.job_id, event.kind) == ("j1", EventKind.done)
    new.ack(entry_id)
    assert redis_client.xpending(keys.EVENTS_STREAM, "bot")["pending"] == 0


def test_a_consumer_never_re_reads_its_own_entries_in_flight(redis_client):
    consumer = EventConsumer(redis_client, "bot", "bot-1", claim_idle_ms=50)
    publish(redis_client, Event(job_id="j1", kind=EventKind.done))
    assert len(consumer.read(block_ms=10)) == 1
    time.sleep(0.1)
    # Still being delivered (a slow Discord call): reading it again would post the result twice.
    assert consumer.read(block_ms=10) == []


def _active_jobs(redis_url: str, user_id: str) -> list:
    """The bot's view of a user's queued and running jobs (what /info, /cancel and the caps count)."""
    import asyncio

    import redis.asyncio as aioredis

    from bot.context import active_jobs

    async def read() -> list:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await active_jobs(client, user_id)
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_a_submission_cut_off_before_the_enqueue_leaves_no_queued_job_behind(settings, store, redis_client,
                                                                             redis_url, monkeypatch):
    from bot.backend import Backend

    def connection_lost(self, *args, **kwargs):
        raise redis.ConnectionError("Connection reset by peer")

    # The bot's Redis connection drops (or the bot dies) after the record is written, before the RQ push.
    monkeypatch.setattr(Queue, "enqueue", connection_lost)
    backend = Backend(settings, redis_url)
    job = new_job(user="alice")
    try:
        with pytest.raises(redis.ConnectionError):
            backend._submit([job])
        # The reply says the queue is unavailable. No worker will ever run this job, so nothing may still
        # call it queued: not its record, not the user's job list (each such ghost holds one of the user's
        # queue places for the 30 days a record lives), not a `queued` event that edits the reply back.
        assert store.get(job.id) is None or store.get(job.id).status is not JobStatus.queued
        assert _active_jobs(redis_url, "alice") == []
        assert redis_client.xlen(keys.EVENTS_STREAM) == 0
    finally:
        backend.close()


def test_submit_commits_record_list_membership_event_and_queue_entry_together(settings, store, redis_client,
                                                                              redis_url):
    from bot.backend import Backend

    backend = Backend(settings, redis_url)
    try:
        job, = backend._submit([new_job(user="alice")])
    finally:
        backend.close()
    assert store.get(job.id).status is JobStatus.queued
    assert [value.decode() for value in redis_client.lrange(rq_queue(redis_client, "tiny", "fast").key, 0, -1)] \
        == [job.id]
    assert redis_client.smembers(keys.user_jobs_key("alice")) == {job.id.encode()}
    [(_, event)] = EventConsumer(redis_client, "t", "t", start_id="0").read(block_ms=10)
    assert (event.job_id, event.kind) == (job.id, EventKind.queued)


def test_sigterm_during_maintenance_is_not_swallowed():
    """RQ's SIGTERM handler raises StopRequested wherever the worker is; a maintenance task (blob purge,
    reconciler sweep) that caught it as an ordinary failure left a worker that never shut down."""
    from rq.exceptions import StopRequested

    from worker.main import maintenance

    def interrupted() -> None:
        raise StopRequested()

    def broken() -> None:
        raise RuntimeError("a failing task must not stop the others")

    ran = []
    with pytest.raises(StopRequested):
        maintenance(broken, lambda: ran.append("next"), interrupted)()
    assert ran == ["next"]
