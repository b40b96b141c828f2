"""A result whose terminal event was trimmed from the stream while the bot was down is still delivered
(bot/missed.py): the stream is capped, and hours of progress events can push a `done` out of it."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis

from bot import missed
from bot.custom_ids import decode
from midway import keys
from midway.contract import GenerationSpec, Job, JobStatus, MessageRef, Requester
from midway.jobs import JobStore
from midway.settings import Settings
from playground.driver import Playground
from tests.bot.helpers import GRID_LABELS, labels, result_for, results_replying_to, stored_job

pytestmark = pytest.mark.slow


async def test_a_result_trimmed_from_the_stream_while_the_bot_was_down_is_delivered(
        pg: Playground, worker, bots, settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(missed, "GRACE_S", 0.5)
    monkeypatch.setattr(missed, "SWEEP_EVERY_S", 0.2)
    first = await bots.start()
    os.kill(worker.pid, signal.SIGSTOP)  # the job must not finish before the bot is down
    try:
        ack = await (await pg.slash("imagine", user="alice", channel="general",
                                    options={"prompt": "a lighthouse"})).response()
        job_id = decode(ack.custom_ids[0]).job_id
        async with asyncio.timeout(10):
            while stored_job(settings.redis_url, job_id) is None:
                await asyncio.sleep(0.05)
        await bots.stop(first)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    async with asyncio.timeout(60):
        while (job := stored_job(settings.redis_url, job_id)) is None or job.status is not JobStatus.done:
            await asyncio.sleep(0.1)
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
