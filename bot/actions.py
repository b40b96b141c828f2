"""What each job button does (U, V, 🔄, Vary, Upscale, Cancel, batch Yes/No), once bot/routing.py has
decoded its custom_id: a modal first (Remix, Vary (Region), Custom Zoom), the batch confirmation, a
cancel, or straight to bot/presses.run_action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.confirmation import run_batch
from bot.custom_ids import Action, ButtonRef
from bot.edit_modals import CustomZoomModal, RegionModal
from bot.guards import is_channel_admin
from bot.jobflow import ephemeral
from bot.messages import TEXT_OPERATIONS
from bot.presses import pressed_job, run_action
from bot.prompt_craft import imagine_all, open_pick
from bot.remix import REMIXABLE, RemixModal
from bot.services import services
from midway.contract import Job, JobStatus

if TYPE_CHECKING:
    from bot.services import Services


async def handle_button(interaction: discord.Interaction, ref: ButtonRef) -> None:
    bot = services(interaction)
    if ref.action in (Action.confirm, Action.decline):
        await run_batch(bot, interaction, ref.job_id, ref.action is Action.confirm)
        return
    # The job, the clicker's settings and load in one batched round trip: a burst of presses answers
    # after as few waits on Redis as possible (bench/ack_load.py's press burst).
    context = await pressed_job(bot, interaction, ref.job_id)
    if context is None or (parent := context.job) is None:
        return
    if ref.action is Action.cancel:
        await cancel(bot, interaction, parent)
        return
    if ref.action is Action.custom_zoom:
        await interaction.response.send_modal(CustomZoomModal(ref, parent))
        return
    if ref.action is Action.vary_region:
        await interaction.response.send_modal(RegionModal(ref, parent, remix=context.user.remix))
        return
    if ref.action is Action.pick:
        await open_pick(interaction, parent, ref)
        return
    if ref.action is Action.imagine_all:
        await imagine_all(interaction, parent, context)
        return
    # A /describe's 🔄 reads the image again: there is no prompt to remix.
    if ref.action in REMIXABLE and context.user.remix and parent.spec.operation not in TEXT_OPERATIONS:
        await interaction.response.send_modal(RemixModal(ref, parent))
        return
    await run_action(bot, interaction, parent, ref, context=context)


async def cancel(bot: Services, interaction: discord.Interaction, job: Job) -> None:
    if str(interaction.user.id) != job.requester.user_id and not is_channel_admin(interaction):
        await ephemeral(interaction, "**Not your job**\nOnly the person who started it can cancel it.")
        return
    after = await bot.backend.cancel(job.id)
    if after is None or (after.status.finished and after.status is not JobStatus.cancelled):
        await ephemeral(interaction, "That job has already finished.")
        return
    await ephemeral(interaction, "Cancelled." if after.status.finished else "Stopping the job…")
