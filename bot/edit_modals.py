"""Vary (Region) and Custom Zoom: buttons that open a modal first, then run like any other press.

Midjourney draws the region in an Activity iframe; a bot cannot, so the Vary (Region) modal asks for a
rectangle as text (midway/region.py), plus the prompt when the user has Remix on. Custom Zoom's modal is
Midjourney's: the prompt followed by `--zoom 2`, editable (1.0-2.0, and `--ar` may change). Both are
answered by their custom_id (bot/routing.py), so they still work after a bot restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.context import RequestContext
from bot.custom_ids import ButtonRef
from bot.jobflow import ephemeral
from bot.modals import RoutedModal, prompt_input
from bot.outpaint import OutpaintError, custom_zoom_text, split_zoom
from bot.presses import run_action
from bot.remix import plan_remix
from bot.services import services
from midway.contract import Job
from midway.region import PLACEHOLDER, RegionError, parse_region

if TYPE_CHECKING:
    pass


class RegionModal(RoutedModal):
    def __init__(self, ref: ButtonRef, parent: Job, remix: bool) -> None:
        super().__init__("Vary (Region)", ref)
        self.add_item(discord.ui.TextInput(label="Region to repaint", custom_id="region", placeholder=PLACEHOLDER,
                                           max_length=100))
        if remix:
            self.add_item(prompt_input(parent.spec.full_prompt or parent.spec.prompt))


class CustomZoomModal(RoutedModal):
    def __init__(self, ref: ButtonRef, parent: Job) -> None:
        super().__init__("Zoom Out", ref)
        self.add_item(prompt_input(custom_zoom_text(parent.spec.full_prompt or parent.spec.prompt)))


async def submit_region(interaction: discord.Interaction, parent: Job, ref: ButtonRef, values: dict[str, str],
                        context: RequestContext) -> None:
    """The rectangle, and the remixed prompt when the modal had one (Remix was on when it opened)."""
    bot = services(interaction)
    try:
        region = parse_region(values.get("region", ""))
    except RegionError as error:
        await ephemeral(interaction, f"**Invalid region**\n{error}")
        return
    remix = None
    if "prompt" in values:
        remix = await plan_remix(interaction, values["prompt"], parent, context)
        if remix is None:
            return
    await run_action(bot, interaction, parent, ref, remix=remix, region=region, context=context)


async def submit_custom_zoom(interaction: discord.Interaction, parent: Job, ref: ButtonRef,
                             values: dict[str, str], context: RequestContext) -> None:
    bot = services(interaction)
    try:
        factor, text = split_zoom(values.get("prompt", ""))
    except OutpaintError as error:
        await ephemeral(interaction, f"**Invalid parameter**\n{error}")
        return
    spec = await plan_remix(interaction, text, parent, context)
    if spec is not None:
        await run_action(bot, interaction, parent, ref, remix=spec, zoom=factor, context=context)
