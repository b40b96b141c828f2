"""The Midway Discord bot: a discord.Client whose setup_hook does all the async wiring.

No privileged intents: slash commands, buttons and modals arrive as interactions, which need none
(we do not read message content or member lists). Start-up connects Redis, registers the persistent
buttons, syncs the slash commands and starts delivering events; nothing connects at import.

Sharded (midway/sharding.py), a process holding one shard is a `MidwayBot` that identifies as that shard,
and one holding several is a `ShardedMidwayBot` (discord.py's AutoShardedClient under the same class);
`make_bot` picks. Only the process holding shard 0 syncs the slash commands.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import discord
from discord import app_commands

from bot.ack_priority import AckPriority
from bot.backend import Backend
from bot.commands import setup_commands
from bot.delivery import Delivery
from bot.errors import on_app_command_error
from bot.executor import prestarted_executor
from bot.observability import install_rate_limit_counter
from bot.routing import route_modal_submit, route_press
from bot.store import BotStore
from midway.catalogue import Catalogue, load_catalogue
from midway.redis_clients import async_redis
from midway.settings import Settings
from midway.sharding import ShardSet

log = logging.getLogger(__name__)


def default_consumer_name(shards: ShardSet | None = None) -> str:
    # Stable across restarts of the same bot, so un-acked entries come back to it; unique per process
    # of one host (its shards), or two processes would read each other's pending entries as their own.
    base = os.environ.get("MIDWAY_BOT_CONSUMER") or f"bot-{socket.gethostname()}"
    return "-".join(filter(None, [base, shards.label if shards is not None else ""]))


class MidwayBot(discord.Client):
    def __init__(self, settings: Settings, redis_url: str, *, catalogue: Catalogue | None = None,
                 consumer_name: str | None = None, throttle_s: float = 1.0, queue_poll_s: float = 2.0,
                 freeze_gc: bool = False, **client_options: Any) -> None:
        # Prompts are user text echoed into public messages: by default nothing in them pings (no
        # @everyone, roles or users); a result names its requester explicitly (bot/delivery.py).
        # `client_options` go to discord.Client as they are: the tests shorten `guild_ready_timeout`, which
        # otherwise holds every start ~2 s after the last GUILD_CREATE (production keeps discord.py's default).
        super().__init__(intents=discord.Intents.none() | discord.Intents(guilds=True),
                         allowed_mentions=discord.AllowedMentions.none(), **client_options)
        self.settings = settings
        self.redis_url = redis_url
        self.catalogue = catalogue or load_catalogue()
        self.consumer_name = consumer_name or default_consumer_name(settings.shards)
        self.throttle_s = throttle_s
        self.queue_poll_s = queue_poll_s
        # A process of its own (`midway bot`) freezes its start-up objects out of the GC (ops/gc_tuning.py).
        self.freeze_gc = freeze_gc
        self.tree = app_commands.CommandTree(self)
        self.tree.error(on_app_command_error)
        self._delivery_task: asyncio.Task | None = None
        self.ack_priority = AckPriority()

    async def setup_hook(self) -> None:
        # A blocking pool: under a burst of interactions a command waits for a free connection instead
        # of failing with "Too many connections" (redis-py's default pool raises past 100), which
        # Discord would show as "The application did not respond".
        self.aioredis = async_redis(self.redis_url, max_connections=64, timeout=5)
        # Backend runs the synchronous job runtime in threads; the default executor has only
        # cpu_count + 4 of them, which queues a burst of /imagine behind a handful of Redis calls.
        # Started now, not one by one from the loop in the middle of the first burst (bot/executor.py).
        asyncio.get_running_loop().set_default_executor(prestarted_executor(32, "midway-redis"))
        self.store = BotStore(self.aioredis)
        self.backend = Backend(self.settings, self.redis_url, busy=self.ack_priority.busy)
        self.delivery = Delivery(self, self.backend, self.store, self.consumer_name,
                                 throttle_s=self.throttle_s, queue_poll_s=self.queue_poll_s)
        install_rate_limit_counter()
        setup_commands(self)
        if self.settings.shards.syncs_commands:
            await self.tree.sync()
        else:
            # Global commands, one overwrite for the whole application: the process holding shard 0 does it.
            log.info("not syncing slash commands: the process holding shard 0 does")
        self._delivery_task = asyncio.create_task(self.delivery.run(), name="midway-delivery")
        if self.freeze_gc:
            from ops.gc_tuning import freeze_startup_objects

            freeze_startup_objects()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.ack_priority.arrived(interaction)
        if interaction.type is discord.InteractionType.component:
            # Persistent buttons: any press, on any message however old, is routed by its custom_id.
            await route_press(interaction)
        elif interaction.type is discord.InteractionType.modal_submit:
            # Modals are routed the same way, so one opened before a restart is answered after it.
            await route_modal_submit(interaction)

    async def close(self) -> None:
        if self._delivery_task is not None:
            await self.delivery.stop()
            self._delivery_task.cancel()
            await asyncio.gather(self._delivery_task, return_exceptions=True)
        await super().close()
        if hasattr(self, "aioredis"):
            await self.backend.drain()
            await self.aioredis.aclose()
            self.backend.close()


class ShardedMidwayBot(MidwayBot, discord.AutoShardedClient):
    """The same bot over several shards in one process: MidwayBot's `super()` is AutoShardedClient."""


def make_bot(settings: Settings, redis_url: str, **options: Any) -> MidwayBot:
    """The bot for `settings.shards`: unsharded, one shard (Client with shard_id), or several (AutoSharded)."""
    shards = settings.shards
    if not shards.sharded:
        return MidwayBot(settings, redis_url, **options)
    if len(shards.held) == 1:
        return MidwayBot(settings, redis_url, shard_id=shards.held[0], shard_count=shards.count, **options)
    return ShardedMidwayBot(settings, redis_url, shard_ids=list(shards.held), shard_count=shards.count, **options)
