"""/imagine: parse, apply policy, answer `(Waiting to start)` within 3 s, enqueue (thin shell)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.admission import admit, read_request
from bot.confirmation import ask_to_confirm
from bot.guards import cannot_post_here, prompt_error
from bot.jobflow import ephemeral, start_jobs
from bot.planning import plan_imagine
from bot.services import services
from bot.store import ChannelSettings
from midway.catalogue import Catalogue
from midway.contract import GenerationSpec, Job, Requester
from midway.prompt.errors import PromptError

if TYPE_CHECKING:
    from bot.services import Services


def cap_steps(spec: GenerationSpec, channel: ChannelSettings, catalogue: Catalogue) -> GenerationSpec:
    """A channel's step limit lowers the engine's default instead of refusing the prompt."""
    if channel.max_steps is None or spec.engine is None or spec.engine not in catalogue:
        return spec
    steps = spec.steps or catalogue.get(spec.engine).steps
    return spec.model_copy(update={"steps": min(steps, channel.max_steps)})


def jobs_for(specs: list[GenerationSpec], requester: Requester, max_attempts: int) -> list[Job]:
    return [Job(spec=spec, requester=requester, lane=spec.lane, max_attempts=max_attempts) for spec in specs]


@app_commands.command(name="imagine", description="Create images with Midway")
@app_commands.describe(prompt="The prompt to imagine")
async def imagine(interaction: discord.Interaction, prompt: str) -> None:
    bot = services(interaction)
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    request = await read_request(bot, interaction)
    user, channel = request.context.user, request.context.channel
    try:
        planned = plan_imagine(prompt, user, channel, bot.catalogue, bot.settings)
    except PromptError as error:
        await ephemeral(interaction, prompt_error(error, prompt))
        return
    specs = [cap_steps(spec, channel, bot.catalogue) for spec in planned.specs]
    jobs = jobs_for(specs, request.requester, bot.settings.max_attempts)
    # A batch that waits for a Yes is only checked now, and checked again at Yes (run_batch): jobs may
    # start or finish before then.
    confirm = len(jobs) > bot.settings.confirm_above
    verdict = admit(bot, request, jobs, hold=not confirm)
    if verdict.refusal is not None:
        await ephemeral(interaction, verdict.refusal.message)
        return
    if confirm:
        await ask_to_confirm(bot, interaction, jobs)
        return
    await start_jobs(bot, interaction, jobs, verdict.load)


def setup(bot: Services) -> None:
    bot.tree.add_command(imagine)
