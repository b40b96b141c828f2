"""A job button's press, checked, claimed once and answered: the steps every press and modal submit share.

Every press is checked (the job exists, belongs to this server, has that image), claimed once in
Redis (a second press, by anyone, gets a link to the first press's job), answered within Discord's
3 s by turning the pressed button blue, and only then does the slow part (posting, enqueueing). If
that part fails, the press is undone (claim released, button grey again) and the clicker told why.
What each button then does is bot/actions.py; which handler a press or submit reaches, bot/routing.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING

import discord
import redis

from bot import messages
from bot.admission import Request, admit, release_holds
from bot.context import RequestContext, read_context, read_job
from bot.custom_ids import Action, ButtonRef, CustomIdError, decode
from bot.delivery import result_nonce
from bot.derive import DeriveError, capabilities_of, derive
from bot.guards import cannot_post_here
from bot.jobflow import ephemeral, message_ref, post_job, requester_of
from bot.link_check import REFUSED, links_of, unfetchable_link
from bot.services import services
from bot.views import build_view
from midway.contract import GenerationSpec, Job
from midway.errors import EngineError
from midway.prompt.options import random_seed
from midway.region import Region

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

STALE = "**Unknown job**\nThat job no longer exists (or never did) on this server."
NOT_ON_MESSAGE = "**Unknown button**\nThat button is not on this message; nothing was done."
UNKNOWN_BUTTON = ("**Unknown button**\nThis button was not made by this bot, or is from a version that no "
                  "longer exists. Use `/show <job id>` to get fresh buttons.")


def listed_custom_ids(message: discord.Message | None) -> set[str]:
    """The custom_ids a message really shows (Discord's own client can only send these)."""
    if message is None:
        return set()
    found = set()
    for row in message.components:
        for child in getattr(row, "children", [row]):
            if custom_id := getattr(child, "custom_id", None):
                found.add(custom_id)
    return found


async def clicker_context(bot: Services, interaction: discord.Interaction,
                          job_id: str | None = None) -> RequestContext:
    """The clicker's settings and load (and `job_id`'s record)."""
    clicker = requester_of(interaction)
    return await read_context(bot.aioredis, clicker.user_id, clicker.channel_id, clicker.guild_id, job_id)


def request_of(interaction: discord.Interaction, context: RequestContext) -> Request:
    """The admission request of a press whose context clicker_context read."""
    return Request(requester_of(interaction), context)


async def pressed_job(bot: Services, interaction: discord.Interaction, job_id: str) -> RequestContext | None:
    """The clicker's context with the pressed job's record, or None (after saying so) when that job is
    gone or belongs to another server."""
    context = await clicker_context(bot, interaction, job_id)
    if context.job is None or not made_in_this_guild(context.job, interaction):
        await ephemeral(interaction, STALE)
        return None
    return context


def made_in_this_guild(job: Job | None, interaction: discord.Interaction) -> bool:
    """A job is only ever acted on from the server it was made in (custom_ids can be forged)."""
    guild_id = str(interaction.guild_id) if interaction.guild_id else None
    return job is not None and job.requester.guild_id == guild_id


async def refuse_unlisted(interaction: discord.Interaction, custom_id: str) -> None:
    """Explain, ephemerally, why a forged click (its custom_id is not on the message) does nothing:
    malformed, an unknown job, a job of another server (said the same way, so a forger cannot probe
    other servers' job ids), or a real job whose button is elsewhere. Nothing is ever queued."""
    bot = services(interaction)
    try:
        ref = decode(custom_id)
    except CustomIdError:
        await ephemeral(interaction, UNKNOWN_BUTTON)
        return
    if ref.action in (Action.confirm, Action.decline):
        await ephemeral(interaction, NOT_ON_MESSAGE)
        return
    known = made_in_this_guild(await read_job(bot.aioredis, ref.job_id), interaction)
    await ephemeral(interaction, NOT_ON_MESSAGE if known else STALE)


def claim_name(ref: ButtonRef, job: Job) -> str:
    """What a press claims: the button, and for modal buttons (Vary (Region), Custom Zoom) also what the
    modal asked for, so the same request twice makes one job while a different region or zoom makes
    another (Midjourney lets you edit one image many ways)."""
    if ref.action not in (Action.vary_region, Action.custom_zoom):
        return ref.action.value
    spec = job.spec
    asked = f"{spec.region}|{spec.zoom}|{spec.width}x{spec.height}|{spec.full_prompt}"
    return f"{ref.action.value}:{hashlib.sha1(asked.encode()).hexdigest()[:12]}"


async def run_action(bot: Services, interaction: discord.Interaction, parent: Job, ref: ButtonRef,
                     remix: GenerationSpec | None = None, region: Region | None = None,
                     zoom: float | None = None, context: RequestContext | None = None) -> None:
    """Derive the job, check it, claim the button and answer; then post or enqueue. Everything before
    the answer is time Discord counts against its 3 s: two Redis round trips in all, the context
    (given, read by clicker_context) and the claim."""
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    clicker = requester_of(interaction)
    if context is None:
        context = await clicker_context(bot, interaction)
    user, channel = context.user, context.channel
    try:
        job = derive(parent, ref.action, ref.index, clicker, lane=user.lane, variation_mode=user.variation,
                     entry=bot.catalogue.get(parent.spec.engine or bot.settings.default_engine),
                     seed=random_seed(), remix=remix, region=region, zoom=zoom, max_side=channel.max_side,
                     catalogue=bot.catalogue)
    except (DeriveError, EngineError) as error:
        await ephemeral(interaction, f"**Can't do that**\n{error}")
        return
    # A Remix may edit a reference link: checked as /imagine checks its prompt's, before any job exists.
    if remix is not None and (refusal_text := await unfetchable_link([job.spec], bot.settings.fetch_allow_hosts,
                                                                     known=links_of([parent.spec]))):
        await ephemeral(interaction, f"{REFUSED}\n{refusal_text}")
        return
    claimed = claim_name(ref, job)
    if ref.action is not Action.upscale:
        refusal = (await admit(bot, Request(clicker, context), [job])).refusal
        if refusal is not None:
            # Someone's earlier press of this button still wins over the refusal: it links to that job.
            existing = await bot.store.claimed(parent.id, claimed, ref.index)
            await ephemeral(interaction, messages.already_running(await link_to(bot, existing))
                            if existing is not None else refusal.message)
            return
    try:
        existing, pressed = await bot.store.claim_and_press(parent.id, claimed, ref.index, job.id, ref.custom_id,
                                                            several=claimed != ref.action.value,
                                                            remixed=remix is not None)
        if existing is not None:
            await ephemeral(interaction, messages.already_running(await link_to(bot, existing)))
            return
        await press_and_post(bot, interaction, parent, ref, job, pressed)
    finally:
        if ref.action is not Action.upscale:
            await release_holds(bot, clicker.user_id, [job])


async def press_and_post(bot: Services, interaction: discord.Interaction, parent: Job, ref: ButtonRef, job: Job,
                         pressed: set[str]) -> None:
    """The press won its claim: answer with the pressed button blue, then post (and enqueue) its job. A
    failure undoes the press, so the button is not taken for a job that does not exist."""
    try:
        await show_pressed(bot, interaction, parent, pressed)
        # Answered: the rest (an image upload or a job's message and submit) lets other answers go first.
        await bot.ack_priority.until_idle()
        source_message = interaction.message.id if interaction.message else None
        if ref.action is Action.upscale:
            await post_split(bot, interaction, job, source_message)
            made = True
        else:
            made = await post_job(bot, interaction, job, reply_to=source_message)
    except Exception as error:
        log.warning("press %s: posting job %s failed; undoing the press", ref.custom_id, job.id, exc_info=True)
        await undo_press(bot, interaction, parent, ref, job, could_not_post(error))
        return
    except BaseException:
        # Cancelled (the bot is stopping): a shielded submit may still store the job, so the claim stays;
        # a later press takes it over if the job never appears (BotStore.claim_and_press).
        bot.store.press_over(job.id)
        raise
    if not made:  # the queue refused it; the job's message says so
        await undo_press(bot, interaction, parent, ref, job, could_not_post(redis.ConnectionError()))
        return
    bot.store.press_over(job.id)


def could_not_post(error: Exception) -> str:
    if isinstance(error, discord.Forbidden):
        why = "Discord refused Midway's message: it may not post in this channel"
    elif isinstance(error, discord.HTTPException):
        why = f"Discord refused Midway's message (HTTP {error.status})"
    elif isinstance(error, redis.RedisError):
        why = "Midway can't reach its job queue right now"
    else:
        why = "Something went wrong on Midway's side"
    return f"**Couldn't start that job**\n{why}, so nothing was made. The button is free again: press it later."


async def undo_press(bot: Services, interaction: discord.Interaction, parent: Job, ref: ButtonRef, job: Job,
                     text: str) -> None:
    """Release the claim, turn the button grey again (unless another press still holds it) and tell the
    clicker why, privately."""
    claimed = claim_name(ref, job)
    pressed = await bot.store.release(parent.id, claimed, ref.index, job.id, ref.custom_id,
                                      several=claimed != ref.action.value)
    message = interaction.message
    if pressed is not None and message is not None and interaction.response.is_done() and not message.flags.ephemeral:
        view = build_view(messages.result_buttons(parent, pressed, capabilities_of(bot.catalogue, parent)))
        try:
            await edit_pressed_message(interaction, view)
        except discord.HTTPException:
            log.warning("press %s: could not turn the button back", ref.custom_id, exc_info=True)
    await ephemeral(interaction, text)


_UPDATES = (discord.InteractionResponseType.deferred_message_update, discord.InteractionResponseType.message_update)


async def edit_pressed_message(interaction: discord.Interaction, view: discord.ui.View) -> None:
    """Edit the message whose button was pressed, once the press has been answered. An interaction's
    token edits only what it sent and `@original`, which after an update answer (type 6 or 7) is that
    message; after any other answer the bot edits its own message through the channel instead."""
    assert interaction.message is not None
    if interaction.response.type in _UPDATES:
        await interaction.edit_original_response(view=view)
    else:
        await interaction.message.edit(view=view)


async def show_pressed(bot: Services, interaction: discord.Interaction, parent: Job, pressed: set[str]) -> None:
    """Acknowledge the press by re-rendering the message's buttons with the pressed ones (this one
    included) blue."""
    view = build_view(messages.result_buttons(parent, pressed, capabilities_of(bot.catalogue, parent)))
    if interaction.response.is_done():
        if interaction.message is not None:
            await edit_pressed_message(interaction, view)
    elif interaction.message is not None and interaction.message.flags.ephemeral is False:
        await interaction.response.edit_message(view=view)
    else:
        await interaction.response.defer()


async def post_split(bot: Services, interaction: discord.Interaction, job: Job, reply_to: int | None) -> None:
    """U<i>: the image is already made; post it at once with its own buttons."""
    job.message = message_ref(interaction, reply_to)
    await bot.backend.save(job)
    posted = await bot.delivery.post_result(job, reply_to=reply_to, nonce=result_nonce(job.id))
    await bot.store.mark_delivered(job.id, str(posted.id))


async def link_to(bot: Services, job_id: str, wait_s: float = 1.5) -> str | None:
    """A link to the message of the job that won the claim; the winner may still be posting it, so
    wait a little (well inside Discord's 3 s) for the message to exist. A U<i> split has no message of
    its own until its image is posted (its message_id is the grid it replies to): only that counts."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        job = await bot.backend.get(job_id)
        if job is not None and job.message is not None:
            where = await bot.store.delivered(job_id) or (None if messages.is_split(job) else job.message.message_id)
            if where:
                return messages.job_link(job.requester.guild_id, job.message.channel_id, where)
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(0.1)
