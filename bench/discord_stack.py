"""The Discord side of a benchmark, in one event loop: the playground emulator, and either the real
Midway bot or a bare discord.py bot that acknowledges /imagine at once (the baseline). Both are the
unmodified discord.py client pointed at the emulator, started the way tests/bot starts them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

BOT_TOKEN = "midway-bench-token"
BOT_READY_TIMEOUT_S = 30.0
# How long discord.py waits after READY for more GUILD_CREATEs (its default is 2 s). The emulator sends
# its one guild at once; login is not what the benchmarks time, so they need not wait it out.
GUILD_READY_TIMEOUT_S = 0.2


class BareBot(discord.Client):
    """The fastest a discord.py bot can acknowledge /imagine or a button press: answer at once, touch
    nothing else."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.none(), guild_ready_timeout=GUILD_READY_TIMEOUT_S)
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="imagine", description="Create images from a prompt (bare baseline).")
        async def imagine(interaction: discord.Interaction, prompt: str) -> None:
            text = f"**{prompt}** - <@{interaction.user.id}> (Waiting to start)"
            await interaction.response.send_message(text)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        # A button press: the cheapest acknowledgement there is, "I got it, the message stays".
        if interaction.type is discord.InteractionType.component:
            await interaction.response.defer()


def midway_bot(redis_url: str, catalogue: Path | None = None, **options: Any) -> discord.Client:
    from bot.app import MidwayBot
    from midway.catalogue import load_catalogue
    from midway.settings import Settings

    settings = Settings(redis_url=redis_url, default_engine="tiny", blob_store="redis", heartbeat_s=0.5)
    return MidwayBot(settings, redis_url, catalogue=load_catalogue(catalogue), consumer_name="bench-bot",
                     guild_ready_timeout=GUILD_READY_TIMEOUT_S, **options)


@contextlib.asynccontextmanager
async def playground() -> AsyncIterator:
    from playground.connect import restore_discord
    from playground.driver import Playground

    # Discord's own 3 s deadline would turn slow acks into failures; measure them instead (and count
    # how many would have missed it).
    async with Playground.start(port=0, bot_token=BOT_TOKEN, ack_deadline_s=60.0) as pg:
        pg.point_client()
        try:
            yield pg
        finally:
            restore_discord()


@contextlib.asynccontextmanager
async def running(pg, bot: discord.Client) -> AsyncIterator[discord.Client]:
    """Log `bot` in to the playground; yields once it is ready and its commands are synced."""
    from playground.clients import logged_in

    async with logged_in(bot, BOT_TOKEN, ready_timeout_s=BOT_READY_TIMEOUT_S):
        await pg.wait_until_commands_synced(names=["imagine"])
        yield bot
