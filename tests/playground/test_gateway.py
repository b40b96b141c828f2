"""The gateway speaks Discord's protocol: HELLO, IDENTIFY, heartbeats, zlib-stream, RESUME, close codes."""

from __future__ import annotations

import json
import zlib

import aiohttp

from playground.driver import Playground
from tests.playground.minibot import TOKEN, MiniBot

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


class RawGateway:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inflate = zlib.decompressobj()
        self.frames: list[bytes] = []

    async def receive(self) -> dict:
        msg = await self.ws.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.BINARY:
            self.frames.append(msg.data)
            return json.loads(self.inflate.decompress(msg.data))
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def send(self, op: int, d: object) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))

    async def identify(self, token: str = TOKEN, intents: int = 513) -> None:
        await self.send(2, {"token": token, "intents": intents, "properties": {}})


async def _connect(session: aiohttp.ClientSession, pg: Playground, compress: bool = True) -> RawGateway:
    query = "?v=10&encoding=json" + ("&compress=zlib-stream" if compress else "")
    return RawGateway(await session.ws_connect(f"{pg.base_url}/gateway{query}"))


async def test_zlib_stream_hello_identify_ready_and_heartbeat(pg: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _connect(session, pg)
        hello = await gw.receive()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 1000
        await gw.identify()
        ready = await gw.receive()
        assert (ready["t"], ready["s"]) == ("READY", 1)
        assert ready["d"]["user"]["id"] == str(pg.world.bot.id) and ready["d"]["session_id"]
        guild = await gw.receive()
        assert guild["t"] == "GUILD_CREATE" and guild["d"]["name"] == "Midway"
        assert guild["d"]["member_count"] == len(guild["d"]["members"])
        await gw.send(1, 2)
        assert (await gw.receive())["op"] == 11
        assert all(frame.endswith(ZLIB_SUFFIX) for frame in gw.frames) and len(gw.frames) == 4


async def test_without_compression_frames_are_text(pg: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _connect(session, pg, compress=False)
        assert (await gw.receive())["op"] == 10 and gw.frames == []


async def test_a_bad_token_closes_with_4004(pg: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _connect(session, pg)
        await gw.receive()
        await gw.identify(token="wrong")
        msg = await gw.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4004


async def test_privileged_intents_can_be_refused_with_4014() -> None:
    async with Playground.start(bot_token=TOKEN, privileged_intents=False) as pg, aiohttp.ClientSession() as session:
        gw = await _connect(session, pg)
        await gw.receive()
        await gw.identify(intents=1 << 15)
        msg = await gw.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4014


async def test_resume_replays_what_was_missed(pg: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        gw = await _connect(session, pg)
        await gw.receive()
        await gw.identify()
        ready = await gw.receive()
        await gw.receive()
        await gw.ws.close()
        pg.world.add_message(_message(pg, pg.channel("general").id))
        gw = await _connect(session, pg)
        await gw.receive()
        await gw.send(6, {"token": TOKEN, "session_id": ready["d"]["session_id"], "seq": 2})
        missed = await gw.receive()
        assert (missed["t"], missed["s"], missed["d"]["content"]) == ("MESSAGE_CREATE", 3, "while away")
        assert (await gw.receive())["t"] == "RESUMED"
        gw2 = await _connect(session, pg)
        await gw2.receive()
        await gw2.send(6, {"token": TOKEN, "session_id": "unknown", "seq": 0})
        invalid = await gw2.receive()
        assert (invalid["op"], invalid["d"]) == (9, False)


def _message(pg: Playground, channel_id: int):
    from playground.state import Message

    return Message(id=pg.world.snowflake(), channel_id=channel_id, guild_id=pg.world.default_guild.id,
                   author=pg.user("alice"), content="while away")


async def test_discord_py_resumes_after_reconnect_request(pg: Playground, bot: MiniBot) -> None:
    [session] = pg.server.gateway.sessions.values()
    pg.server.gateway.request_reconnect()
    await pg.wait_until(lambda: any(f["t"] == "RESUMED" for f in session.buffer) or None, timeout=10)
    await pg.wait_until_connected()
    assert len(pg.server.gateway.sessions) == 1
    run = await pg.slash("echo", user="alice", channel="general", options={"text": "still here"})
    assert (await run.response()).content == "still here"


async def _identified(session: aiohttp.ClientSession, pg: Playground, intents: int) -> RawGateway:
    gw = await _connect(session, pg)
    await gw.receive()  # HELLO
    await gw.identify(intents=intents)
    assert (await gw.receive())["t"] == "READY"
    assert (await gw.receive())["t"] == "GUILD_CREATE"
    return gw


async def test_message_events_reach_only_sessions_with_the_guild_messages_intent(pg: Playground) -> None:
    from playground.messages import create_message

    guilds, guild_messages = 1 << 0, 1 << 9
    async with aiohttp.ClientSession() as session:
        listening = await _identified(session, pg, guilds | guild_messages)
        interactions_only = await _identified(session, pg, guilds)
        pg.add_user("carol")
        create_message(pg.world, pg.channel("general"), pg.user("carol"), {"content": "hello"}, [])
        pg.add_channel("later")  # CHANNEL_CREATE reaches every session
        created = await listening.receive()
        assert created["t"] == "MESSAGE_CREATE" and created["d"]["content"] == "hello"
        assert (await listening.receive())["t"] == "CHANNEL_CREATE"
        # Discord sends message events only for the intents a bot asked for; a Midway-style bot that
        # needs none of them is not flooded with every message in the server.
        assert (await interactions_only.receive())["t"] == "CHANNEL_CREATE"
