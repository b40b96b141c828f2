"""Vary (Region) and Custom Zoom: buttons that open a modal first, then run like any other press.

Midjourney draws the region in an Activity iframe; a bot cannot, so the Vary (Region) modal asks for a
rectangle as text (bot/region.py), plus the prompt when the user has Remix on. Custom Zoom's modal is
Midjourney's: the prompt followed by `--zoom 2`, editable (1.0-2.0, and `--ar` may change).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import discord

from bot.custom_ids import ButtonRef
from bot.errors import AnswersErrors
from bot.jobflow import ephemeral
from bot.outpaint import OutpaintError, custom_zoom_text, split_zoom
from bot.region import PLACEHOLDER, RegionError, parse_region
from bot.remix import plan_remix
from midway.contract import Job
from midway.discord_limits import TEXT_INPUT_VALUE

if TYPE_CHECKING:
    from bot.app import MidwayBot

# A Discord modal stays answerable for 15 minutes.
MODAL_TIMEOUT_S = 15 * 60


def _modal_id() -> str:
    # A fresh custom_id per modal: two people editing one image must not collide.
    return f"mwm:{uuid.uuid4().hex}"


def _prompt_input(text: str) -> discord.ui.TextInput:
    return discord.ui.TextInput(label="Prompt", custom_id="prompt", style=discord.TextStyle.paragraph,
                                default=text[:TEXT_INPUT_VALUE], max_length=TEXT_INPUT_VALUE)


class RegionModal(AnswersErrors, discord.ui.Modal):
    def __init__(self, ref: ButtonRef, parent: Job, remix: bool) -> None:
        super().__init__(title="Vary (Region)", custom_id=_modal_id(), timeout=MODAL_TIMEOUT_S)
        self.ref, self.parent = ref, parent
        self.region = discord.ui.TextInput(label="Region to repaint", custom_id="region", placeholder=PLACEHOLDER,
                                           max_length=100)
        self.add_item(self.region)
        self.prompt: discord.ui.TextInput | None = None
        if remix:
            self.prompt = _prompt_input(parent.spec.full_prompt or parent.spec.prompt)
            self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        from bot.actions import run_action

        bot: MidwayBot = interaction.client  # type: ignore[assignment]
        try:
            region = parse_region(self.region.value)
        except RegionError as error:
            await ephemeral(interaction, f"**Invalid region**\n{error}")
            return
        remix = None
        if self.prompt is not None:
            remix = await plan_remix(interaction, self.prompt.value)
            if remix is None:
                return
        await run_action(bot, interaction, self.parent, self.ref, remix=remix, region=region)


class CustomZoomModal(AnswersErrors, discord.ui.Modal):
    def __init__(self, ref: ButtonRef, parent: Job) -> None:
        super().__init__(title="Zoom Out", custom_id=_modal_id(), timeout=MODAL_TIMEOUT_S)
        self.ref, self.parent = ref, parent
        self.prompt = _prompt_input(custom_zoom_text(parent.spec.full_prompt or parent.spec.prompt))
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        from bot.actions import run_action

        bot: MidwayBot = interaction.client  # type: ignore[assignment]
        try:
            factor, text = split_zoom(self.prompt.value)
        except OutpaintError as error:
            await ephemeral(interaction, f"**Invalid parameter**\n{error}")
            return
        spec = await plan_remix(interaction, text)
        if spec is not None:
            await run_action(bot, interaction, self.parent, self.ref, remix=spec, zoom=factor)
