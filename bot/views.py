"""ButtonSpec lists (bot/messages.py) -> discord.ui.View, the only place buttons become Discord objects."""

from __future__ import annotations

import discord

from bot.messages import ButtonSpec


def build_view(specs: list[ButtonSpec]) -> discord.ui.View | None:
    """A view for sending only: clicks are handled by the persistent DynamicItem in bot/buttons.py.

    The view is stopped before it is sent, so discord.py does not keep one copy per message in memory
    (it only stores unfinished views); the DynamicItem answers every `mw:` custom_id, even after a restart.
    """
    if not specs:
        return None
    view = discord.ui.View(timeout=None)
    for spec in specs:
        view.add_item(discord.ui.Button(
            label=spec.label, custom_id=spec.custom_id, row=spec.row, emoji=spec.emoji,
            style=getattr(discord.ButtonStyle, spec.style.value)))
    view.stop()
    return view
