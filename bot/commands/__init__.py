"""Slash commands, one module per feature; each has `setup(bot)` adding its commands to the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import MidwayBot


def setup_commands(bot: MidwayBot) -> None:
    from bot.commands import engine, imagine, info, moderation, prefer, settings

    for module in (imagine, engine, moderation, settings, prefer, info):
        module.setup(bot)
