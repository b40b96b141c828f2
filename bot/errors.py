"""The answer to an interaction whose handling failed unexpectedly (Redis down, a bug).

Without it discord.py only logs the error and the user sees Discord's "The application did not
respond" three seconds later. With it the user gets a private, plain explanation at once, and the log
keeps the traceback (never the interaction's token or anything else secret).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import discord
import redis
from discord import app_commands

from bot.jobflow import ephemeral

log = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "Midway can't reach its job queue right now. Nothing was changed; try again in a minute."
# The failure may come after a change was stored (a reply Discord refused, say), so this never
# promises that nothing changed.
SOMETHING_WENT_WRONG = ("Something went wrong on Midway's side, and what you asked for may be done only in "
                        "part. Check before you try again in a minute.")


def explain(error: BaseException) -> str:
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    return QUEUE_UNAVAILABLE if isinstance(cause, redis.RedisError) else SOMETHING_WENT_WRONG


def custom_id_of(interaction: discord.Interaction) -> str:
    """The custom_id a press or modal submit carries ("" for a slash command)."""
    data: Mapping[str, object] = interaction.data or {}
    return str(data.get("custom_id", ""))


async def answer_unexpected(interaction: discord.Interaction, error: BaseException) -> None:
    """Log the failure and tell the user privately; never raises (the answer itself may fail too)."""
    if interaction.command is not None:
        what = f"/{interaction.command.qualified_name}"
    else:
        what = custom_id_of(interaction) or "?"
    log.error("interaction %s (%s) failed", interaction.id, what, exc_info=error)
    try:
        await ephemeral(interaction, explain(error))
    except Exception:  # Discord unreachable or the token expired: the log above is all we can do
        log.warning("could not tell the user about the failed interaction %s", interaction.id, exc_info=True)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    await answer_unexpected(interaction, error)

