"""Slash commands, one module per feature; each has `setup(bot)` adding its commands to the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import MidwayBot


def setup_commands(bot: MidwayBot) -> None:
    from bot.commands import blend, cancel, engine, imagine, info, moderation, prefer, settings

    for module in (imagine, blend, engine, moderation, settings, prefer, info, cancel):
        module.setup(bot)
