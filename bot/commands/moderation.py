"""/moderation banned-word add|remove|list and /moderation safety (per server), /moderation limits (per channel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.guards import NOT_ADMIN, is_channel_admin
from bot.jobflow import ephemeral
from bot.listing import fit, quoted
from bot.policy import normalise_word
from bot.safety_policy import SafetyMode
from bot.services import services
from bot.store import ChannelSettings, GuildSettings

if TYPE_CHECKING:
    from bot.services import Services

moderation = app_commands.Group(name="moderation", description="Server moderation for Midway",
                                default_permissions=discord.Permissions(manage_channels=True), guild_only=True)
banned_word = app_commands.Group(name="banned-word", description="Words /imagine refuses in this server",
                                 parent=moderation)

# A banned word or phrase is matched whole against prompts: a few words, never a paragraph.
MAX_BANNED_WORD = 100


async def _admin_bot(interaction: discord.Interaction) -> Services | None:
    if not is_channel_admin(interaction):
        await ephemeral(interaction, NOT_ADMIN)
        return None
    return services(interaction)


@banned_word.command(name="add", description="Refuse prompts containing this word or phrase")
@app_commands.describe(word="A word or phrase (whole words, any case)")
async def banned_add(interaction: discord.Interaction, word: str) -> None:
    if (bot := await _admin_bot(interaction)) is None:
        return
    word = normalise_word(word)
    if not word:
        await ephemeral(interaction, "Give a word or phrase.")
        return
    if len(word) > MAX_BANNED_WORD:
        await ephemeral(interaction, f"**Banned word too long**\nThat one is {len(word)} characters; a banned word "
                                     f"or phrase may be at most {MAX_BANNED_WORD}. Nothing was changed.")
        return

    def add(guild: GuildSettings) -> None:
        if word not in guild.banned_words:
            guild.banned_words.append(word)

    await bot.store.update_guild(str(interaction.guild_id), add)
    await ephemeral(interaction, f"Prompts containing {quoted(word, MAX_BANNED_WORD)} are now refused in this server.")


@banned_word.command(name="remove", description="Allow this word or phrase again")
async def banned_remove(interaction: discord.Interaction, word: str) -> None:
    if (bot := await _admin_bot(interaction)) is None:
        return
    word = normalise_word(word)
    guild = await bot.store.guild(str(interaction.guild_id))
    if word not in guild.banned_words:
        await ephemeral(interaction, f"{quoted(word, MAX_BANNED_WORD)} is not on the banned list.")
        return
    await bot.store.update_guild(
        str(interaction.guild_id), lambda g: setattr(g, "banned_words", [w for w in g.banned_words if w != word]))
    await ephemeral(interaction, f"{quoted(word, MAX_BANNED_WORD)} is allowed again.")


@banned_word.command(name="list", description="List this server's banned words")
async def banned_list(interaction: discord.Interaction) -> None:
    if (bot := await _admin_bot(interaction)) is None:
        return
    words = (await bot.store.guild(str(interaction.guild_id))).banned_words
    listed = [quoted(w, MAX_BANNED_WORD) for w in sorted(words)]
    await ephemeral(interaction, fit("**Banned words**\n", listed, ", ") if listed else "**Banned words**\nnone")


@moderation.command(name="limits", description="Per-channel limits for /imagine (0 removes a limit)")
@app_commands.describe(max_jobs_per_user="Most unfinished jobs (from any channel) a user may have to /imagine here",
                       max_steps="Most denoising steps a job may use", max_side="Most pixels per image side")
async def limits(interaction: discord.Interaction, max_jobs_per_user: app_commands.Range[int, 0, 100] | None = None,
                 max_steps: app_commands.Range[int, 0, 500] | None = None,
                 max_side: app_commands.Range[int, 0, 8192] | None = None) -> None:
    if (bot := await _admin_bot(interaction)) is None:
        return

    def change(channel: ChannelSettings) -> None:
        for name, value in (("max_jobs_per_user", max_jobs_per_user), ("max_steps", max_steps),
                            ("max_side", max_side)):
            if value is not None:
                setattr(channel, name, value or None)

    channel = await bot.store.update_channel(str(interaction.channel_id), change)
    shown = ", ".join(f"{name} = {getattr(channel, name) or 'none'}"
                      for name in ("max_jobs_per_user", "max_steps", "max_side"))
    await ephemeral(interaction, f"This channel's limits: {shown}.")


# What each mode does to a result with a flagged image, in the reply that confirms it.
SAFETY_MODES = {
    SafetyMode.off: "flagged images are posted plainly",
    SafetyMode.spoiler: "flagged images are posted as spoilers, with the reason",
    SafetyMode.block: "flagged images are not posted; the result says why",
}


@moderation.command(name="safety", description="What results with images the safety filter flags get here")
@app_commands.describe(mode="off: post plainly; spoiler (default): post as spoilers; block: do not post them",
                       skip_age_restricted="Age-restricted channels post flagged images plainly (default: yes)")
async def safety(interaction: discord.Interaction, mode: SafetyMode | None = None,
                 skip_age_restricted: bool | None = None) -> None:
    if (bot := await _admin_bot(interaction)) is None:
        return

    def change(guild: GuildSettings) -> None:
        if mode is not None:
            guild.safety = mode
        if skip_age_restricted is not None:
            guild.safety_nsfw_exempt = skip_age_restricted

    guild_id = str(interaction.guild_id)
    changed = mode is not None or skip_age_restricted is not None
    guild = await bot.store.update_guild(guild_id, change) if changed else await bot.store.guild(guild_id)
    exempt = "post them plainly" if guild.safety_nsfw_exempt else "follow the same rule"
    await ephemeral(interaction, f"**Safety filter: {guild.safety.value}**\n"
                                 f"In this server {SAFETY_MODES[guild.safety]}; age-restricted channels {exempt}.")


def setup(bot: Services) -> None:
    bot.tree.add_command(moderation)
