"""Where every press and modal submit goes: Midway's buttons and forms carry all their state in their
custom_id (bot/custom_ids.py), so one on any message however old, from before a restart too, is routed
here by its prefix and answered.

`MidwayBot.on_interaction` hands each press to `route_press` and each submit to `route_modal_submit`.
discord.py's DynamicItem would route the same ids, but it first rebuilds a whole discord.ui.View of the
pressed message (a dozen Button objects, an `os.urandom`) for every press, which a burst of presses
waits on in the loop. A press whose button is not on its message (a modified client can send any
custom_id) is refused, never acted on.
"""

from __future__ import annotations

import re

import discord

from bot import custom_ids
from bot.actions import handle_button
from bot.custom_ids import Action, ButtonRef, CustomIdError, decode_modal
from bot.edit_modals import submit_custom_zoom, submit_region
from bot.errors import answer_unexpected, custom_id_of
from bot.jobflow import ephemeral
from bot.modals import submitted_values
from bot.presses import UNKNOWN_BUTTON, listed_custom_ids, pressed_job, refuse_unlisted
from bot.prompt_craft import submit_pick
from bot.remix import submit_remix
from bot.services import services
from bot.settings_panel import PANEL_TEMPLATE, apply_panel_click

UNKNOWN_MODAL = ("**Unknown form**\nThis form was not made by this bot, or by a version that no longer "
                 "exists. Press the button again for a fresh one.")

_PANEL = re.compile(PANEL_TEMPLATE)


async def route_press(interaction: discord.Interaction) -> None:
    """Answer one button press: a job button (U, V, 🔄, Vary, ...), a /settings toggle, or an explanation
    for a button this bot cannot act on. Discord delivers any custom_id a modified client sends, so a
    press whose button is not on its message is refused, never acted on."""
    custom_id = custom_id_of(interaction)
    try:
        if custom_id not in listed_custom_ids(interaction.message):
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
    try:
        ref = custom_ids.decode(custom_id)
    except custom_ids.CustomIdError:
        await ephemeral(interaction, UNKNOWN_BUTTON)
        return
    await handle_button(interaction, ref)


async def route_modal_submit(interaction: discord.Interaction) -> None:
    """Answer one modal submit: Remix, Vary (Region) or Custom Zoom, or an explanation for a form this
    bot cannot act on (forged, or sent before an upgrade changed the ids)."""
    custom_id = custom_id_of(interaction)
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
    # Discord sends a modal's submit with the message whose button opened it. A modified client can send
    # any custom_id, so that button must be on that message, as for a press.
    if ref.custom_id not in listed_custom_ids(interaction.message):
        await refuse_unlisted(interaction, ref.custom_id)
        return
    bot = services(interaction)
    context = await pressed_job(bot, interaction, ref.job_id)
    if context is None or (parent := context.job) is None:
        return
    if ref.action is Action.vary_region:
        await submit_region(interaction, parent, ref, values, context)
    elif ref.action is Action.custom_zoom:
        await submit_custom_zoom(interaction, parent, ref, values, context)
    elif ref.action is Action.pick:
        await submit_pick(interaction, parent, ref, values, context)
    else:
        await submit_remix(interaction, parent, ref, values, context)
