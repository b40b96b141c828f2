"""Delivery guarantees: a bot restarted mid-job delivers the result exactly once, buttons posted before
a restart keep working, and progress edits respect rate limits (no 429s, latest state wins)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import redis

from bot.custom_ids import decode
from midway.contract import EventKind
from midway.events import parse_entry
from midway.keys import EVENTS_STREAM
from midway.settings import PROJECT_ROOT
from playground.driver import Playground
from tests.bot.helpers import (
    GRID_LABELS,
    button,
    finished_while_the_bot_was_down,
    labels,
    result_for,
    results_replying_to,
)

pytestmark = pytest.mark.slow


async def test_restart_mid_job_delivers_once_and_old_buttons_work(pg: Playground, worker, bots, settings) -> None:
    ack, _ = await finished_while_the_bot_was_down(pg, worker, bots, settings.redis_url, "a lighthouse")
    assert results_replying_to(pg, ack) == []

    second = await bots.start()
    grid = await result_for(pg, ack)
    assert labels(grid) == GRID_LABELS
    await asyncio.sleep(1.0)
    assert len(results_replying_to(pg, ack)) == 1

    # Restart again: the grid's buttons were posted by a bot that no longer runs.
    await bots.stop(second)
    await bots.start()
    await (await pg.click(grid.id, button(grid, "U3"), user="alice")).acked()
    single = await result_for(pg, grid)
    assert "Image #3" in single.content


async def test_a_result_being_delivered_when_the_bot_stops_is_finished_first(pg: Playground, bots, settings,
                                                                              monkeypatch) -> None:
    """Stopping (SIGTERM, a deploy) while a result is half delivered: the grid is posted, and the job's
    own message must still turn to "(Done)" rather than keep saying "Waiting to start" for good."""
    from bot.delivery import result_nonce
    from midway.contract import Event, EventKind
    from tests.bot.test_permanent_delivery_errors import a_finished_job, bot_message, publish_now

    midway = await bots.start()
    waiting = bot_message(pg, "general")
    job = a_finished_job(pg, waiting.channel_id, waiting.id, settings)
    add_usage = midway.store.add_usage

    async def slow_add_usage(*args, **kwargs):
        await asyncio.sleep(0.5)  # between the result's post and the final edit of the job's message
        return await add_usage(*args, **kwargs)

    monkeypatch.setattr(midway.store, "add_usage", slow_add_usage)
    publish_now(settings, Event(job_id=job.id, kind=EventKind.done))
    result = await pg.wait_for_message("general", lambda m: m.nonce == result_nonce(job.id), timeout=10)
    await bots.stop(midway)
    assert pg.message(waiting.id).content.endswith("(Done)")
    assert delivered_mark(settings, job.id) == str(result.id)


def delivered_mark(settings, job_id: str) -> str | None:
    import redis

    from midway import keys

    client = redis.Redis.from_url(settings.redis_url)
    try:
        value = client.get(keys.delivered_key(job_id))
        return None if value is None else value.decode()
    finally:
        client.close()


async def test_progress_edits_respect_rate_limits(pg: Playground, stack, worker, midway) -> None:
    # One edit per second per channel: discord.py waits on the bucket; we coalesce while it waits.
    pg.set_bucket("PATCH /channels/{channel_id}/messages/{message_id}", limit=1, per_s=1.0)
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a kite"})).response()
    grid = await result_for(pg, ack)
    assert grid.content.endswith("(fast)")
    final = await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"))
    assert final.buttons == [] and final.attachments == []
    assert [r for r in pg.requests if r.status == 429] == []
    edits = [r for r in pg.requests_to("PATCH /channels/{channel_id}/messages/{message_id}")
             if r.path.endswith(f"/{ack.id}")]
    contents = [(r.json or {}).get("content", "") for r in edits]
    # Edits of one message were spaced by the bucket...
    assert all(later.at - earlier.at >= 0.9 for earlier, later in zip(edits, edits[1:], strict=False))
    # ...so the worker's progress events (one per step here) were coalesced into far fewer edits...
    job_id = decode(button(grid, "U1")).job_id
    progress_events = [event for _, fields in redis.Redis.from_url(stack["redis_url"]).xrange(EVENTS_STREAM)
                       if (event := parse_entry(fields)) is not None and event.job_id == job_id
                       and event.kind is EventKind.progress]
    progress_edits = [content for content in contents if "%)" in content]
    assert len(progress_events) >= 10 and 1 <= len(progress_edits) < len(progress_events)
    # ...and the latest state won: the last edit says Done; no older progress was sent after it.
    assert contents[-1].endswith("(Done)") and sum(content.endswith("(Done)") for content in contents) == 1


def test_bot_imports_no_torch_and_no_worker() -> None:
    code = ("import sys, bot.app, bot.routing, bot.actions, bot.delivery, bot.commands.imagine, "
            "bot.commands.engine, bot.commands.info, cli.commands.bot; from bot.commands import setup_commands; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'worker') "
            "or m == 'engines.registry'); print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
