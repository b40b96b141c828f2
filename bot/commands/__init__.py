"""Slash commands, one module per feature; each has `setup(bot)` adding its commands to the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import blend, cancel, describe, engine, engine_loras, imagine, info, moderation, prefer, settings

if TYPE_CHECKING:
    from bot.services import Services


def setup_commands(bot: Services) -> None:
    for module in (imagine, blend, describe, engine, engine_loras, moderation, settings, prefer, info, cancel):
        module.setup(bot)
