"""The confirmation that a big batch (permutations, `--repeat` above settings.confirm_above) waits for:
the ephemeral Yes / No question, and the press that submits it or declines it.

/imagine asks; the Yes and No buttons reach `run_batch` through bot/actions.py. A batch is stored in
Redis (bot/store.py) for 15 minutes and taken once.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING

import discord

from bot import messages
from bot.admission import admit, read_request, release_holds, waiting_helps
from bot.jobflow import ephemeral, post_job
from bot.policy import PolicyError
from bot.views import build_view
from midway.contract import Job

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

BATCH_GONE = "That batch was already submitted, declined or has expired."
# A Yes refused by the caps keeps its batch: the user presses Yes again once jobs finish, as Midjourney's
# own "queue full" asks them to wait, instead of typing the prompt again.
BATCH_KEPT = ("-# Nothing was submitted. Press **Yes** again once some of your jobs finish; this question "
              "stays open 15 minutes after you asked.")



async def ask_to_confirm(bot: Services, interaction: discord.Interaction, jobs: list[Job]) -> None:
    """Permutations and --repeat above settings.confirm_above wait for a Yes (kept 15 minutes)."""
    batch_id = str(uuid.uuid4())
    payload = {"user_id": str(interaction.user.id), "jobs": [job.model_dump(mode="json") for job in jobs]}
    await bot.store.save_batch(batch_id, json.dumps(payload))
    await interaction.response.send_message(
        messages.confirm_batch(len(jobs), messages.echo_prompt(jobs[0])),
        view=build_view(messages.confirm_buttons(batch_id)), ephemeral=True)


async def run_batch(bot: Services, interaction: discord.Interaction, batch_id: str, confirmed: bool) -> None:
    """The Yes / No of a confirmation: each job gets its own message; a batch runs at most once. Yes
    checks the policy again (the user's jobs and the server's rules may have changed since /imagine)."""
    payload = await bot.store.peek_batch(batch_id)
    if payload is None:
        await ephemeral(interaction, BATCH_GONE)
        return
    batch = json.loads(payload)
    if batch["user_id"] != str(interaction.user.id):
        await ephemeral(interaction, "Only the person who typed the prompt can confirm it.")
        return
    # Read as records are (a bot of another release may have stored the batch during a rolling deploy).
    jobs = [Job.from_record(json.dumps(raw)) for raw in batch["jobs"]]
    refusal, wait = await recheck(bot, interaction, jobs) if confirmed else (None, False)
    if refusal is not None and wait:
        # Refused for the user's load alone: the batch stays, for a Yes once some jobs have finished.
        await ephemeral(interaction, f"{refusal.message}\n{BATCH_KEPT}")
        return
    # Taken once (GETDEL): of two Yes pressed together, one submits and the other is told it is gone.
    if await bot.store.pop_batch(batch_id) is None:
        # The other Yes holds these very jobs (holds are by job id) and releases them itself.
        await ephemeral(interaction, BATCH_GONE)
        return
    if refusal is not None:  # a rule (a banned word, a channel limit) that waiting will not change
        await interaction.response.edit_message(content=f"{refusal.message}\n-# Nothing was submitted.", view=None)
    elif not confirmed:
        await interaction.response.edit_message(content="Cancelled; nothing was submitted.", view=None)
    else:
        await interaction.response.edit_message(content=f"Submitting {len(jobs)} jobs.", view=None)
        await post_batch(bot, interaction, jobs)


async def recheck(bot: Services, interaction: discord.Interaction,
                  jobs: list[Job]) -> tuple[PolicyError | None, bool]:
    """The check /imagine made, on the user's load and the server's rules now, and whether a refusal is
    for the load alone (it passes once jobs finish). Passed, the jobs count as the user's
    (held in Redis: bot/holds.py) from this moment, in every bot process."""
    request = await read_request(bot, interaction)
    verdict = await admit(bot, request, jobs)
    if verdict.refusal is None:
        return None, False
    return verdict.refusal, waiting_helps(bot, request, jobs)


async def post_batch(bot: Services, interaction: discord.Interaction, jobs: list[Job]) -> None:
    """Post and submit a confirmed batch; if a job cannot be posted, stop there and say how far it got."""
    posted, why = 0, None
    try:
        for job in jobs:
            if not await post_job(bot, interaction, job, reply_to=None):
                why = "Midway can't reach its job queue right now"  # that job's message says so too
                break
            posted += 1
    except discord.HTTPException as error:
        why = f"Discord refused a message in this channel (HTTP {error.status})"
    finally:
        await release_holds(bot, str(interaction.user.id), jobs)
    if why is not None:
        log.warning("a confirmed batch stopped after %d of %d jobs: %s", posted, len(jobs), why)
        await ephemeral(interaction, f"**Couldn't submit every job**\n{why}: {posted} of {len(jobs)} jobs were "
                                     f"submitted, the rest were not.")
