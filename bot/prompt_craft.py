"""The buttons under a /describe or /shorten answer: each numbered prompt opens, editable, in an
"Imagine This!" modal whose submit imagines it, and /describe's 🎉 Imagine all imagines its four prompts
at once (through the caps and the confirmation rule, as `--repeat` is). Its 🔄 is a job button like any
other (bot/presses.run_action: a new seed, the same image).

The modal is answered by its custom_id (bot/routing.py), and the prompts are read from the answered job's
record, so both still work after a bot restart.
"""

from __future__ import annotations

import discord

from bot.context import RequestContext
from bot.custom_ids import ButtonRef
from bot.guards import cannot_post_here
from bot.imagining import imagine_prompts
from bot.jobflow import ephemeral
from bot.modals import RoutedModal, prompt_input
from bot.presses import NOT_ON_MESSAGE, request_of
from bot.services import services
from midway.contract import Job, Operation

EMPTY = "**Empty prompt**\nThere is nothing to imagine; write a prompt first."


def picked_prompt(parent: Job, index: int | None) -> str | None:
    """The numbered prompt a button stands for (1-based), or None when the job has no such prompt."""
    if index is None or not 1 <= index <= len(parent.texts):
        return None
    return parent.texts[index - 1]


class PickModal(RoutedModal):
    def __init__(self, ref: ButtonRef, prompt: str) -> None:
        super().__init__("Imagine This!", ref)
        self.add_item(prompt_input(prompt))


async def open_pick(interaction: discord.Interaction, parent: Job, ref: ButtonRef) -> None:
    prompt = picked_prompt(parent, ref.index)
    if prompt is None:
        await ephemeral(interaction, NOT_ON_MESSAGE)
        return
    await interaction.response.send_modal(PickModal(ref, prompt))


async def submit_pick(interaction: discord.Interaction, parent: Job, ref: ButtonRef, values: dict[str, str],
                      context: RequestContext) -> None:
    """The modal's prompt, as edited, imagined as /imagine would (its answer is the job's message)."""
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    text = values.get("prompt", "").strip()
    if not text:
        await ephemeral(interaction, EMPTY)
        return
    await imagine_prompts(services(interaction), interaction, request_of(interaction, context), [text])


async def imagine_all(interaction: discord.Interaction, parent: Job, context: RequestContext) -> None:
    """🎉 Imagine all: /describe's four prompts as four jobs."""
    if parent.spec.operation is not Operation.describe or not parent.texts:
        await ephemeral(interaction, NOT_ON_MESSAGE)
        return
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    await imagine_prompts(services(interaction), interaction, request_of(interaction, context), parent.texts[:4])
