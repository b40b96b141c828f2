"""/cancel: stop your latest queued or running job, or the one `job_id` names (autocompleted).

A queued job is dropped at once; a running one stops at its next denoising step. Either way its
progress message ends `(Stopped)`, as Midjourney's ❌ does (bot/delivery.py edits it on the event).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import messages
from bot.context import active_jobs
from bot.jobflow import ephemeral
from bot.services import services
from midway.contract import Job, JobStatus
from midway.discord_limits import AUTOCOMPLETE_CHOICES, CHOICE_NAME

if TYPE_CHECKING:
    from bot.services import Services

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def choice_name(job: Job) -> str:
    """`a red fox (running)`: what the user recognises a job by; the id travels as the value."""
    suffix = f" ({job.status.value})"
    return messages.echo_prompt(job)[: CHOICE_NAME - len(suffix)] + suffix


def pick(jobs: list[Job], job_id: str | None) -> Job | None:
    """The job to cancel: the one named (by id, anywhere in the text), else the newest."""
    if job_id:
        match = _UUID.search(job_id.lower())
        return next((job for job in jobs if match and job.id == match.group(0)), None)
    return max(jobs, key=lambda job: job.created_at, default=None)


def outcome(job: Job, after: Job | None) -> str:
    prompt = messages.echo_prompt(job)[:200]
    if after is None or (after.status.finished and after.status is not JobStatus.cancelled):
        return f"**{prompt}** had already finished."
    if after.status is JobStatus.cancelled:
        return f"Cancelled **{prompt}** (`{job.id}`)."
    return f"Stopping **{prompt}** (`{job.id}`); it ends at its next step."


@app_commands.command(name="cancel", description="Cancel your latest queued or running job")
@app_commands.describe(job_id="Which job (default: your latest)")
async def cancel(interaction: discord.Interaction, job_id: str | None = None) -> None:
    bot = services(interaction)
    jobs = await active_jobs(bot.aioredis, str(interaction.user.id))
    job = pick(jobs, job_id)
    if job is None:
        text = (f"You have no queued or running job `{job_id[:60]}`." if job_id
                else "You have no queued or running jobs.")
        await ephemeral(interaction, f"**Nothing to cancel**\n{text}")
        return
    await ephemeral(interaction, outcome(job, await bot.backend.cancel(job.id)))


@cancel.autocomplete("job_id")
async def cancel_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    jobs = await active_jobs(services(interaction).aioredis, str(interaction.user.id))
    jobs.sort(key=lambda job: job.created_at, reverse=True)
    wanted = current.lower().strip()
    found = [job for job in jobs if wanted in job.id or wanted in messages.echo_prompt(job).lower()]
    return [app_commands.Choice(name=choice_name(job), value=job.id) for job in found[:AUTOCOMPLETE_CHOICES]]


def setup(bot: Services) -> None:
    bot.tree.add_command(cancel)
