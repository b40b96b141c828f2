"""The event stream: consumer groups with acks and redelivery after a restart, and `follow`."""

from __future__ import annotations

from midway import keys
from midway.contract import Event, EventKind
from midway.events import EventConsumer, follow, last_id, publish


def kinds(entries):
    return [(event.job_id, event.kind) for _, event in entries]


def test_consumer_reads_new_events_in_order(redis_client):
    consumer = EventConsumer(redis_client, "bot", "bot-1")
    publish(redis_client, Event(job_id="j1", kind=EventKind.queued, position=1))
    publish(redis_client, Event(job_id="j1", kind=EventKind.started))
    entries = consumer.read(block_ms=10)
    assert kinds(entries) == [("j1", EventKind.queued), ("j1", EventKind.started)]
    assert entries[0][1].position == 1
    assert consumer.read(block_ms=10) == []


def test_unacked_entries_come_back_after_a_restart_and_acked_ones_do_not(redis_client):
    first = EventConsumer(redis_client, "bot", "bot-1")
    for kind in (EventKind.queued, EventKind.started, EventKind.done):
        publish(redis_client, Event(job_id="j1", kind=kind))
    entries = first.read(block_ms=10)
    first.ack(entries[0][0])  # acted on `queued` only, then crashed
    restarted = EventConsumer(redis_client, "bot", "bot-1")
    assert kinds(restarted.read(block_ms=10)) == [("j1", EventKind.started), ("j1", EventKind.done)]
    publish(redis_client, Event(job_id="j2", kind=EventKind.queued))
    assert kinds(restarted.read(block_ms=10)) == [("j2", EventKind.queued)]


def test_group_created_before_any_event_sees_everything_published_later(redis_client):
    consumer = EventConsumer(redis_client, "bot", "a")
    other_group = EventConsumer(redis_client, "metrics", "a")
    publish(redis_client, Event(job_id="j", kind=EventKind.done))
    assert len(consumer.read(block_ms=10)) == 1 and len(other_group.read(block_ms=10)) == 1


def test_unreadable_entries_are_skipped_and_acked(redis_client):
    consumer = EventConsumer(redis_client, "bot", "a")
    redis_client.xadd(keys.EVENTS_STREAM, {"event": "not json"})
    publish(redis_client, Event(job_id="j", kind=EventKind.done))
    assert kinds(consumer.read(block_ms=10)) == [("j", EventKind.done)]
    assert redis_client.xpending(keys.EVENTS_STREAM, "bot")["pending"] == 1


def test_follow_yields_one_jobs_events_until_its_end(redis_client):
    publish(redis_client, Event(job_id="old", kind=EventKind.done))
    after = last_id(redis_client)
    publish(redis_client, Event(job_id="j", kind=EventKind.started))
    publish(redis_client, Event(job_id="other", kind=EventKind.started))
    publish(redis_client, Event(job_id="j", kind=EventKind.progress, step=1, total=4))
    publish(redis_client, Event(job_id="j", kind=EventKind.failed, error="boom"))
    publish(redis_client, Event(job_id="j", kind=EventKind.progress, step=2, total=4))
    seen = list(follow(redis_client, "j", after=after, block_ms=10, timeout_s=2))
    assert [event.kind for event in seen] == [EventKind.started, EventKind.progress, EventKind.failed]
    assert seen[1].percent == 25 and seen[2].error == "boom"


def test_follow_gives_up_at_its_timeout(redis_client):
    assert list(follow(redis_client, "nobody", block_ms=10, timeout_s=0.2)) == []
