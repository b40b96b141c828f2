"""Modals: every Midway modal is answered by its custom_id, like a button press, so a modal opened before
a bot restart can still be submitted after it.

A modal's custom_id is the id of the button that opened it under the `mwm` prefix (bot/custom_ids.py),
and the submit carries the fields' values: nothing is kept per modal. `Services.on_interaction` hands
every modal submit to `route_modal_submit`. discord.py would also keep each sent Modal in its ViewStore
and run its on_submit beside ours (until the restart that loses it), so RoutedModal is stopped before it
is sent: `InteractionResponse.send_modal` only stores a modal that is not finished. The Remix modal
lives in bot/remix.py, Vary (Region) and Custom Zoom in bot/edit_modals.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.custom_ids import ButtonRef
from midway.discord_limits import MODAL_TITLE, TEXT_INPUT_VALUE

if TYPE_CHECKING:
    pass

class RoutedModal(discord.ui.Modal):
    """A modal that is only sent: its submit is routed by custom_id (route_modal_submit)."""

    def __init__(self, title: str, ref: ButtonRef) -> None:
        super().__init__(title=title[:MODAL_TITLE], custom_id=ref.modal_id, timeout=None)
        # Finished before it is sent, so discord.py never stores it and never dispatches it a second time.
        self.stop()


def prompt_input(text: str) -> discord.ui.TextInput:
    return discord.ui.TextInput(label="Prompt", custom_id="prompt", style=discord.TextStyle.paragraph,
                                default=text[:TEXT_INPUT_VALUE], max_length=TEXT_INPUT_VALUE)


def submitted_values(data: dict[str, Any]) -> dict[str, str]:
    """A modal submit's text inputs by custom_id, in either layout (action rows, or labels)."""
    values: dict[str, str] = {}
    pending = list(data.get("components") or [])
    while pending:
        component = pending.pop()
        if "custom_id" in component and "value" in component:
            values[str(component["custom_id"])] = str(component["value"] or "")
        pending.extend(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            pending.append(component["component"])
    return values
