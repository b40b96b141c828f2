"""The playground's world: guilds, channels, roles, members, messages and attachments, in memory.

Everything the emulator knows lives in one `World`. It has no I/O: the REST routes, the gateway and
the drivers read and change it, and it tells its listeners (gateway, SSE, waiting tests) about every
message created, edited or deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from midway import discord_limits as limits
from playground.mentions import Pings

T = TypeVar("T")

DISCORD_EPOCH_MS = 1420070400000
# Discord recommends one shard per 1000 guilds (docs: gateway "Sharding"); tests lower it to force several.
GUILDS_PER_SHARD = 1000
# Permissions Discord gives @everyone by default (view, send, embed, attach, history, use commands...).
EVERYONE_PERMISSIONS = 0x0000_0006_3BF7_FE41 & ~limits.PERMISSION_ADMINISTRATOR
ALL_PERMISSIONS = (1 << 51) - 1


class Clock:
    """Monotonic time that tests can move forward (token expiry without waiting 15 minutes)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def utcnow(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class User:
    id: int
    name: str
    bot: bool = False


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0


@dataclass
class Channel:
    id: int
    name: str
    guild_id: int
    position: int = 0
    type: int = 0  # GUILD_TEXT
    # Age-restricted: Discord's `nsfw` flag, which discord.py reads as `channel.is_nsfw()`.
    nsfw: bool = False


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)  # user id -> role ids
    channels: dict[int, Channel] = field(default_factory=dict)

    def permissions_of(self, user_id: int) -> int:
        """Discord's base permissions: @everyone | member roles; owner and Administrator get all."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        bits = self.roles[self.id].permissions
        for role_id in self.members.get(user_id, []):
            bits |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if bits & limits.PERMISSION_ADMINISTRATOR else bits

    def is_admin(self, user_id: int) -> bool:
        return bool(self.permissions_of(user_id) & limits.PERMISSION_ADMINISTRATOR)


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes = field(repr=False)
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    reference_id: int | None = None
    edits: int = 0
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    edited_at: dt.datetime | None = None
    ephemeral_for: int | None = None  # user id that alone sees it
    # "Dismiss message" on an ephemeral message: gone from its user's view, still there for the bot's edits.
    dismissed: bool = False
    interaction: dict[str, Any] | None = None  # interaction_metadata when an interaction made it
    type: int = 0
    webhook_id: int | None = None
    nonce: str | None = None  # echoed back by Create Message (and MESSAGE_CREATE), as Discord does
    pings: Pings = field(default_factory=Pings)  # who the content pinged (playground/mentions.py)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every component inside the action rows, flattened (what a user can click)."""
        return [child for row in self.components for child in row.get("components", [])]

    @property
    def custom_ids(self) -> list[str]:
        return [b["custom_id"] for b in self.buttons if "custom_id" in b]

    @property
    def loading(self) -> bool:
        return bool(self.flags & limits.FLAG_LOADING)


@dataclass
class WorldEvent:
    """What listeners hear: "message", "message_delete", "modal", "state" or "interaction"."""

    kind: str
    channel_id: int | None = None
    message: Message | None = None
    created: bool = False
    data: dict[str, Any] = field(default_factory=dict)


class World:
    """All of the emulator's state, plus listeners that hear about changes."""

    def __init__(self, bot_name: str = "Midway", clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._sequence = itertools.count(1)
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}
        self.listeners: list[Callable[[WorldEvent], None]] = []
        self.base_url = ""
        self.bot = self.add_user(bot_name, bot=True)
        self.application_id = self.bot.id
        # Most guilds one gateway session may hold: more makes IDENTIFY fail with 4011 (sharding required).
        self.guilds_per_shard = GUILDS_PER_SHARD

    def snowflake(self, *, shard: tuple[int, int] | None = None) -> int:
        """A new snowflake; with `shard=(id, count)`, one whose guild lands on that shard (the timestamp
        bits are what Discord's `(guild_id >> 22) % count` reads, so they are moved forward a few ms)."""
        ms = int(self.clock.utcnow().timestamp() * 1000) - DISCORD_EPOCH_MS
        if shard is not None:
            shard_id, count = shard
            ms += (shard_id - ms) % count
        return (ms << 22) | (next(self._sequence) & 0x3FFFFF)

    @property
    def recommended_shards(self) -> int:
        """What GET /gateway/bot answers: enough shards that none holds more than guilds_per_shard."""
        return max(1, math.ceil(len(self.guilds) / self.guilds_per_shard))

    # -- building the world ---------------------------------------------------------------------------
    def add_user(self, name: str, *, bot: bool = False) -> User:
        user = User(self.snowflake(), name, bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: User, *, shard: tuple[int, int] | None = None) -> Guild:
        guild = Guild(self.snowflake(shard=shard), name, owner.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", EVERYONE_PERMISSIONS)
        self.guilds[guild.id] = guild
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        role = Role(self.snowflake(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_channel(self, guild: Guild, name: str, *, nsfw: bool = False) -> Channel:
        channel = Channel(self.snowflake(), name, guild.id, position=len(guild.channels), nsfw=nsfw)
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.emit(WorldEvent("state"))
        return channel

    def add_member(self, guild: Guild, user: User, roles: list[Role] | None = None) -> None:
        guild.members[user.id] = [role.id for role in roles or []]
        self.emit(WorldEvent("state"))

    # -- lookups --------------------------------------------------------------------------------------
    def user_named(self, name: str) -> User:
        for user in self.users.values():
            if user.name == name:
                return user
        raise KeyError(f"no user named {name!r}")

    def channel_named(self, name: str) -> Channel:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"no channel named {name!r}")

    @property
    def default_guild(self) -> Guild:
        return next(iter(self.guilds.values()))

    def guild_of(self, channel: Channel) -> Guild:
        return self.guilds[channel.guild_id]

    def channel_messages(self, channel_id: int, viewer: int | None = None) -> list[Message]:
        """Messages of a channel in order; ephemeral ones only for the user they belong to, until dismissed."""
        def visible(m: Message) -> bool:
            return m.ephemeral_for is None or (m.ephemeral_for == viewer and not m.dismissed)

        return [m for m in self.messages.values() if m.channel_id == channel_id and visible(m)]

    # -- messages -------------------------------------------------------------------------------------
    def add_message(self, message: Message) -> Message:
        self.messages[message.id] = message
        for attachment in message.attachments:
            self.attachments[attachment.id] = attachment
        self.emit(WorldEvent("message", message.channel_id, message, created=True))
        return message

    def touch_message(self, message: Message) -> None:
        """Record an edit: Discord bumps edited_timestamp on every edit."""
        message.edits += 1
        message.edited_at = self.clock.utcnow()
        for attachment in message.attachments:
            self.attachments[attachment.id] = attachment
        self.emit(WorldEvent("message", message.channel_id, message))

    def delete_message(self, message: Message) -> None:
        self.messages.pop(message.id, None)
        self.emit(WorldEvent("message_delete", message.channel_id, message))

    def dismiss_message(self, message: Message) -> None:
        """Its user dismissed an ephemeral message: their views drop it (a delete, for them alone)."""
        message.dismissed = True
        self.emit(WorldEvent("message_delete", message.channel_id, message))

    def emit(self, event: WorldEvent) -> None:
        for listener in list(self.listeners):
            listener(event)


def default_world(bot_name: str = "Midway", clock: Clock | None = None) -> World:
    """Guild "Midway" with #general and #art, an `admin` (Administrator) and a normal user `alice`."""
    world = World(bot_name, clock)
    admin = world.add_user("admin")
    alice = world.add_user("alice")
    # On shard 0 whatever the shard count (up to 8: 840 is their least common multiple), as a bot's first
    # guild is on Discord, so a sharded test knows where the default guild's events go.
    guild = world.add_guild("Midway", owner=admin, shard=(0, 840))
    admins = world.add_role(guild, "Admins", limits.PERMISSION_ADMINISTRATOR)
    bot_role = world.add_role(guild, bot_name, EVERYONE_PERMISSIONS)
    world.add_channel(guild, "general")
    world.add_channel(guild, "art")
    world.add_member(guild, admin, [admins])
    world.add_member(guild, alice)
    world.add_member(guild, world.bot, [bot_role])
    return world


def add_sharded_guilds(world: World, count: int, *, shard_count: int | None = None) -> list[Guild]:
    """`count` more guilds like the default one ("Midway 2" with #general-2 and #art-2, the same admin,
    alice and bot), the n-th on shard n % shard_count, so that a test's traffic crosses shards."""
    template = world.default_guild
    admin, alice = world.users[template.owner_id], world.user_named("alice")
    shards = shard_count or count + 1
    made = []
    for n in range(len(world.guilds), len(world.guilds) + count):
        guild = world.add_guild(f"Midway {n + 1}", owner=admin, shard=(n % shards, shards))
        admins = world.add_role(guild, "Admins", limits.PERMISSION_ADMINISTRATOR)
        bot_role = world.add_role(guild, world.bot.name, EVERYONE_PERMISSIONS)
        world.add_channel(guild, f"general-{n + 1}")
        world.add_channel(guild, f"art-{n + 1}")
        world.add_member(guild, admin, [admins])
        world.add_member(guild, alice)
        world.add_member(guild, world.bot, [bot_role])
        made.append(guild)
    return made


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a guild's events go to (docs: gateway "Sharding")."""
    return (guild_id >> 22) % shard_count


async def wait_until(world: World, check: Callable[[], T | None], timeout: float, what: str = "condition") -> T:
    """Return check()'s first non-None value, re-checking after every world event (and every 50 ms, for
    conditions outside the world, such as a bot's own state)."""
    changed = asyncio.Event()

    def listener(_: WorldEvent) -> None:
        changed.set()

    world.listeners.append(listener)
    try:
        async with asyncio.timeout(timeout):
            while True:
                changed.clear()
                value = check()
                if value is not None:
                    return value
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.05)
    except TimeoutError:
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None
    finally:
        world.listeners.remove(listener)
