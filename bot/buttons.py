"""Persistent buttons: every `mw:` custom_id, on any message however old, lands here.

discord.py builds a DynamicItem from the custom_id of each click (no per-message state in memory),
so buttons keep working across restarts. The handlers themselves live in bot/actions.py.
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


class JobButton(discord.ui.DynamicItem[discord.ui.Button], template=custom_ids.TEMPLATE):
    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label="…", custom_id=custom_id))
        self.raw_id = custom_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item,
                             match: re.Match[str], /) -> JobButton:
        return cls(item.custom_id)  # type: ignore[attr-defined]

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.actions import handle_button

        try:
            ref = custom_ids.decode(self.raw_id)
        except custom_ids.CustomIdError:
            await ephemeral(interaction, UNKNOWN_BUTTON)
            return
        try:
            await handle_button(interaction, ref)
        except Exception as error:
            await answer_unexpected(interaction, error)


class PanelButton(discord.ui.DynamicItem[discord.ui.Button], template=PANEL_TEMPLATE):
    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label="…", custom_id=custom_id))
        self.raw_id = custom_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item,
                             match: re.Match[str], /) -> PanelButton:
        return cls(item.custom_id)  # type: ignore[attr-defined]

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await apply_panel_click(interaction, self.raw_id)
        except Exception as error:
            await answer_unexpected(interaction, error)


DYNAMIC_ITEMS = (JobButton, PanelButton)


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


async def answer_unlisted(interaction: discord.Interaction) -> None:
    """A click whose custom_id is not on its message: a modified client, since Discord delivers any
    custom_id. discord.py dispatches DynamicItems only for listed ids, so without this the user would
    see "This interaction failed"; we answer ephemerally and never act on it."""
    from bot.actions import refuse_unlisted

    custom_id = str((interaction.data or {}).get("custom_id", ""))
    if custom_id in listed_custom_ids(interaction.message):
        return
    await refuse_unlisted(interaction, custom_id)
