"""Putting jobs on Discord: the "Waiting to start" message, then the queue (thin shell over Backend).

A job's progress message is either the /imagine interaction response or, for button-made and batch
jobs, a channel message replying to its parent. Either way the job records the message's channel and
id, so progress edits and the result go through channel endpoints that never expire.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import discord

from bot import messages
from bot.observability import observe_ack
from bot.policy import UserLoad, caps_notice
from bot.views import build_view
from midway.contract import Job, MessageRef, Requester
from midway.discord_limits import INTERACTION_TOKEN_S

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


def requester_of(interaction: discord.Interaction) -> Requester:
    return Requester(user_id=str(interaction.user.id), user_name=interaction.user.name,
                     guild_id=str(interaction.guild_id) if interaction.guild_id else None,
                     channel_id=str(interaction.channel_id) if interaction.channel_id else None)


def message_ref(interaction: discord.Interaction, message_id: int | None) -> MessageRef:
    return MessageRef(channel_id=str(interaction.channel_id), message_id=str(message_id) if message_id else None,
                      application_id=str(interaction.application_id), interaction_token=interaction.token,
                      token_expires_at=time.time() + INTERACTION_TOKEN_S,
                      attachment_size_limit=interaction.filesize_limit)


async def submit(bot: Services, job: Job) -> bool:
    """Enqueue a job whose message exists; if Redis refuses, say so on the message. Whether it was queued."""
    bot.delivery.track(job)
    try:
        await bot.backend.submit(job)
    except Exception:
        log.exception("submitting job %s failed", job.id)
        bot.delivery.untrack(job.id)
        job.error = "the job queue is unavailable; try again in a minute"
        await bot.delivery.message_of(job).edit(content=messages.failed(job, job.error), view=None)
        return False
    bot.delivery.submitted(job.id)
    return True


async def respond_with_job(bot: Services, interaction: discord.Interaction, job: Job) -> None:
    """Answer the interaction with `(Waiting to start)` (inside Discord's 3 s), then enqueue."""
    response = await interaction.response.send_message(
        messages.waiting(job), view=build_view(messages.cancel_buttons(job.id)),
        allowed_mentions=discord.AllowedMentions.none())
    observe_ack(interaction)
    message_id = response.message_id
    if message_id is None:
        message_id = (await interaction.original_response()).id
    job.message = message_ref(interaction, message_id)
    await submit(bot, job)


async def post_job(bot: Services, interaction: discord.Interaction, job: Job, reply_to: int | None) -> bool:
    """A job made by a button or a confirmed batch: its own channel message, replying to its parent.
    Whether it was queued; raises if Discord refused the message (nothing was queued then)."""
    channel = bot.get_partial_messageable(int(interaction.channel_id or 0))
    extra: dict[str, Any] = {}
    if reply_to is not None:
        extra["reference"] = discord.MessageReference(message_id=reply_to, channel_id=channel.id,
                                                      fail_if_not_exists=False)
    posted = await channel.send(messages.waiting(job), view=build_view(messages.cancel_buttons(job.id)),
                                allowed_mentions=discord.AllowedMentions.none(), **extra)
    job.message = message_ref(interaction, posted.id)
    return await submit(bot, job)


async def start_jobs(bot: Services, interaction: discord.Interaction, jobs: list[Job], load: UserLoad) -> None:
    """The first job answers the interaction; the rest of a batch get their own messages; then, if the
    user is at the running cap, Midjourney's "Job queued" notice. The caller admitted (and holds) `jobs`
    and releases the holds of those not submitted (bot/admission.py release_holds)."""
    await respond_with_job(bot, interaction, jobs[0])
    for job in jobs[1:]:
        await post_job(bot, interaction, job, reply_to=None)
    if notice := caps_notice(load, bot.settings.max_running_per_user):
        await interaction.followup.send(notice, ephemeral=True)


async def ephemeral(interaction: discord.Interaction, text: str) -> None:
    """A reply only the clicker sees; a follow-up when the interaction was already answered."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)
