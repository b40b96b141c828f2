"""/prefer suffix|option set|option list|remix|variability (Midjourney's personal preferences)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.jobflow import ephemeral
from bot.listing import fit, quoted
from bot.planning import MAX_SAVED_LENGTH, OPTION_NAME, check_saved
from bot.services import services
from bot.store import MAX_OPTIONS, UserSettings, VariationMode
from midway.prompt.errors import PromptError
from midway.prompt.params import PARAMETER_NAMES

if TYPE_CHECKING:
    from bot.services import Services

prefer = app_commands.Group(name="prefer", description="Your personal prompt preferences")
option = app_commands.Group(name="option", description="Your custom `--name` options", parent=prefer)

# `/prefer option list` shows up to MAX_OPTIONS values in one message, so each is cut this short.
LISTED_VALUE = 60


@prefer.command(name="suffix", description="Add this to the end of every prompt (empty clears it)")
@app_commands.describe(value="e.g. --ar 16:9 --stylize 250")
async def suffix(interaction: discord.Interaction, value: str | None = None) -> None:
    text = (value or "").strip()
    if text and (refusal := refuse_saved(interaction, "suffix", text)):
        await ephemeral(interaction, refusal)
        return
    await services(interaction).store.update_user(str(interaction.user.id), lambda u: setattr(u, "suffix", text))
    await ephemeral(interaction, f"Your suffix is now {quoted(text, MAX_SAVED_LENGTH)}." if text
                    else "Your suffix is cleared.")


def refuse_saved(interaction: discord.Interaction, what: str, value: str) -> str | None:
    """The refusal for a suffix or option value that is too long or that /imagine's parser rejects."""
    bot = services(interaction)
    try:
        check_saved(value, bot.catalogue, bot.settings)
    except PromptError as error:
        return f"**Invalid {what}**\n{error.message}\nNothing was saved."
    return None


def set_option(user: UserSettings, name: str, value: str) -> str:
    """Apply `/prefer option set`; returns the reply. An empty value deletes the option."""
    if not value:
        return f"Removed `--{name}`." if user.options.pop(name, None) is not None else f"`--{name}` was not set."
    if name not in user.options and len(user.options) >= MAX_OPTIONS:
        return f"You already have {MAX_OPTIONS} options, the most allowed; remove one first."
    user.options[name] = value
    return f"`--{name}` now expands to {quoted(value, MAX_SAVED_LENGTH)}."


@option.command(name="set", description="Create --name, which expands to value (empty value deletes it)")
async def option_set(interaction: discord.Interaction, name: str, value: str | None = None) -> None:
    name = name.strip().lower().removeprefix("--")
    if not OPTION_NAME.match(name):
        await ephemeral(interaction, f"**Invalid option name**\n`{name[:40]}`: use letters, digits, `-` and `_`.")
        return
    if name in PARAMETER_NAMES and value:
        # `--ar` would expand to the option wherever it is typed, and the real parameter be lost.
        await ephemeral(interaction, f"**Invalid option name**\n`--{name}` is a parameter of its own; "
                                     "pick another name. Nothing was saved.")
        return
    text = (value or "").strip()
    if text and (refusal := refuse_saved(interaction, "option value", text)):
        await ephemeral(interaction, refusal)
        return
    replies: list[str] = []
    await services(interaction).store.update_user(
        str(interaction.user.id), lambda u: replies.append(set_option(u, name, text)))
    await ephemeral(interaction, replies[-1])


@option.command(name="list", description="List your custom options")
async def option_list(interaction: discord.Interaction) -> None:
    user = await services(interaction).store.user(str(interaction.user.id))
    lines = [f"`--{name}`: {quoted(value, LISTED_VALUE)}" for name, value in sorted(user.options.items())]
    await ephemeral(interaction, fit("**Your options**\n", lines) if lines else "You have no options.")


@prefer.command(name="remix", description="Toggle Remix mode")
async def remix(interaction: discord.Interaction) -> None:
    user = await services(interaction).store.update_user(str(interaction.user.id),
                                                     lambda u: setattr(u, "remix", not u.remix))
    await ephemeral(interaction, f"Remix mode turned {'on' if user.remix else 'off'}!")


@prefer.command(name="variability", description="Toggle High / Low variation mode for V buttons")
async def variability(interaction: discord.Interaction) -> None:
    def toggle(user: UserSettings) -> None:
        user.variation = VariationMode.low if user.variation is VariationMode.high else VariationMode.high

    user = await services(interaction).store.update_user(str(interaction.user.id), toggle)
    await ephemeral(interaction, f"{user.variation.value.title()} variation mode turned on!")


def setup(bot: Services) -> None:
    bot.tree.add_command(prefer)
