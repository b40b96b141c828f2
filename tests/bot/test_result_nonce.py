"""Exactly-once result posts through Discord's nonce: the crash window between Discord creating the result
and the bot recording it as delivered no longer posts it twice."""

from __future__ import annotations

import pytest
import redis

from bot.delivery import result_nonce
from midway import keys
from midway.contract import Event, EventKind
from midway.discord_limits import MESSAGE_NONCE
from playground.driver import Playground
from playground.nonces import DEFAULT_WINDOW_S
from tests.bot.helpers import button, job_of, result_for, results_replying_to, stored_job

pytestmark = pytest.mark.slow


def test_result_nonces_are_short_stable_and_per_job() -> None:
    first, second = "0b6c3e7e-6f0c-4d4e-9f55-8d8f5c2b1a90", "1b6c3e7e-6f0c-4d4e-9f55-8d8f5c2b1a90"
    assert result_nonce(first) == result_nonce(first) != result_nonce(second)
    assert len(result_nonce(first)) <= MESSAGE_NONCE


async def test_a_result_resent_after_a_crash_is_posted_once(pg: Playground, worker, midway, settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a paper lantern"})).response()
    grid = await result_for(pg, ack)
    job = stored_job(settings.redis_url, job_of(grid))
    posted = [r.json for r in pg.requests_to("POST /channels/{channel_id}/messages") if isinstance(r.json, dict)]
    assert [(p["nonce"], p["enforce_nonce"]) for p in posted if p.get("nonce") == result_nonce(job.id)] == [
        (result_nonce(job.id), True)]

    # The crash window: Discord made the result, the bot died before marking it delivered; on restart
    # the un-acked `done` entry is delivered again.
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(keys.delivered_key(job.id))
    done = Event(job_id=job.id, kind=EventKind.done, outputs=job.outputs, grid=job.grid)
    await midway.delivery._deliver(job, done)
    assert [m.id for m in results_replying_to(pg, ack)] == [grid.id]
    assert await midway.store.delivered(job.id) == str(grid.id)

    # Past Discord's window the nonce is forgotten: only then would a resend make a second message.
    client.delete(keys.delivered_key(job.id))
    client.close()
    pg.clock.advance(DEFAULT_WINDOW_S + 1)
    await midway.delivery._deliver(job, done)
    assert len(results_replying_to(pg, ack)) == 2


async def test_a_separated_image_is_sent_with_its_own_nonce(pg: Playground, worker, midway, settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a tin robot"})).response()
    grid = await result_for(pg, ack)
    await (await pg.click(grid.id, button(grid, "U3"), user="alice")).acked()
    single = await result_for(pg, grid)
    split = stored_job(settings.redis_url, job_of(single))
    assert pg.message(single.id).nonce == result_nonce(split.id)
