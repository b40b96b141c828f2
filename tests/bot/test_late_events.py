"""Events that arrive after a job's result: a worker that stalled (its heartbeat lapsed, so RQ gave the
job to another worker, which finished it) wakes up and goes on publishing progress. The finished
message must stay finished."""

from __future__ import annotations

import asyncio

import pytest
import redis

from midway import keys
from midway.contract import Event, EventKind
from midway.events import publish
from playground.driver import Playground
from tests.bot.helpers import job_of, result_for

pytestmark = pytest.mark.slow


def _stream_id(entry_id: str) -> tuple[int, int]:
    millis, sequence = entry_id.split("-")
    return int(millis), int(sequence)


async def wait_until_acked(client: redis.Redis, entry_id: str, timeout: float = 10.0) -> None:
    """The bot's group has read `entry_id` and acknowledged it (so it acted on it, or dropped it)."""
    async with asyncio.timeout(timeout):
        while True:
            group = next(g for g in client.xinfo_groups(keys.EVENTS_STREAM) if g["name"] in (b"bot", "bot"))
            delivered = group["last-delivered-id"]
            delivered = delivered.decode() if isinstance(delivered, bytes) else delivered
            pending = client.xpending_range(keys.EVENTS_STREAM, keys.BOT_GROUP, min=entry_id, max=entry_id,
                                            count=1)
            if _stream_id(delivered) >= _stream_id(entry_id) and not pending:
                return
            await asyncio.sleep(0.05)


async def test_a_late_progress_event_never_overwrites_the_finished_message(pg: Playground, worker, midway,
                                                                             settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a harbour at night"})).response()
    job_id = job_of(ack)
    await result_for(pg, ack)
    await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"))

    client = redis.Redis.from_url(settings.redis_url)
    try:
        entry_id = publish(client, Event(job_id=job_id, kind=EventKind.progress, step=5, total=10, attempt=1,
                                         worker="stalled-worker"))
        await wait_until_acked(client, entry_id)
    finally:
        client.close()
    await asyncio.sleep(0.3)  # an edit the bot scheduled would land by now (throttle 0.05 s)
    message = pg.message(ack.id)
    assert message.content.endswith("(Done)") and message.buttons == []
