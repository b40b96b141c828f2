"""The real bot through a Sentinel failover: it reaches Redis only by the Sentinel URL, the primary is
SIGKILLed, and the next /imagine is acknowledged, run and delivered through the promoted replica."""

from __future__ import annotations

import pytest

from bot.app import MidwayBot
from playground.clients import ClientRunner
from playground.connect import restore_discord
from playground.driver import Playground

from .conftest import settings_for, worker_env

pytestmark = pytest.mark.slow
BOT_TOKEN = "midway-ha-test-token"


async def imagine_and_wait_for_the_result(pg: Playground, prompt: str) -> str:
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    assert "Waiting to start" in ack.content, ack.content
    result = await pg.wait_for_message("general", lambda m: m.reference_id == ack.id and bool(m.attachments),
                                       timeout=60)
    done = await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"))
    return f"{result.content} | {done.content}"


async def test_the_bot_delivers_across_a_failover(sentinel_set, workers, state_dir):
    url = sentinel_set.url
    workers("ha-bot-worker", ["tiny"], worker_env(url, state_dir))
    settings = settings_for(url, state_dir, default_engine="tiny")
    runner = ClientRunner(BOT_TOKEN)
    async with Playground.start(port=0, bot_token=BOT_TOKEN, ack_deadline_s=3.0, heartbeat_ms=1000) as pg:
        pg.point_client()
        try:
            bot = MidwayBot(settings, url, consumer_name="ha-bot", throttle_s=0.05, queue_poll_s=0.3,
                            guild_ready_timeout=0.2)
            await runner.start(bot)
            await pg.wait_until_commands_synced(names=["imagine"])
            assert "a fox before" in await imagine_and_wait_for_the_result(pg, "a fox before")

            sentinel_set.kill_primary()
            sentinel_set.wait_for_failover()
            assert "a fox after" in await imagine_and_wait_for_the_result(pg, "a fox after")
        finally:
            await runner.stop_all()
            restore_discord()
