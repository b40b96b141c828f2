"""Real `midway bot` processes over 4 shards: every /imagine gets exactly one result, with two processes
reading the event stream, and still when one of them is killed (kill -9) while results are being posted.

Fewer jobs than bench/scale.py's 200 (which records the figures): the suite shares 2 CPU cores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.scale import (
    BOT_TOKEN,
    BotFleet,
    fleet_env,
    imagine_burst,
    pending_of,
    tally,
    wait_for_fleet,
    wait_for_results,
)
from playground.connect import restore_discord
from playground.driver import Playground
from playground.state import add_sharded_guilds, default_world, wait_until

pytestmark = pytest.mark.slow

SHARDS = 4
JOBS = 40
CHANNELS = ["general", "general-2", "general-3", "general-4"]  # one guild on each shard


@pytest.fixture
async def pg() -> AsyncIterator[Playground]:
    world = default_world()
    add_sharded_guilds(world, SHARDS - 1, shard_count=SHARDS)
    # A generous deadline: on 2 shared cores a slow ack is bench/'s business, not a lost job's.
    async with Playground.start(port=0, bot_token=BOT_TOKEN, world=world, ack_deadline_s=30.0) as playground:
        yield playground
    restore_discord()


@pytest.fixture
async def fleet(pg: Playground, stack: dict[str, str], worker, tmp_path: Path) -> AsyncIterator[BotFleet]:
    env = fleet_env(stack["redis_url"], Path(stack["catalogue"]), engine="tiny2", claim_idle_s=1.0)
    env["MIDWAY_STATE_DIR"] = stack["state_dir"]
    bots = BotFleet(pg.base_url, env, processes=2, shards=SHARDS, log_dir=tmp_path)
    bots.start()
    try:
        await wait_for_fleet(pg, bots)
        yield bots
    finally:
        bots.stop()


async def test_two_bot_processes_post_every_result_once(pg: Playground, fleet: BotFleet) -> None:
    runs = await imagine_burst(pg, JOBS, CHANNELS, "two")
    result = await wait_for_results(pg, runs, timeout_s=120)
    assert (result.jobs, result.results, result.duplicates, result.lost) == (JOBS, JOBS, 0, 0)
    # Each guild's interactions were answered by the process holding its shard: all four shards served.
    assert {pg.world.messages[r.interaction.original_id].guild_id for r in runs} == set(pg.world.guilds)


async def test_a_bot_killed_mid_burst_leaves_no_result_lost_or_doubled(pg: Playground, fleet: BotFleet,
                                                                        stack: dict[str, str]) -> None:
    runs = await imagine_burst(pg, JOBS, CHANNELS, "kill")
    await wait_until(pg.world, lambda: True if tally(pg, runs).results >= JOBS // 4 else None, 120,
                     "the first results")
    fleet.kill(0)  # shards 0 and 2: what it read and never acknowledged is left pending
    left = pending_of(stack["redis_url"], fleet.consumer(0))
    result = await wait_for_results(pg, runs, timeout_s=120, settle_s=3.0)
    assert (result.results, result.duplicates, result.lost) == (JOBS, 0, 0)
    # The other process claimed every entry the dead one held (after MIDWAY_EVENT_CLAIM_IDLE_S = 1 s).
    assert left > 0 and pending_of(stack["redis_url"], fleet.consumer(0)) == 0
