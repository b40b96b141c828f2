"""/imagine: parse, apply policy, answer `(Waiting to start)` within 3 s, enqueue (thin shell)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import messages
from bot.context import read_context
from bot.guards import check_request, prompt_error
from bot.jobflow import ephemeral, post_job, requester_of, start_jobs
from bot.planning import plan_imagine
from bot.store import ChannelSettings
from bot.views import build_view
from engines.catalogue import Catalogue
from midway.contract import GenerationSpec, Job, Requester
from midway.prompt.errors import PromptError

if TYPE_CHECKING:
    from bot.app import MidwayBot


def cap_steps(spec: GenerationSpec, channel: ChannelSettings, catalogue: Catalogue) -> GenerationSpec:
    """A channel's step limit lowers the engine's default instead of refusing the prompt."""
    if channel.max_steps is None or spec.engine not in catalogue:
        return spec
    steps = spec.steps or catalogue.get(spec.engine).steps
    return spec.model_copy(update={"steps": min(steps, channel.max_steps)})


def jobs_for(specs: list[GenerationSpec], requester: Requester, max_attempts: int) -> list[Job]:
    return [Job(spec=spec, requester=requester, lane=spec.lane, max_attempts=max_attempts) for spec in specs]


@app_commands.command(name="imagine", description="Create images with Midway")
@app_commands.describe(prompt="The prompt to imagine")
async def imagine(interaction: discord.Interaction, prompt: str) -> None:
    bot: MidwayBot = interaction.client  # type: ignore[assignment]
    requester = requester_of(interaction)
    context = await read_context(bot.aioredis, requester.user_id, requester.channel_id, requester.guild_id)
    user, channel, load = context.user, context.channel, context.load
    try:
        planned = plan_imagine(prompt, user, channel, bot.catalogue, bot.settings)
    except PromptError as error:
        await ephemeral(interaction, prompt_error(error, prompt))
        return
    specs = [cap_steps(spec, channel, bot.catalogue) for spec in planned.specs]
    refusal = await check_request(bot.store, bot.settings, requester.guild_id, channel, specs, load,
                                  guild=context.guild)
    if refusal is not None:
        await ephemeral(interaction, refusal.message)
        return
    jobs = jobs_for(specs, requester, bot.settings.max_attempts)
    if len(jobs) > bot.settings.confirm_above:
        await ask_to_confirm(bot, interaction, jobs)
        return
    await start_jobs(bot, interaction, jobs, load)


async def ask_to_confirm(bot: MidwayBot, interaction: discord.Interaction, jobs: list[Job]) -> None:
    """Permutations and --repeat above settings.confirm_above wait for a Yes (kept 15 minutes)."""
    batch_id = str(uuid.uuid4())
    payload = {"user_id": str(interaction.user.id), "jobs": [job.model_dump(mode="json") for job in jobs]}
    await bot.store.save_batch(batch_id, json.dumps(payload))
    await interaction.response.send_message(
        messages.confirm_batch(len(jobs), messages.echo_prompt(jobs[0])),
        view=build_view(messages.confirm_buttons(batch_id)), ephemeral=True)


async def run_batch(bot: MidwayBot, interaction: discord.Interaction, batch_id: str, confirmed: bool) -> None:
    """The Yes / No of a confirmation: each job gets its own message; a batch runs at most once."""
    payload = await bot.store.pop_batch(batch_id)
    if payload is None:
        await ephemeral(interaction, "That batch was already submitted, declined or has expired.")
        return
    batch = json.loads(payload)
    if batch["user_id"] != str(interaction.user.id):
        await bot.store.save_batch(batch_id, payload)
        await ephemeral(interaction, "Only the person who typed the prompt can confirm it.")
        return
    jobs = [Job.model_validate(raw) for raw in batch["jobs"]]
    if not confirmed:
        await interaction.response.edit_message(content="Cancelled; nothing was submitted.", view=None)
        return
    await interaction.response.edit_message(content=f"Submitting {len(jobs)} jobs.", view=None)
    for job in jobs:
        await post_job(bot, interaction, job, reply_to=None)


def setup(bot: MidwayBot) -> None:
    bot.tree.add_command(imagine)
