"""The caps' holds in a real Redis (bot/holds.py): checked and held in one script call, swapped for the
job's listing by its submit, freed by a request given up, and lapsed when their bot died mid-request."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aioredis

from bot import holds
from bot.context import Reservation, read_context
from bot.holds import HoldRequest
from bot.policy import UserLoad
from midway import keys
from midway.contract import GenerationSpec, Job, Requester
from midway.jobs import JobStore
from midway.settings import Settings


@pytest.fixture
async def aio(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def ask(user: str, *jobs: tuple[str, float], limit: float = 4, hold: bool = True) -> HoldRequest:
    return HoldRequest(user, limit, tuple(jobs), hold=hold)


async def test_requests_arriving_together_fit_exactly_the_limit(aio) -> None:
    replies = await asyncio.gather(*(holds.hold(aio, ask("u", (f"j{i}", 1.0))) for i in range(6)))
    assert [reply.fits for reply in replies] == [True] * 4 + [False] * 2
    assert replies[-1].load == UserLoad(running=0, queued=4, units=4.0)


async def test_a_submit_swaps_the_hold_for_the_listed_job(aio, redis_url) -> None:
    job = Job(spec=GenerationSpec(prompt="a kite", engine="tiny", draft=True), requester=Requester(user_id="u"),
              cost=0.5)
    assert (await holds.hold(aio, ask("u", (job.id, 0.5)))).fits
    client = redis.Redis.from_url(redis_url)
    JobStore(client, Settings(redis_url=redis_url)).submit_many([job], list_for_user=True)
    assert client.hlen(keys.user_holds_key("u")) == 0
    client.close()
    # Counted once, as a listed job at its cost; 3.5 more fit, 4 do not.
    check = await holds.hold(aio, ask("u", ("other", 3.5), hold=False))
    assert check.fits and check.load == UserLoad(running=0, queued=1, units=0.5)
    assert not (await holds.hold(aio, ask("u", ("other", 3.6), hold=False))).fits


async def test_a_request_given_up_frees_its_places_and_a_check_only_holds_nothing(aio) -> None:
    assert (await holds.hold(aio, ask("u", ("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0)))).fits
    assert not (await holds.hold(aio, ask("u", ("e", 1.0), hold=False))).fits
    await holds.release(aio, "u", ["c", "d"])
    assert (await holds.hold(aio, ask("u", ("e", 1.0), ("f", 1.0), hold=False))).fits
    assert not await aio.hexists(keys.user_holds_key("u"), "e")


async def test_a_batch_checked_again_counts_its_own_holds_once(aio) -> None:
    batch = [(f"b{i}", 1.0) for i in range(3)]
    assert (await holds.hold(aio, ask("u", *batch))).fits
    # A second Yes of the same batch: its jobs are already held, by these very ids.
    assert (await holds.hold(aio, ask("u", *batch))).fits
    assert not (await holds.hold(aio, ask("u", ("other", 1.0), ("more", 1.0)))).fits


async def test_the_holds_of_a_bot_killed_mid_request_lapse(aio) -> None:
    # What a bot that died between its check and its submits leaves: holds whose expiry has passed.
    await aio.hset(keys.user_holds_key("u"), mapping={f"dead{i}": "1000 1000" for i in range(4)})
    reply = await holds.hold(aio, ask("u", ("new", 1.0)))
    assert reply.fits and reply.load == UserLoad(running=0, queued=0, units=0.0)
    assert await aio.hkeys(keys.user_holds_key("u")) == [b"new"]
    assert 0 < await aio.pttl(keys.user_holds_key("u")) <= holds.HOLD_TTL_S * 1000


async def test_an_imagine_read_reserves_a_full_place_only_while_one_fits(aio) -> None:
    for number in range(3):
        assert (await holds.hold(aio, ask("u", (f"j{number}", 1.0)))).fits
    read = await read_context(aio, "u", "c", None, reserve=Reservation("r1", 4))
    assert read.reserved == "r1" and read.load == UserLoad(running=0, queued=3, units=3.0)
    # The last place is taken by that reservation: the next read counts it and reserves nothing.
    late = await read_context(aio, "u", "c", None, reserve=Reservation("r2", 4))
    assert late.reserved is None and late.load.cost == 4
    assert not (await holds.hold(aio, ask("u", ("draft", 0.5), hold=False))).fits
    await holds.release(aio, "u", ["r1"])
    assert (await holds.hold(aio, ask("u", ("draft", 0.5), hold=False))).fits
