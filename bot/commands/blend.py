"""/blend: 2-5 uploaded images mixed into a new 2x2 grid (Midjourney's schema), run like /imagine.

The attachments are downloaded here (size-capped, bot/attachments.py) and stored as blobs, so the worker reads them from
Redis like any other image; the spec's `image_urls` carry the blob refs and its echoed prompt carries
the attachments' URLs (`**<url1> <url2> --ar 1:1** - <@user>`). Only engines that declare `blend` in
the catalogue can run it (the unCLIP family: it mixes CLIP image embeddings, engines/unclip.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.admission import admit, read_request, release_holds
from bot.attachments import AttachmentError, check_attachment, store_attachments
from bot.guards import cannot_post_here, prompt_error
from bot.imagining import cap_steps, jobs_for
from bot.jobflow import ephemeral, start_jobs
from bot.planning import append_suffix, blame_suffix, engine_for, fit_engine, parse_options
from bot.services import services
from bot.store import ChannelSettings, UserSettings
from midway.catalogue import Catalogue
from midway.contract import GenerationSpec, Operation
from midway.prompt.errors import PromptError
from midway.prompt.parser import parse_prompt
from midway.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services

# Midjourney's choices: Portrait 2:3, Square 1:1, Landscape 3:2.
DIMENSIONS = [app_commands.Choice(name="Portrait", value="2:3"), app_commands.Choice(name="Square", value="1:1"),
              app_commands.Choice(name="Landscape", value="3:2")]


class BlendError(ValueError):
    """The blend cannot run as asked; the message is for the user."""


def pick_engine(preferred: Iterable[str | None], catalogue: Catalogue, live: set[str]) -> str:
    """The first preferred engine that can blend, else the first catalogue engine that can and has a
    live worker; BlendError naming why when there is none."""
    for name in preferred:
        if name and name in catalogue and Operation.blend in catalogue.get(name).capabilities:
            return name
    capable = [entry.name for entry in catalogue if Operation.blend in entry.capabilities]
    for name in sorted(capable):
        if name in live:
            return name
    if not capable:
        raise BlendError("No engine in this server's catalogue can blend images (it needs an unCLIP engine, "
                         "such as kandinsky22).")
    raise BlendError(f"No worker is running an engine that can blend ({', '.join(sorted(capable))}); "
                     "try again when one is up.")


def blend_text(urls: list[str], dimensions: str | None, suffix: str) -> str:
    """The prompt to parse: the images, the chosen `--ar` (it beats the suffix's), then the suffix;
    Square when neither names an aspect ratio."""
    text = " ".join(urls) + (f" --ar {dimensions}" if dimensions else "")
    text = append_suffix(text, suffix)
    if " --ar " not in f" {text} " and " --aspect " not in f" {text} ":
        text += " --ar 1:1"
    return text


def plan_blend(urls: list[str], refs: list[str], dimensions: str | None, user: UserSettings,
               channel: ChannelSettings, catalogue: Catalogue, settings: Settings, live: set[str]
               ) -> list[GenerationSpec]:
    """The specs of a /blend (one per `--repeat` copy); PromptError or BlendError for the user."""
    text = blend_text(urls, dimensions, user.suffix)
    channel_engine = engine_for(channel, settings)
    entry = catalogue.get(channel_engine) if channel_engine in catalogue else next(iter(catalogue))
    try:
        specs = parse_prompt(text, parse_options(entry, catalogue, user, settings))
    except PromptError as error:
        # The images and dimensions come from the bot: a text that does not parse is the saved suffix's.
        blamed = blame_suffix(error, user)
        if blamed is error:
            raise
        raise blamed from error
    engine = pick_engine([specs[0].engine if specs[0].version else None, channel_engine], catalogue, live)
    blended = []
    for spec in specs:
        spec = fit_engine(spec.model_copy(update={"engine": engine}), catalogue, user.stylize, user.draft,
                          allowed_loras=channel.loras)
        blended.append(spec.model_copy(update={"operation": Operation.blend, "prompt": "", "weights": [],
                                               "image_urls": refs}))
    return blended


@app_commands.command(name="blend", description="Blend 2-5 images into new ones")
@app_commands.describe(image1="First image", image2="Second image", dimensions="Aspect ratio of the result",
                       image3="Third image", image4="Fourth image", image5="Fifth image")
@app_commands.choices(dimensions=DIMENSIONS)
async def blend(interaction: discord.Interaction, image1: discord.Attachment, image2: discord.Attachment,
                dimensions: app_commands.Choice[str] | None = None, image3: discord.Attachment | None = None,
                image4: discord.Attachment | None = None, image5: discord.Attachment | None = None) -> None:
    bot = services(interaction)
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    attachments = [a for a in (image1, image2, image3, image4, image5) if a is not None]
    request = await read_request(bot, interaction)
    user, channel = request.context.user, request.context.channel
    urls = [attachment.url for attachment in attachments]
    ratio = dimensions.value if dimensions else None
    try:
        # Checked, planned and admitted before the download: a refusal costs no bandwidth and stores nothing.
        for number, attachment in enumerate(attachments, start=1):
            check_attachment(f"image{number}", attachment)
        live = await bot.backend.live_engines()
        specs = plan_blend(urls, urls, ratio, user, channel, bot.catalogue, bot.settings, live)
    except PromptError as error:
        await ephemeral(interaction, prompt_error(error, " ".join(urls)))
        return
    except (BlendError, AttachmentError) as error:
        await ephemeral(interaction, f"**Cannot blend**\n{error}")
        return
    jobs = jobs_for([cap_steps(spec, channel, bot.catalogue) for spec in specs], request.requester,
                    bot.settings.max_attempts)
    verdict = await admit(bot, request, jobs)
    if verdict.refusal is not None:
        await ephemeral(interaction, verdict.refusal.message)
        return
    try:
        # The jobs are held (they count against the caps) while their images upload to the blob store.
        try:
            refs = await store_attachments(bot, attachments)
        except AttachmentError as error:
            await ephemeral(interaction, f"**Cannot blend**\n{error}")
            return
        jobs = [job.model_copy(update={"spec": job.spec.model_copy(update={"image_urls": refs})}) for job in jobs]
        await start_jobs(bot, interaction, jobs, verdict.load)
    finally:
        await release_holds(bot, request.requester.user_id, jobs)


def setup(bot: Services) -> None:
    bot.tree.add_command(blend)
