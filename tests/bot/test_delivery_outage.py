"""The bot's event loop outlives Redis restarts and events it cannot handle: results must resume on their
own once Redis is back, and one bad event must not stop every later result."""

from __future__ import annotations

import asyncio
import time

import redis

from bot.backend import Backend
from bot.delivery import Delivery
from midway import events, keys
from midway.contract import Event, EventKind
from midway.settings import Settings
from ops.redis_server import LocalRedis, free_port

GROUP = keys.BOT_GROUP


def publish(url: str, job_id: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        events.publish(client, Event(job_id=job_id, kind=EventKind.queued))
        return client.xrevrange(keys.EVENTS_STREAM, count=1)[0][0].decode()
    finally:
        client.close()


async def acknowledged(url: str, entry_id: str, timeout_s: float = 20.0) -> bool:
    """The bot's group has been given `entry_id` and holds nothing un-acknowledged."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        client = redis.Redis.from_url(url)
        try:
            group = next((g for g in client.xinfo_groups(keys.EVENTS_STREAM) if g["name"].decode() == GROUP), None)
            if group and group["last-delivered-id"].decode() >= entry_id and group["pending"] == 0:
                return True
        except redis.RedisError:
            pass
        finally:
            client.close()
        await asyncio.sleep(0.1)
    return False


async def test_delivery_resumes_by_itself_after_redis_restarts(tmp_path):
    server = LocalRedis(port=free_port(), data_dir=tmp_path).start(persist=True)
    backend = Backend(Settings(redis_url=server.url, default_engine="tiny"), server.url)
    delivery = Delivery(client=None, backend=backend, store=None, consumer_name="bot-test")
    running = asyncio.create_task(delivery.run())
    try:
        assert await acknowledged(server.url, publish(server.url, "job-before"))
        server.stop()
        await asyncio.sleep(1.5)  # the loop meets connection errors and backs off
        assert not running.done()
        server.start(persist=True)
        assert await acknowledged(server.url, publish(server.url, "job-after"))
        assert not running.done()
    finally:
        await delivery.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        backend.close()
        server.stop()


async def test_an_event_that_cannot_be_handled_is_skipped_and_later_ones_still_are(redis_url):
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url)
    delivery = Delivery(client=None, backend=backend, store=None, consumer_name="bot-test")
    handled: list[str] = []
    handle = delivery.handle

    async def breaks_on_poison(entry_id: str, event: Event) -> None:
        if event.job_id == "poison":
            raise ValueError("a bug in handling this event")
        handled.append(event.job_id)
        await handle(entry_id, event)

    delivery.handle = breaks_on_poison
    running = asyncio.create_task(delivery.run())
    try:
        publish(redis_url, "poison")
        assert await acknowledged(redis_url, publish(redis_url, "fine"))
        assert handled == ["fine"] and not running.done()
    finally:
        await delivery.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        backend.close()


async def test_a_result_that_failed_every_attempt_is_posted_later_without_a_restart(pg, midway, settings,
                                                                                    monkeypatch):
    from bot import delivery as delivery_module
    from bot.delivery import result_nonce
    from tests.bot.test_permanent_delivery_errors import POST, a_finished_job, acked, bot_message, publish_now

    monkeypatch.setattr(delivery_module, "ATTEMPT_BACKOFF_S", 0.05)
    monkeypatch.setattr(delivery_module, "REDELIVER_AFTER_S", 0.3)
    waiting = bot_message(pg, "general")
    job = a_finished_job(pg, waiting.channel_id, waiting.id, settings)
    calls = {"n": 0}
    delivered = midway.store.delivered

    async def redis_restarting_for_a_while(job_id: str):
        calls["n"] += 1
        if calls["n"] <= delivery_module.FINAL_ATTEMPTS:
            raise redis.ConnectionError("Redis is restarting")
        return await delivered(job_id)

    monkeypatch.setattr(midway.store, "delivered", redis_restarting_for_a_while)
    entry_id = publish_now(settings, Event(job_id=job.id, kind=EventKind.done))
    await acked(settings, entry_id)  # before the fix: left pending until the bot's next start
    posts = [r for r in pg.requests_to(POST)
             if isinstance(r.json, dict) and r.json.get("nonce") == result_nonce(job.id)]
    assert [r.status for r in posts] == [200] and calls["n"] > delivery_module.FINAL_ATTEMPTS


async def test_a_refused_final_edit_is_retried_without_posting_the_result_twice(pg, midway, settings,
                                                                                monkeypatch):
    """The result is posted and recorded, then Discord refuses the edit that turns the job's own message
    to "(Done)" (a 5xx, or the edit limit on an old message): the retry redoes that edit alone. Before,
    the retry saw the job delivered and stopped, leaving the message at its last percentage with Cancel."""
    from bot import delivery as delivery_module
    from bot.delivery import result_nonce
    from tests.bot.test_permanent_delivery_errors import PATCH, POST, a_finished_job, acked, bot_message, publish_now

    monkeypatch.setattr(delivery_module, "ATTEMPT_BACKOFF_S", 0.05)
    waiting = bot_message(pg, "general")
    job = a_finished_job(pg, waiting.channel_id, waiting.id, settings)
    pg.fail_next(PATCH, 400)
    entry_id = publish_now(settings, Event(job_id=job.id, kind=EventKind.done))
    await acked(settings, entry_id)
    posts = [r for r in pg.requests_to(POST)
             if isinstance(r.json, dict) and r.json.get("nonce") == result_nonce(job.id)]
    edits = [r.status for r in pg.requests_to(PATCH) if r.path.endswith(f"/{waiting.id}")]
    assert [r.status for r in posts] == [200] and edits == [400, 200]
    assert pg.message(waiting.id).content.endswith("(Done)")
