"""/info, /fast, /relax, /show: the user's own account and jobs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.context import active_jobs
from bot.jobflow import ephemeral, message_ref
from bot.messages import loras_text
from bot.services import services
from bot.store import UserSettings, UserStats
from midway.contract import Job, JobStatus, Lane

if TYPE_CHECKING:
    from bot.services import Services

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def info_text(user: UserSettings, stats: UserStats, jobs: list[Job]) -> str:
    """Midjourney's /info layout, one `**Field**: value` line each."""
    queued = {lane: sum(1 for j in jobs if j.status is JobStatus.queued and j.lane is lane) for lane in Lane}
    running = [j for j in jobs if j.status is JobStatus.running]
    running_text = ", ".join(f"`{j.id}`" for j in running) or "None"
    return "\n".join([
        "**Your info**",
        f"**Job Mode**: {user.lane.value.title()}",
        f"**Draft Mode**: {'On' if user.draft else 'Off'}",
        f"**Lifetime Usage**: {stats.images} images ({stats.compute_s / 3600:.2f} hours)",
        "",
        f"**Queued Jobs (fast)**: {queued[Lane.fast] + queued[Lane.turbo]}",
        f"**Queued Jobs (relax)**: {queued[Lane.relax]}",
        f"**Running Jobs**: {running_text}",
        *_lora_lines(jobs),
    ])


def _lora_lines(jobs: list[Job]) -> list[str]:
    """Each queued or running job that uses LoRAs, with them: what `--lora` resolved to, weights included."""
    with_loras = [f"`{job.id}`: {loras_text(job)}" for job in jobs if job.spec.loras]
    return [f"**LoRAs**: {'; '.join(with_loras)}"] if with_loras else []


@app_commands.command(name="info", description="View information about your profile")
async def info(interaction: discord.Interaction) -> None:
    bot, user_id = services(interaction), str(interaction.user.id)
    text = info_text(await bot.store.user(user_id), await bot.store.usage(user_id),
                     await active_jobs(bot.aioredis, user_id))
    await ephemeral(interaction, text)


async def _set_lane(interaction: discord.Interaction, lane: Lane) -> None:
    await services(interaction).store.update_user(str(interaction.user.id), lambda u: setattr(u, "lane", lane))
    await ephemeral(interaction, f"Done! Your jobs now run in {lane.value} mode.")


@app_commands.command(name="fast", description="Switch to fast mode")
async def fast(interaction: discord.Interaction) -> None:
    await _set_lane(interaction, Lane.fast)


@app_commands.command(name="relax", description="Switch to relax mode")
async def relax(interaction: discord.Interaction) -> None:
    await _set_lane(interaction, Lane.relax)


@app_commands.command(name="show", description="Re-post one of your jobs here, with working buttons")
@app_commands.describe(job_id="The job id (it is in the image's file name)")
async def show(interaction: discord.Interaction, job_id: str) -> None:
    bot = services(interaction)
    match = _UUID.search(job_id.lower())
    job = await bot.backend.get(match.group(0)) if match else None
    if job is None or job.requester.user_id != str(interaction.user.id):
        await ephemeral(interaction, f"**Unknown job**\nYou have no job `{job_id[:60]}`.")
        return
    if job.status is not JobStatus.done:
        await ephemeral(interaction, f"That job is {job.status.value}; /show works on finished jobs.")
        return
    here_guild = str(interaction.guild_id) if interaction.guild_id else None
    if job.requester.guild_id != here_guild:
        # A job's buttons act only in the server it was made in (its policy, engines and limits), so
        # a copy posted elsewhere would carry buttons that all answer "Unknown job".
        await ephemeral(interaction, "**Not here**\nThat job was made in another server (or in DMs); /show it in"
                                     " a channel of that server.")
        return
    # Uploading can take longer than Discord's 3 s, so acknowledge first.
    await interaction.response.defer(ephemeral=True, thinking=True)
    here = job.model_copy(update={"message": message_ref(interaction, None).model_copy(
        update={"message_id": None})})
    posted = await bot.delivery.post_result(here)
    loras = f"\nLoRAs: {loras_text(job)}" if job.spec.loras else ""
    await interaction.followup.send(f"Posted: {posted.jump_url}{loras}", ephemeral=True)


def setup(bot: Services) -> None:
    bot.tree.add_command(info)
    bot.tree.add_command(fast)
    bot.tree.add_command(relax)
    bot.tree.add_command(show)
