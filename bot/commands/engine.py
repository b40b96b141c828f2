"""/engine set|show|list: which engine a channel's /imagine runs on (Manage Channels)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.guards import NOT_ADMIN, is_channel_admin
from bot.jobflow import ephemeral
from bot.listing import quoted
from bot.services import services
from midway.contract import Operation
from midway.discord_limits import AUTOCOMPLETE_CHOICES, CHOICE_NAME

if TYPE_CHECKING:
    from bot.services import Services

NO_WORKER = "no live worker"


def engine_lines(bot: Services, live: set[str], current: str) -> list[str]:
    lines = []
    for entry in bot.catalogue:
        marks = [mark for mark, on in (("this channel", entry.name == current), (NO_WORKER, entry.name not in live))
                 if on]
        suffix = f" ({', '.join(marks)})" if marks else ""
        references = f" References: {', '.join(entry.reference_features)}." if entry.reference_features else ""
        lines.append(f"`{entry.name}`{suffix}: {entry.description}{references}"[:300])
    return lines


def choice_label(name: str, live: set[str]) -> str:
    return (name if name in live else f"{name} ({NO_WORKER})")[:CHOICE_NAME]


engine_group = app_commands.Group(name="engine", description="Choose the engine this channel's /imagine uses",
                                  default_permissions=discord.Permissions(manage_channels=True), guild_only=True)


@engine_group.command(name="set", description="Use this engine for /imagine in this channel")
@app_commands.describe(engine="An engine from the catalogue")
async def engine_set(interaction: discord.Interaction, engine: str) -> None:
    bot = services(interaction)
    if not is_channel_admin(interaction):
        await ephemeral(interaction, NOT_ADMIN)
        return
    if engine not in bot.catalogue:
        await ephemeral(interaction, f"**Unknown engine**\n{quoted(engine, CHOICE_NAME)} is not in the catalogue; "
                                     f"choose one of: {', '.join(bot.catalogue.names())}.")
        return
    if Operation.imagine not in bot.catalogue.get(engine).capabilities:
        await ephemeral(interaction, f"**Not an image engine**\n`{engine}` cannot imagine images (it reads them, for "
                                     "/describe); choose an engine that draws.")
        return
    await bot.store.update_channel(str(interaction.channel_id), lambda c: setattr(c, "engine", engine))
    live = await bot.backend.live_engines()
    warning = "" if engine in live else f"\nNote: no worker serves `{engine}` right now; jobs will wait for one."
    await ephemeral(interaction, f"This channel now imagines with `{engine}`.{warning}")


@engine_set.autocomplete("engine")
async def engine_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot = services(interaction)
    live = await bot.backend.live_engines()
    names = [name for name in bot.catalogue.names() if current.lower() in name.lower()
             and Operation.imagine in bot.catalogue.get(name).capabilities]
    # Engines a worker serves first: those are the ones that will actually run.
    names.sort(key=lambda name: (name not in live, name))
    return [app_commands.Choice(name=choice_label(name, live), value=name) for name in names[:AUTOCOMPLETE_CHOICES]]


@engine_group.command(name="show", description="Show the engine this channel uses")
async def engine_show(interaction: discord.Interaction) -> None:
    bot = services(interaction)
    if not is_channel_admin(interaction):
        await ephemeral(interaction, NOT_ADMIN)
        return
    channel = await bot.store.channel(str(interaction.channel_id))
    current = channel.engine or bot.settings.default_engine
    source = "set for this channel" if channel.engine else "the server default"
    live = await bot.backend.live_engines()
    state = "" if current in live else f" ({NO_WORKER})"
    await ephemeral(interaction, f"This channel uses `{current}`{state}, {source}.")


@engine_group.command(name="list", description="List the engines in the catalogue")
async def engine_list(interaction: discord.Interaction) -> None:
    bot = services(interaction)
    if not is_channel_admin(interaction):
        await ephemeral(interaction, NOT_ADMIN)
        return
    channel = await bot.store.channel(str(interaction.channel_id))
    lines = engine_lines(bot, await bot.backend.live_engines(), channel.engine or bot.settings.default_engine)
    await ephemeral(interaction, "**Engines**\n" + "\n".join(lines)[:1900])


def setup(bot: Services) -> None:
    bot.tree.add_command(engine_group)
