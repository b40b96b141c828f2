"""/settings: the ephemeral panel of toggles (see bot/settings_panel.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.services import services
from bot.settings_panel import panel_buttons, panel_text
from bot.views import build_view

if TYPE_CHECKING:
    from bot.services import Services


@app_commands.command(name="settings", description="View and adjust your personal settings")
async def settings(interaction: discord.Interaction) -> None:
    bot = services(interaction)
    user = await bot.store.user(str(interaction.user.id))
    await interaction.response.send_message(panel_text(user), view=build_view(panel_buttons(user)), ephemeral=True)


def setup(bot: Services) -> None:
    bot.tree.add_command(settings)
