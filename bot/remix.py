"""Remix mode: V, Vary, 🔄 and the pan arrows first open a modal prefilled with the prompt, to edit before running.

The edited prompt goes through /imagine's parser (bot/planning.py), and the job takes its words and the
parameters edited from the parent's prompt (bot/derive.remix_changes). The modal is answered by its
custom_id (bot/routing.py), so it still works after a bot restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.context import RequestContext
from bot.custom_ids import Action, ButtonRef
from bot.guards import prompt_error
from bot.jobflow import ephemeral
from bot.modals import RoutedModal, prompt_input
from bot.planning import plan_imagine
from bot.presses import run_action
from bot.services import services
from midway.contract import GenerationSpec, Job
from midway.prompt.errors import PromptError

if TYPE_CHECKING:
    pass

# Midjourney's Remix opens on V, Vary, 🔄 and the pan arrows (reference: "Remix mode").
REMIXABLE = frozenset({Action.variation, Action.vary_subtle, Action.vary_strong, Action.reroll,
                       Action.pan_left, Action.pan_right, Action.pan_up, Action.pan_down})

ONE_GRID = ("**Remix makes one grid**\n`--repeat` and `{…}` permutations ask for several; use /imagine "
            "for those.")


class RemixModal(RoutedModal):
    def __init__(self, ref: ButtonRef, parent: Job) -> None:
        super().__init__("Remix Prompt", ref)
        self.add_item(prompt_input(parent.spec.full_prompt or parent.spec.prompt))


async def submit_remix(interaction: discord.Interaction, parent: Job, ref: ButtonRef, values: dict[str, str],
                       context: RequestContext) -> None:
    bot = services(interaction)
    spec = await plan_remix(interaction, values.get("prompt", ""), parent, context)
    if spec is not None:
        await run_action(bot, interaction, parent, ref, remix=spec, context=context)


async def plan_remix(interaction: discord.Interaction, text: str, parent: Job,
                     context: RequestContext) -> GenerationSpec | None:
    """A modal's prompt text -> its spec, or None after telling the user (ephemerally) what is wrong."""
    bot = services(interaction)
    user, channel = context.user, context.channel
    # Parsed for the parent's engine (its sizes, its `--v` aliases), not the channel's: Remix edits that
    # image. The prefilled text already holds the suffix, so it is not appended twice.
    if parent.spec.engine in bot.catalogue:
        channel = channel.model_copy(update={"engine": parent.spec.engine})
    try:
        planned = plan_imagine(text, user.model_copy(update={"suffix": ""}), channel, bot.catalogue, bot.settings)
    except PromptError as error:
        await ephemeral(interaction, prompt_error(error, text))
        return None
    if len(planned.specs) != 1:
        await ephemeral(interaction, ONE_GRID)
        return None
    return planned.specs[0]
