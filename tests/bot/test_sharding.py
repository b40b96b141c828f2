"""The real bot over gateway shards against the emulator: each process gets its shard's guilds, results
come back in every guild, the slash commands are synced once, and a press or modal submit that reaches
two bot processes makes one job."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import discord
import pytest
import redis

from bot import missed
from bot.app import MidwayBot, ShardedMidwayBot, make_bot
from midway import keys
from midway.catalogue import load_catalogue
from midway.settings import Settings
from playground.clients import ClientRunner
from playground.connect import restore_discord
from playground.driver import Playground
from playground.state import add_sharded_guilds, default_world, shard_of
from tests.bot.conftest import BOT_TOKEN, GUILD_READY_TIMEOUT_S
from tests.bot.helpers import (
    button,
    finished_while_the_bot_was_down,
    jobs_of_user,
    result_for,
    results_replying_to,
)

pytestmark = pytest.mark.slow

SYNC = "PUT /applications/{application_id}/commands"


@pytest.fixture
async def pg() -> AsyncIterator[Playground]:
    """Guild "Midway" on shard 0 and "Midway 2" (#general-2) on shard 1 of 2."""
    world = default_world()
    add_sharded_guilds(world, 1, shard_count=2)
    async with Playground.start(port=0, bot_token=BOT_TOKEN, world=world, heartbeat_ms=1000) as playground:
        playground.point_client()
        yield playground
    restore_discord()


@pytest.fixture
async def clients() -> AsyncIterator[ClientRunner]:
    runner = ClientRunner(BOT_TOKEN)
    yield runner
    await runner.stop_all()


async def start(clients: ClientRunner, settings: Settings, count: int | None, ids: str = "") -> MidwayBot:
    sharded = settings.model_copy(update={"shard_count": count, "shard_ids": ids})
    bot = make_bot(sharded, settings.redis_url or "", catalogue=load_catalogue(settings.catalogue),
                   consumer_name=f"bot-test-{uuid.uuid4().hex[:8]}", throttle_s=0.05, queue_poll_s=0.3,
                   guild_ready_timeout=GUILD_READY_TIMEOUT_S)
    return await clients.start(bot)


async def imagine_in(pg: Playground, channel: str, prompt: str):
    ack = await (await pg.slash("imagine", user="alice", channel=channel, options={"prompt": prompt})).response()
    return ack, await result_for(pg, ack, channel=channel)


def syncs(pg: Playground) -> int:
    return sum(1 for request in pg.requests if request.route == SYNC)


async def test_two_processes_split_the_guilds_and_sync_the_commands_once(pg: Playground, worker, clients,
                                                                          settings) -> None:
    first = await start(clients, settings, 2, "0")
    second = await start(clients, settings, 2, "1")
    await pg.wait_until_commands_synced(names=["imagine"])
    assert [g.name for g in first.guilds] == ["Midway"] and [g.name for g in second.guilds] == ["Midway 2"]
    assert shard_of(second.guilds[0].id, 2) == 1
    assert syncs(pg) == 1

    for channel in ("general", "general-2"):
        ack, grid = await imagine_in(pg, channel, f"a fox in {channel}")
        assert grid.attachments and results_replying_to(pg, ack, channel) == [grid]


async def test_one_process_holds_several_shards_with_the_autosharded_client(pg: Playground, worker, clients,
                                                                             settings) -> None:
    bot = await start(clients, settings, 2)
    assert isinstance(bot, ShardedMidwayBot) and isinstance(bot, discord.AutoShardedClient)
    assert sorted(bot.shards) == [0, 1] and {g.name for g in bot.guilds} == {"Midway", "Midway 2"}
    await pg.wait_until_commands_synced(names=["imagine"])
    assert syncs(pg) == 1
    for channel in ("general", "general-2"):
        ack, grid = await imagine_in(pg, channel, "a heron")
        assert results_replying_to(pg, ack, channel) == [grid]


async def test_a_press_and_a_modal_submit_reaching_two_processes_make_one_job(pg: Playground, worker, clients,
                                                                              settings) -> None:
    """Two sessions on one shard (Discord hands a shard over this way): each press reaches both processes."""
    await start(clients, settings, None)
    alice = pg.user("alice").id
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a kite"})).response()
    grid = await result_for(pg, ack)
    jobs_before = {job.id for job in jobs_of_user(settings.redis_url or "", alice)}
    await start(clients, settings, None)

    await (await pg.click(grid.id, button(grid, "U2"), user="alice")).acked()
    single = await result_for(pg, grid)
    remix = await (await pg.click(grid.id, button(grid, "V3"), user="alice")).response()
    await (await pg.submit_modal(remix.custom_id, {"prompt": "a red kite"}, user="alice")).acked()
    await pg.wait_for_message("general", lambda m: "a red kite" in m.content and bool(m.attachments), timeout=60)

    made = [job for job in jobs_of_user(settings.redis_url or "", alice) if job.id not in jobs_before]
    assert sorted(job.spec.operation.value for job in made) == ["upscale", "variation"]
    assert [m.id for m in pg.messages("general") if "Image #2" in m.content] == [single.id]


async def test_a_missed_result_both_processes_sweep_at_once_is_delivered_and_counted_once(
        pg: Playground, worker, bots, clients, settings) -> None:
    ack, job_id = await finished_while_the_bot_was_down(pg, worker, bots, settings.redis_url, "a tern")
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        client.xtrim(keys.EVENTS_STREAM, maxlen=0, approximate=False)  # only the sweeps can find it now
    finally:
        client.close()
    processes = [await start(clients, settings, 2, "0"), await start(clients, settings, 2, "1")]
    job = await processes[0].backend.get(job_id)
    assert job is not None
    # Both processes' sweeps hand it over in the same instant (what bot/missed.py does every minute).
    for bot in processes:
        await bot.delivery.deliver_missed(job, missed.missed_event(job))
    await asyncio.gather(*(task for bot in processes for task in list(bot.delivery._tasks)))
    assert len(results_replying_to(pg, ack)) == 1
    # One delivery, not two that Discord's nonce merged into one message: /info's usage counts it once.
    usage = await processes[0].store.usage(str(pg.user("alice").id))
    assert (usage.jobs, usage.images) == (1, 4)
