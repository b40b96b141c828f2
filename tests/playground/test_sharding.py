"""The gateway shards like Discord: IDENTIFY's shard picks the guilds, a guild's events reach only its
shard, bad shards close with 4010, too many guilds on one session with 4011, /gateway/bot recommends;
intents that are no valid bit set close with 4013."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from playground.driver import Playground
from playground.interactions import COMMAND
from playground.state import add_sharded_guilds, default_world, shard_of
from tests.playground.minibot import TOKEN
from tests.playground.test_gateway import RawGateway, _connect

SHARDS = 4


@pytest.fixture
async def sharded() -> AsyncIterator[Playground]:
    world = default_world()
    add_sharded_guilds(world, SHARDS - 1, shard_count=SHARDS)  # one guild per shard, the default on 0
    async with Playground.start(port=0, bot_token=TOKEN, world=world, heartbeat_ms=1000) as playground:
        yield playground


async def _identify(session: aiohttp.ClientSession, pg: Playground, shard: object) -> RawGateway:
    gw = await _connect(session, pg, compress=False)
    await gw.receive()  # HELLO
    payload = {"token": TOKEN, "intents": 513, "properties": {}}
    await gw.send(2, payload if shard is None else payload | {"shard": shard})
    return gw


async def _guild_creates(gw: RawGateway, expected: int) -> set[int]:
    ready = await gw.receive()
    assert ready["t"] == "READY"
    seen = {int(g["id"]) for g in ready["d"]["guilds"]}
    creates = {int((await gw.receive())["d"]["id"]) for _ in range(expected)}
    assert creates == seen
    return creates


async def test_each_shard_gets_only_its_guilds(sharded: Playground) -> None:
    guilds = list(sharded.world.guilds)
    assert sorted(shard_of(g, SHARDS) for g in guilds) == [0, 1, 2, 3]
    async with aiohttp.ClientSession() as session:
        for shard_id in range(SHARDS):
            gw = await _identify(session, sharded, [shard_id, SHARDS])
            held = await _guild_creates(gw, 1)
            assert [shard_of(g, SHARDS) for g in held] == [shard_id]


async def test_a_guilds_interaction_reaches_only_its_shard(sharded: Playground) -> None:
    world = sharded.world
    async with aiohttp.ClientSession() as session:
        gateways = [await _identify(session, sharded, [i, SHARDS]) for i in range(SHARDS)]
        for gw in gateways:
            await _guild_creates(gw, 1)
        channel = world.channel_named("general-3")
        target = shard_of(channel.guild_id, SHARDS)
        sharded.server.desk.start(COMMAND, world.user_named("alice"), channel, {"name": "ping", "type": 1})
        frame = await gateways[target].receive()
        assert frame["t"] == "INTERACTION_CREATE" and frame["d"]["guild_id"] == str(channel.guild_id)
        for other in (gw for i, gw in enumerate(gateways) if i != target):
            with pytest.raises(TimeoutError):
                await other.ws.receive(timeout=0.3)


@pytest.mark.parametrize("shard", [[4, 4], [-1, 2], [0, 0], ["0", 2], [0]])
async def test_an_invalid_shard_closes_with_4010(sharded: Playground, shard: list) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _identify(session, sharded, shard)
        msg = await gw.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4010


async def test_a_shard_count_other_sessions_do_not_share_closes_with_4010(sharded: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        first = await _identify(session, sharded, [0, SHARDS])
        await _guild_creates(first, 1)
        second = await _identify(session, sharded, [1, 2])
        msg = await second.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4010


async def test_too_many_guilds_without_sharding_closes_with_4011_and_gateway_bot_recommends(
        sharded: Playground) -> None:
    sharded.world.guilds_per_shard = 2
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sharded.base_url}/api/v10/gateway/bot",
                               headers={"Authorization": f"Bot {TOKEN}"}) as response:
            body = await response.json()
        assert body["shards"] == 2 and body["url"].endswith("/gateway")
        gw = await _identify(session, sharded, None)
        msg = await gw.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4011
        # Two shards hold two guilds each: accepted.
        ok = await _identify(session, sharded, [0, 2])
        await _guild_creates(ok, 2)


async def test_unsharded_session_holds_every_guild(sharded: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _identify(session, sharded, None)
        assert await _guild_creates(gw, SHARDS) == set(sharded.world.guilds)


@pytest.mark.parametrize("intents", [-1, 1 << 40, "513"])
async def test_invalid_intents_close_with_4013(pg: Playground, intents: object) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _connect(session, pg, compress=False)
        await gw.receive()  # HELLO
        await gw.send(2, {"token": TOKEN, "intents": intents, "properties": {}})
        msg = await gw.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4013
