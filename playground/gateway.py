"""The Gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME, dispatches.

One `Session` per IDENTIFY keeps its sequence number and a replay buffer, so a client that reconnects
with RESUME gets what it missed (docs: gateway "Resuming"). Each socket has one writer task, the only
sender on it, because zlib-stream compresses every frame with one shared context and the bytes must
reach the client in the order they were compressed.

Sharding works as on Discord (docs: gateway "Sharding"): IDENTIFY's `shard: [id, count]` picks the
guilds a session holds, `(guild_id >> 22) % count == id`, and a guild's events (GUILD_CREATE,
INTERACTION_CREATE, MESSAGE_*, CHANNEL_CREATE) reach only that session; events of no guild go to shard
0. A shard outside its count, or a count other live sessions do not share, is closed with 4010; a
session that would hold more than `world.guilds_per_shard` guilds with 4011 (sharding required).
Intents that are no valid bit set are closed with 4013, privileged ones the app may not use with 4014.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from playground.payloads import guild_create_payload, message_payload, user_payload
from playground.state import World, WorldEvent, shard_of

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS = 0, 1, 2, 6, 7, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
# Message events in guild channels reach only sessions that asked for them (docs: Gateway Intents).
GUILD_MESSAGES_INTENT = 1 << 9
MESSAGE_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"})
REPLAY_BUFFER = 1000
INVALID_SHARD, SHARDING_REQUIRED, INVALID_INTENTS = 4010, 4011, 4013
ALL_INTENTS = (1 << 26) - 1  # every intent bit Discord defines (docs: Gateway Intents), up to 1 << 25


class Connection:
    """One websocket; frames queue here and a single writer sends them (compressed when asked)."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj() if compress else None
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def send(self, frame: dict[str, Any]) -> None:
        self.queue.put_nowait(frame)

    async def write_forever(self) -> None:
        while (frame := await self.queue.get()) is not None:
            text = json.dumps(frame, separators=(",", ":"))
            if self.compressor is None:
                await self.ws.send_str(text)
            else:
                # zlib-stream: one context per connection, each frame ends with a sync flush (00 00 ff ff).
                data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)


class Session:
    def __init__(self, user_id: int, intents: int = 0, shard: tuple[int, int] = (0, 1)) -> None:
        self.id = secrets.token_hex(16)
        self.user_id = user_id
        self.intents = intents
        self.shard = shard
        self.seq = 0
        self.buffer: deque[dict[str, Any]] = deque(maxlen=REPLAY_BUFFER)
        self.connection: Connection | None = None

    def wants(self, event: str) -> bool:
        return event not in MESSAGE_EVENTS or bool(self.intents & GUILD_MESSAGES_INTENT)

    def holds(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives the events of `guild_id` (those of no guild: shard 0)."""
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        if not self.wants(event):
            return
        self.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append(frame)
        if self.connection is not None:
            self.connection.send(frame)


class Gateway:
    def __init__(self, world: World, token_ok: Callable[[str], bool], *, heartbeat_ms: int = 41250,
                 privileged_intents: bool = True) -> None:
        self.world = world
        self.token_ok = token_ok
        self.heartbeat_ms = heartbeat_ms
        self.privileged_intents = privileged_intents
        self.sessions: dict[str, Session] = {}
        self.identified = asyncio.Event()
        world.listeners.append(self._on_world_event)

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self.sessions.values())

    def dispatch(self, event: str, data: dict[str, Any] | Callable[[], dict[str, Any]], *,
                 guild_id: int | None = None) -> None:
        """Send `event` to every session that asked for it and holds its guild (`guild_id`, else the payload's
        `guild_id`); `data` may be built lazily, only when one did."""
        if guild_id is None and isinstance(data, dict) and data.get("guild_id"):
            guild_id = int(data["guild_id"])
        sessions = [session for session in self.sessions.values() if session.wants(event) and session.holds(guild_id)]
        if not sessions:
            return
        payload = data() if callable(data) else data
        for session in sessions:
            session.dispatch(event, payload)

    def _on_world_event(self, event: WorldEvent) -> None:
        message = event.message
        # Ephemeral messages exist only for their user; the bot's gateway never sees them.
        if message is None or message.ephemeral_for is not None:
            return
        if event.kind == "message":
            name = "MESSAGE_CREATE" if event.created else "MESSAGE_UPDATE"
            self.dispatch(name, lambda: message_payload(self.world, message), guild_id=message.guild_id)
        elif event.kind == "message_delete":
            self.dispatch("MESSAGE_DELETE", {"id": str(message.id), "channel_id": str(message.channel_id),
                                             "guild_id": str(message.guild_id)})

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every client: they close and RESUME."""
        for session in self.sessions.values():
            if session.connection is not None:
                session.connection.send({"op": RECONNECT, "d": None, "s": None, "t": None})

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = Connection(ws, request.query.get("compress") == "zlib-stream")
        writer = asyncio.create_task(connection.write_forever())
        connection.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_ms}, "s": None, "t": None})
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                session = await self._receive(ws, connection, session, json.loads(msg.data))
        finally:
            if session is not None and session.connection is connection:
                session.connection = None
                self.world.emit(WorldEvent("state"))
            connection.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 1.0)
            writer.cancel()
        return ws

    async def _receive(self, ws: web.WebSocketResponse, connection: Connection, session: Session | None,
                       frame: dict[str, Any]) -> Session | None:
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            connection.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            if session is not None:
                await ws.close(code=4005, message=b"Already authenticated")
                return session
            return await self._identify(ws, connection, data or {})
        elif op == RESUME:
            return self._resume(connection, data or {})
        elif op == REQUEST_MEMBERS and session is not None:
            self._send_members(session, data or {})
        elif op not in (3, 4):  # presence and voice updates are accepted and ignored
            await ws.close(code=4001, message=b"Unknown opcode")
        return session

    async def _identify(self, ws: web.WebSocketResponse, connection: Connection,
                        data: dict[str, Any]) -> Session | None:
        if not self.token_ok(str(data.get("token", ""))):
            await ws.close(code=4004, message=b"Authentication failed")
            return None
        intents = data.get("intents", 0)
        if type(intents) is not int or intents < 0 or intents & ~ALL_INTENTS:
            await ws.close(code=INVALID_INTENTS, message=b"Invalid intent(s)")
            return None
        if intents & PRIVILEGED_INTENTS and not self.privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s)")
            return None
        shard, problem = self._shard_of_identify(data.get("shard"))
        if problem is not None:
            code, reason = problem
            await ws.close(code=code, message=reason.encode())
            return None
        session = Session(self.world.bot.id, int(data.get("intents") or 0), shard)
        session.connection = connection
        self.sessions[session.id] = session
        session.dispatch("READY", self._ready(session))
        for guild in self._guilds_of(session):
            session.dispatch("GUILD_CREATE", guild_create_payload(self.world, guild))
        self.identified.set()
        self.world.emit(WorldEvent("state"))
        return session

    def _shard_of_identify(self, shard: Any) -> tuple[tuple[int, int], tuple[int, str] | None]:
        """IDENTIFY's `shard` checked: (id, count), and the close code and reason when it is refused."""
        if shard is None:
            wanted = (0, 1)
        elif (isinstance(shard, list) and len(shard) == 2 and all(type(n) is int for n in shard)
              and 0 <= shard[0] < shard[1]):
            wanted = (shard[0], shard[1])
        else:
            return (0, 1), (INVALID_SHARD, f"Invalid shard {shard!r}")
        counts = {s.shard[1] for s in self.sessions.values() if s.connection is not None}
        if counts and counts != {wanted[1]}:
            return wanted, (INVALID_SHARD, f"Invalid shard: count {wanted[1]}, other sessions use {sorted(counts)}")
        held = sum(1 for guild_id in self.world.guilds if shard_of(guild_id, wanted[1]) == wanted[0])
        if held > self.world.guilds_per_shard:
            return wanted, (SHARDING_REQUIRED, f"Sharding required: {held} guilds on one shard, "
                                               f"at most {self.world.guilds_per_shard}")
        return wanted, None

    def _guilds_of(self, session: Session) -> list[Any]:
        return [guild for guild in self.world.guilds.values() if session.holds(guild.id)]

    def _ready(self, session: Session) -> dict[str, Any]:
        resume_url = self.world.base_url.replace("http", "ws", 1) + "/gateway"
        return {
            "v": 10, "user": user_payload(self.world.bot) | {"verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self._guilds_of(session)],
            "session_id": session.id, "session_type": "normal", "resume_gateway_url": resume_url,
            "shard": list(session.shard), "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [], "relationships": [],
        }

    def _resume(self, connection: Connection, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not self.token_ok(str(data.get("token", ""))):
            connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return None
        session.connection = connection
        seen = int(data.get("seq") or 0)
        for frame in session.buffer:
            if frame["s"] > seen:
                connection.send(frame)
        session.dispatch("RESUMED", {})
        return session

    def _send_members(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or not session.holds(guild.id):
            return
        members = guild_create_payload(self.world, guild)["members"]
        session.dispatch("GUILD_MEMBERS_CHUNK", {"guild_id": str(guild.id), "members": members,
                                                 "chunk_index": 0, "chunk_count": 1, "nonce": data.get("nonce")})

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            if session.connection is not None:
                with contextlib.suppress(Exception):
                    await session.connection.ws.close(code=1001)
