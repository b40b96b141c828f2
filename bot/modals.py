"""Modals: every Midway modal is answered by its custom_id, like a button press, so a modal opened before
a bot restart can still be submitted after it.

A modal's custom_id is the id of the button that opened it under the `mwm` prefix (bot/custom_ids.py),
and the submit carries the fields' values: nothing is kept per modal. `MidwayBot.on_interaction` hands
every modal submit to `route_modal_submit`. discord.py would also keep each sent Modal in its ViewStore
and run its on_submit beside ours (until the restart that loses it), so RoutedModal is stopped before it
is sent: `InteractionResponse.send_modal` only stores a modal that is not finished. The Remix modal
lives in bot/remix.py, Vary (Region) and Custom Zoom in bot/edit_modals.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.custom_ids import Action, ButtonRef, CustomIdError, decode_modal
from bot.errors import answer_unexpected
from bot.jobflow import ephemeral
from midway.discord_limits import MODAL_TITLE, TEXT_INPUT_VALUE

if TYPE_CHECKING:
    from bot.app import MidwayBot

UNKNOWN_MODAL = ("**Unknown form**\nThis form was not made by this bot, or by a version that no longer "
                 "exists. Press the button again for a fresh one.")


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


async def route_modal_submit(interaction: discord.Interaction) -> None:
    """Answer one modal submit: Remix, Vary (Region) or Custom Zoom, or an explanation for a form this
    bot cannot act on (forged, or sent before an upgrade changed the ids)."""
    custom_id = str((interaction.data or {}).get("custom_id", ""))
    try:
        try:
            ref = decode_modal(custom_id)
        except CustomIdError:
            await ephemeral(interaction, UNKNOWN_MODAL)
            return
        await submit(interaction, ref, submitted_values(dict(interaction.data or {})))
    except Exception as error:
        await answer_unexpected(interaction, error)


async def submit(interaction: discord.Interaction, ref: ButtonRef, values: dict[str, str]) -> None:
    """Check the submit as a press of the button that opened the modal is checked, then run it."""
    from bot.actions import STALE, clicker_context, made_in_this_guild, refuse_unlisted
    from bot.buttons import listed_custom_ids
    from bot.edit_modals import submit_custom_zoom, submit_region
    from bot.remix import submit_remix

    # Discord sends a modal's submit with the message whose button opened it. A modified client can send
    # any custom_id, so that button must be on that message, as for a press.
    if ref.custom_id not in listed_custom_ids(interaction.message):
        await refuse_unlisted(interaction, ref.custom_id)
        return
    bot: MidwayBot = interaction.client  # type: ignore[assignment]
    context = await clicker_context(bot, interaction, ref.job_id)
    parent = context.job
    if parent is None or not made_in_this_guild(parent, interaction):
        await ephemeral(interaction, STALE)
        return
    if ref.action is Action.vary_region:
        await submit_region(interaction, parent, ref, values, context)
    elif ref.action is Action.custom_zoom:
        await submit_custom_zoom(interaction, parent, ref, values, context)
    else:
        await submit_remix(interaction, parent, ref, values, context)
