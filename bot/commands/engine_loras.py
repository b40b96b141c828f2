"""/engine lora add|remove|list: which catalogue LoRAs `--lora` may name in this channel (Manage Channels).

The allow list lives beside the channel's engine choice (ChannelSettings.loras): a LoRA changes what a
channel's images look like as much as its engine does, so the same admins decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.commands.engine import engine_group
from bot.guards import NOT_ADMIN, is_channel_admin
from bot.jobflow import ephemeral
from bot.listing import fit, quoted
from bot.planning import engine_for
from bot.services import services
from midway.discord_limits import AUTOCOMPLETE_CHOICES, CHOICE_NAME
from midway.loras import LoraEntry

if TYPE_CHECKING:
    from bot.services import Services

lora_group = app_commands.Group(name="lora", description="Choose the LoRAs /imagine may use in this channel",
                                parent=engine_group)


def lora_line(entry: LoraEntry, allowed: bool) -> str:
    words = f"; trigger words: {', '.join(entry.trigger_words)}" if entry.trigger_words else ""
    mark = " (allowed here)" if allowed else ""
    return (f"`{entry.name}`{mark}, for {'/'.join(entry.families)} engines, weight {entry.weight:g}{words}"
            f"{': ' + entry.description if entry.description else ''}")[:300]


async def _admin(interaction: discord.Interaction) -> bool:
    if is_channel_admin(interaction):
        return True
    await ephemeral(interaction, NOT_ADMIN)
    return False


@lora_group.command(name="add", description="Allow a LoRA in this channel's /imagine")
@app_commands.describe(lora="A LoRA from the catalogue")
async def lora_add(interaction: discord.Interaction, lora: str) -> None:
    bot = services(interaction)
    if not await _admin(interaction):
        return
    entry = bot.catalogue.loras.get(lora.strip().lower())
    if entry is None:
        known = ", ".join(f"`{name}`" for name in sorted(bot.catalogue.loras)) or "none"
        await ephemeral(interaction, f"**Unknown LoRA**\n{quoted(lora, CHOICE_NAME)} is not in the catalogue; its "
                                     f"LoRAs: {known}.")
        return
    channel = await bot.store.update_channel(
        str(interaction.channel_id), lambda c: c.loras.append(entry.name) if entry.name not in c.loras else None)
    engine = engine_for(channel, bot.settings)
    family = bot.catalogue.get(engine).family if engine in bot.catalogue else ""
    warning = "" if family in entry.families else (
        f"\nNote: it fits {'/'.join(entry.families)} engines; this channel's engine `{engine}` is not one, so "
        "prompts here cannot use it until `/engine set` picks one that is.")
    await ephemeral(interaction, f"`--lora {entry.name}` is now allowed in this channel.{warning}")


@lora_group.command(name="remove", description="Stop allowing a LoRA in this channel")
@app_commands.describe(lora="A LoRA allowed in this channel")
async def lora_remove(interaction: discord.Interaction, lora: str) -> None:
    bot = services(interaction)
    if not await _admin(interaction):
        return
    name = lora.strip().lower()
    channel = await bot.store.channel(str(interaction.channel_id))
    if name not in channel.loras:
        await ephemeral(interaction, f"**Not allowed here**\n{quoted(lora, CHOICE_NAME)} is not allowed in this "
                                     "channel, so there is nothing to remove.")
        return
    await bot.store.update_channel(str(interaction.channel_id), lambda c: c.loras.remove(name))
    await ephemeral(interaction, f"`--lora {name}` is no longer allowed in this channel (jobs made with it keep it "
                                 "for their buttons).")


@lora_group.command(name="list", description="List the catalogue's LoRAs and those allowed here")
async def lora_list(interaction: discord.Interaction) -> None:
    bot = services(interaction)
    if not await _admin(interaction):
        return
    channel = await bot.store.channel(str(interaction.channel_id))
    if not bot.catalogue.loras:
        await ephemeral(interaction, "**LoRAs**\nThe catalogue has no `[loras.<name>]` tables.")
        return
    lines = [lora_line(entry, entry.name in channel.loras) for _, entry in sorted(bot.catalogue.loras.items())]
    await ephemeral(interaction, fit("**LoRAs**\n", lines))


@lora_add.autocomplete("lora")
async def lora_add_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    names = [name for name in sorted(services(interaction).catalogue.loras) if current.lower() in name]
    return [app_commands.Choice(name=name[:CHOICE_NAME], value=name) for name in names[:AUTOCOMPLETE_CHOICES]]


@lora_remove.autocomplete("lora")
async def lora_remove_autocomplete(interaction: discord.Interaction, current: str
                                   ) -> list[app_commands.Choice[str]]:
    channel = await services(interaction).store.channel(str(interaction.channel_id))
    names = [name for name in sorted(channel.loras) if current.lower() in name]
    return [app_commands.Choice(name=name[:CHOICE_NAME], value=name) for name in names[:AUTOCOMPLETE_CHOICES]]


def setup(bot: Services) -> None:
    """Nothing to add: the group hangs under /engine, which bot/commands/engine.py adds to the tree."""
