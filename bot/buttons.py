"""Persistent buttons: every `mw:` custom_id, on any message however old, lands here.

discord.py builds a DynamicItem from the custom_id of each click (no per-message state in memory),
so buttons keep working across restarts. The handlers themselves live in bot/actions.py.
"""

from __future__ import annotations

import re

import discord

from bot import custom_ids
from bot.jobflow import ephemeral
from bot.settings_panel import PANEL_TEMPLATE, apply_panel_click


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
            await ephemeral(interaction, "**Unknown button**\nThis button was not made by this bot, or is "
                                         "from a version that no longer exists. Use `/show <job id>` to get "
                                         "fresh buttons.")
            return
        await handle_button(interaction, ref)


class PanelButton(discord.ui.DynamicItem[discord.ui.Button], template=PANEL_TEMPLATE):
    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label="…", custom_id=custom_id))
        self.raw_id = custom_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item,
                             match: re.Match[str], /) -> PanelButton:
        return cls(item.custom_id)  # type: ignore[attr-defined]

    async def callback(self, interaction: discord.Interaction) -> None:
        await apply_panel_click(interaction, self.raw_id)


DYNAMIC_ITEMS = (JobButton, PanelButton)
