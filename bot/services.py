"""What the commands and buttons use of the running bot, as a protocol they type against.

The handlers need the bot's settings, catalogue, Redis and delivery, but not the discord.Client that
holds them: typing them against MidwayBot would make every feature import the module that wires
them all together (bot/app.py). MidwayBot provides these (its setup_hook passes itself to
`setup_commands`, which mypy checks against this protocol).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

import discord

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from discord import app_commands

    from bot.ack_priority import AckPriority
    from bot.backend import Backend
    from bot.delivery import Delivery
    from bot.store import BotStore
    from midway.catalogue import Catalogue
    from midway.settings import Settings


class Services(Protocol):
    settings: Settings
    catalogue: Catalogue
    tree: app_commands.CommandTree[Any]
    aioredis: aioredis.Redis
    store: BotStore
    backend: Backend
    delivery: Delivery
    ack_priority: AckPriority

    def get_partial_messageable(self, id: int, *, guild_id: int | None = None,
                                type: discord.ChannelType | None = None) -> discord.PartialMessageable: ...


def services(interaction: discord.Interaction) -> Services:
    """The bot an interaction came to. Every interaction this process handles reaches the MidwayBot
    whose setup_hook registered the handlers, so this is its one cast."""
    return cast("Services", interaction.client)
