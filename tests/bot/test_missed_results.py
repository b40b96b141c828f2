"""A result whose terminal event was trimmed from the stream while the bot was down is still delivered
(bot/missed.py): the stream is capped, and hours of progress events can push a `done` out of it."""

from __future__ import annotations

import asyncio

import pytest
import redis

from bot import missed
from midway import keys
from midway.contract import GenerationSpec, Job, JobStatus, MessageRef, Requester
from midway.jobs import JobStore
from midway.settings import Settings
from playground.driver import Playground
from tests.bot.helpers import GRID_LABELS, finished_while_the_bot_was_down, labels, result_for, results_replying_to

pytestmark = pytest.mark.slow


async def test_a_result_trimmed_from_the_stream_while_the_bot_was_down_is_delivered(
        pg: Playground, worker, bots, settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(missed, "GRACE_S", 0.5)
    monkeypatch.setattr(missed, "SWEEP_EVERY_S", 0.2)
    ack, job_id = await finished_while_the_bot_was_down(pg, worker, bots, settings.redis_url, "a lighthouse")
    client = redis.Redis.from_url(settings.redis_url)
    try:
        # Hours of other jobs' progress later, the stream has been trimmed past this job's events.
        client.xtrim(keys.EVENTS_STREAM, maxlen=0, approximate=False)
        assert client.zscore(keys.UNDELIVERED, job_id) is not None

        await bots.start()
        grid = await result_for(pg, ack, timeout=20)
        assert labels(grid) == GRID_LABELS and grid.attachments
        final = await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"))
        assert final.buttons == []
        await asyncio.sleep(0.6)  # later sweeps find it delivered: posted once
        assert len(results_replying_to(pg, ack)) == 1
        assert client.zscore(keys.UNDELIVERED, job_id) is None
    finally:
        client.close()


async def test_a_trimmed_shorten_answer_is_delivered_as_its_embed(pg: Playground, worker, bots, settings: Settings,
                                                                 monkeypatch) -> None:
    """A text job's answer through the same sweep: its words and prompts come from the job's record."""
    monkeypatch.setattr(missed, "GRACE_S", 0.5)
    monkeypatch.setattr(missed, "SWEEP_EVERY_S", 0.2)
    ack, job_id = await finished_while_the_bot_was_down(pg, worker, bots, settings.redis_url,
                                                        "a red fox in the snow", command="shorten")
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.xtrim(keys.EVENTS_STREAM, maxlen=0, approximate=False)
        await bots.start()
        answer = await pg.wait_for_message("general", lambda m: m.reference_id == ack.id and bool(m.embeds),
                                           timeout=20)
        [embed] = answer.embeds
        assert embed["description"].startswith("**IMPORTANT TOKENS**\n") and "5️⃣ " in embed["description"]
        assert labels(answer) == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]
        await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"))
    finally:
        client.close()


def test_only_jobs_with_a_discord_message_wait_for_delivery(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        store = JobStore(client, settings)
        spec = GenerationSpec(prompt="a ship", engine="tiny", width=64, height=64)
        from_discord = Job(spec=spec, requester=Requester(user_id="1"),
                           message=MessageRef(channel_id="2", message_id="3"))
        from_the_cli = Job(spec=spec, requester=Requester(user_id="1"))  # `midway submit` follows events itself
        for job in (from_discord, from_the_cli):
            store.save(job)
            store.finish(job.id, JobStatus.done)
        assert client.zscore(keys.UNDELIVERED, from_discord.id) is not None
        assert client.zscore(keys.UNDELIVERED, from_the_cli.id) is None
    finally:
        client.close()
