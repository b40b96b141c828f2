"""Remix mode: V, Vary and 🔄 first open a modal prefilled with the prompt, to edit before running."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import discord

from bot.context import read_context
from bot.custom_ids import Action, ButtonRef
from bot.errors import AnswersErrors
from bot.guards import prompt_error
from bot.jobflow import ephemeral
from bot.planning import plan_imagine
from midway.contract import GenerationSpec, Job
from midway.discord_limits import MODAL_TITLE, TEXT_INPUT_VALUE
from midway.prompt.errors import PromptError

if TYPE_CHECKING:
    from bot.app import MidwayBot

REMIXABLE = frozenset({Action.variation, Action.vary_subtle, Action.vary_strong, Action.reroll})


class RemixModal(AnswersErrors, discord.ui.Modal):
    def __init__(self, ref: ButtonRef, parent: Job) -> None:
        # A fresh custom_id per modal: two people remixing one job must not collide.
        super().__init__(title="Remix Prompt"[:MODAL_TITLE], custom_id=f"mwm:{uuid.uuid4().hex}", timeout=15 * 60)
        self.ref = ref
        self.parent = parent
        self.prompt = discord.ui.TextInput(label="Prompt", custom_id="prompt", style=discord.TextStyle.paragraph,
                                           default=(parent.spec.full_prompt or parent.spec.prompt)[:TEXT_INPUT_VALUE],
                                           max_length=TEXT_INPUT_VALUE)
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        from bot.actions import run_action

        bot: MidwayBot = interaction.client  # type: ignore[assignment]
        spec = await plan_remix(interaction, self.prompt.value)
        if spec is not None:
            await run_action(bot, interaction, self.parent, self.ref, remix=spec)


async def plan_remix(interaction: discord.Interaction, text: str) -> GenerationSpec | None:
    """A modal's prompt text -> its spec, or None after telling the user (ephemerally) what is wrong."""
    bot: MidwayBot = interaction.client  # type: ignore[assignment]
    context = await read_context(bot.aioredis, str(interaction.user.id), str(interaction.channel_id), None)
    user, channel = context.user, context.channel
    try:
        # Remix keeps the parent's engine and image; only the words (and parameters) change.
        return plan_imagine(text, user.model_copy(update={"suffix": ""}), channel, bot.catalogue,
                            bot.settings).specs[0]
    except PromptError as error:
        await ephemeral(interaction, prompt_error(error, text))
        return None
