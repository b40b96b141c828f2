"""Posting a finished job's result: the grid (or single image) with its buttons, replying to its message.

Used by the result delivery (bot/delivery.py, once per job), by the U buttons of a grid whose image is
split out without a worker (bot/actions.py), and by /show (a deliberate re-post).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import discord

from bot import messages, render, text_answers
from bot.backend import Backend
from bot.derive import capabilities_of
from bot.safety_policy import PLAIN, Treatment, allowed_buttons, flagged_images, treatment
from bot.store import BotStore
from bot.views import build_view
from midway.blobs import is_ref
from midway.contract import Job, Operation

log = logging.getLogger(__name__)

# /describe's answer shows the image it read as a thumbnail in its embed, not the upload again at
# full size: enough to recognise it (BLIP itself reads it at 384 px), a fraction of the bytes to post.
DESCRIBED_SIDE = 512


def result_nonce(job_id: str) -> str:
    """The nonce of a job's result post: the same for every attempt at that job, different for every
    job, and within Discord's 25 characters (midway/discord_limits.MESSAGE_NONCE): "r" + 96 bits of hash."""
    return "r" + hashlib.sha256(job_id.encode()).hexdigest()[:24]


def job_channel(client: discord.Client, job: Job) -> discord.PartialMessageable:
    """The channel of the job's message, with its server, so a message's jump_url (/show answers with
    it) opens it rather than a DM path (@me)."""
    assert job.message is not None
    guild_id = int(job.requester.guild_id) if job.requester.guild_id else None
    return client.get_partial_messageable(int(job.message.channel_id), guild_id=guild_id)


def capabilities(client: discord.Client, job: Job) -> frozenset[Operation]:
    catalogue = getattr(client, "catalogue", None)
    return capabilities_of(catalogue, job) if catalogue is not None else frozenset()


async def post_result(client: discord.Client, backend: Backend, store: BotStore, job: Job,
                      reply_to: int | None = None, nonce: str | None = None) -> discord.Message:
    """Post a finished job as a new channel message (never through the 15-minute interaction token).
    `nonce`: `result_nonce(job.id)` when the post must happen once per job (Discord returns the message
    already made for a resend); None for a deliberate re-post (/show)."""
    assert job.message is not None
    content = messages.result_text(job)
    treated = await safety_treatment(client, store, job)
    # Only what is given: discord.py's send treats a passed None as "given" for some of these.
    extra: dict[str, Any] = {}
    if job.spec.operation in messages.TEXT_OPERATIONS:
        files = await described_image(backend, job)
        # The thumbnail, when there is one, is shown inside the embed (and only there, as Discord does).
        shown = f"attachment://{files[0].filename}" if files else text_answers.shown_link(job)
        answer = text_answers.text_answer(job, shown)
        content, extra["embed"] = answer.content, answer.embed()
    elif treated.blocked:
        files = []
    else:
        grid = await backend.blob(job.grid)
        outputs = [await backend.blob(ref) for ref in job.outputs] if grid is None else []
        image = render.result_image(job, grid, outputs)
        files = [render.as_file(job, *image, spoiler=treated.spoiler)] if image else []
        if image is None:
            content += "\n-# The images have expired; use 🔄 to make them again."
    if treated.note:
        content += "\n" + treated.note
    buttons = messages.result_buttons(job, await store.used(job.id), capabilities(client, job))
    view = build_view(allowed_buttons(buttons, treated))
    reference_id = reply_to or (int(job.message.message_id) if job.message.message_id else None)
    if reference_id is not None:
        extra["reference"] = discord.MessageReference(message_id=reference_id, channel_id=int(job.message.channel_id),
                                                      fail_if_not_exists=False)
    if nonce is not None:
        extra["nonce"] = nonce
    channel = job_channel(client, job)
    # Only the requester is pinged: the prompt echoed in `content` may hold @everyone, roles or users.
    requester = job.requester.user_id
    pinged = [discord.Object(int(requester))] if requester.isdigit() else []  # a Discord id, not a CLI name
    return await channel.send(content=content, files=files, view=view,
                              allowed_mentions=discord.AllowedMentions(users=pinged, replied_user=False), **extra)


async def safety_treatment(client: discord.Client, store: BotStore, job: Job) -> Treatment:
    """The server's safety policy for this job's flagged images, in the channel it posts to."""
    if not flagged_images(job):
        return PLAIN
    guild = await store.guild(job.requester.guild_id)
    nsfw = await channel_is_nsfw(client, job) if guild.safety_nsfw_exempt else False
    return treatment(job, guild.safety, channel_nsfw=nsfw, nsfw_exempt=guild.safety_nsfw_exempt)


async def channel_is_nsfw(client: discord.Client, job: Job) -> bool:
    """Whether the job's channel is age-restricted, as Discord says (`is_nsfw()`; a thread's is its parent's):
    from the gateway's cache, else from a GET of the channel. Unknown counts as not, so the filter applies."""
    assert job.message is not None
    channel_id = int(job.message.channel_id)
    channel: object = client.get_channel(channel_id)
    if channel is None:
        try:
            channel = await client.fetch_channel(channel_id)
        except discord.HTTPException:
            log.info("job %s: cannot read channel %s; treating it as not age-restricted", job.id, channel_id)
            return False
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False


async def described_image(backend: Backend, job: Job) -> list[discord.File]:
    """The image a /describe read, as a thumbnail for its embed while its upload is still stored (a link
    the user gave is shown by its URL instead: text_answers.shown_link)."""
    if job.spec.operation is not Operation.describe or not job.spec.image_urls:
        return []
    data = await backend.blob(job.spec.image_urls[0]) if is_ref(job.spec.image_urls[0]) else None
    if data is None:
        return []
    try:
        # Decoding an upload of up to 10 MB takes long enough to stall every other interaction's reply.
        image = await asyncio.to_thread(render.thumbnail, data, DESCRIBED_SIDE, render.size_limit(job))
    except OSError:  # not an image after all: the worker said so in the job's message
        return []
    return [render.as_file(job, *image)]
