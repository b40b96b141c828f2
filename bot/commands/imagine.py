"""/imagine: parse, apply policy, answer `(Waiting to start)` within 3 s, enqueue (thin shell over
bot/imagining.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.admission import read_request
from bot.attachments import AttachmentError, check_attachment, store_attachments
from bot.guards import cannot_post_here
from bot.imagining import imagine_prompts
from bot.jobflow import ephemeral
from bot.services import services

if TYPE_CHECKING:
    from bot.services import Services


@app_commands.command(name="imagine", description="Create images with Midway")
@app_commands.describe(prompt="The prompt to imagine",
                       image="An image prompt: its content guides the grid, weighted by --iw")
async def imagine(interaction: discord.Interaction, prompt: str, image: discord.Attachment | None = None) -> None:
    bot = services(interaction)
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    # Its read reserves the place of the one full job most prompts make: one round trip before the answer.
    # A draft counts as less than that (bot/admission.py); at worst a suffix's --draft is over-counted
    # until its submit. An upload is stored before its prompt is planned: that path holds by its own call.
    request = await read_request(bot, interaction, reserve=image is None and "--draft" not in prompt.lower())
    if image is None:
        await imagine_prompts(bot, interaction, request, [prompt])
        return
    # The upload goes first in the prompt, as an image link typed there would, so --iw and the echoed
    # prompt treat it alike; the job reads it from the blob store (bot/attachments.py), not Discord's CDN.
    try:
        check_attachment("image", image)
        [ref] = await store_attachments(bot, [image])
    except AttachmentError as error:
        await ephemeral(interaction, f"**Cannot use the image**\n{error}")
        return
    await imagine_prompts(bot, interaction, request, [f"{image.url} {prompt}"], uploads={image.url: ref})


def setup(bot: Services) -> None:
    bot.tree.add_command(imagine)
