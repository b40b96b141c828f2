"""Persistent buttons: every press of a Midway button, on any message however old, lands here.

A custom_id is all the state a button carries (bot/custom_ids.py), so nothing is kept per message and
buttons keep working across restarts. `MidwayBot.on_interaction` hands every press to `route_press`,
which picks the handler by prefix. discord.py's DynamicItem would route the same ids, but it first
rebuilds a whole discord.ui.View of the pressed message (a dozen Button objects, an `os.urandom`) for
every press, which a burst of presses waits on in the loop. The handlers live in bot/actions.py and
bot/settings_panel.py.
"""

from __future__ import annotations

import re

import discord

from bot import custom_ids
from bot.errors import answer_unexpected
from bot.jobflow import ephemeral
from bot.settings_panel import PANEL_TEMPLATE, apply_panel_click

UNKNOWN_BUTTON = ("**Unknown button**\nThis button was not made by this bot, or is from a version that no "
                  "longer exists. Use `/show <job id>` to get fresh buttons.")

_PANEL = re.compile(PANEL_TEMPLATE)


def listed_custom_ids(message: discord.Message | None) -> set[str]:
    """The custom_ids a message really shows (Discord's own client can only send these)."""
    if message is None:
        return set()
    found = set()
    for row in message.components:
        for child in getattr(row, "children", [row]):
            if custom_id := getattr(child, "custom_id", None):
                found.add(custom_id)
    return found


async def route_press(interaction: discord.Interaction) -> None:
    """Answer one button press: a job button (U, V, 🔄, Vary, ...), a /settings toggle, or an explanation
    for a button this bot cannot act on. Discord delivers any custom_id a modified client sends, so a
    press whose button is not on its message is refused, never acted on."""
    custom_id = str((interaction.data or {}).get("custom_id", ""))
    try:
        if custom_id not in listed_custom_ids(interaction.message):
            from bot.actions import refuse_unlisted

            await refuse_unlisted(interaction, custom_id)
        elif _PANEL.fullmatch(custom_id):
            await apply_panel_click(interaction, custom_id)
        elif custom_ids.is_job_button(custom_id):
            await press_job_button(interaction, custom_id)
        else:
            await ephemeral(interaction, UNKNOWN_BUTTON)
    except Exception as error:
        await answer_unexpected(interaction, error)


async def press_job_button(interaction: discord.Interaction, custom_id: str) -> None:
    from bot.actions import handle_button

    try:
        ref = custom_ids.decode(custom_id)
    except custom_ids.CustomIdError:
        await ephemeral(interaction, UNKNOWN_BUTTON)
        return
    await handle_button(interaction, ref)
