"""/describe (an image -> four prompts) and /shorten (a prompt -> its important words and five shorter
prompts): thin shells that make one text job each, admitted like /imagine's, for a worker to answer.

/describe runs on the catalogue's captioning engine (settings.caption_engine); /shorten on the text encoder
of the engine the prompt would imagine with (the channel's, or the one `--v` names). The bot loads no model.
The answer is an embed (bot/text_answers.py); its buttons are bot/messages.text_buttons and bot/prompt_craft.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.admission import Request, admit, read_request, release_holds
from bot.attachments import AttachmentError, check_attachment, store_attachments
from bot.guards import cannot_post_here, prompt_error
from bot.jobflow import ephemeral, start_jobs
from bot.link_check import unfetchable
from bot.planning import plan_imagine
from bot.services import services
from midway.catalogue import Catalogue
from midway.contract import GenerationSpec, Job, Operation
from midway.prompt.errors import PromptError
from midway.prompt.options import random_seed

if TYPE_CHECKING:
    from bot.services import Services

ONE_IMAGE = "**Describe needs one image**\nAttach an image, or give a link to one (not both)."
MAX_LINK = 1000


class DescribeError(ValueError):
    """A /describe or /shorten that cannot run as asked; the message is for the user."""


def caption_engine(catalogue: Catalogue, name: str) -> str:
    if name not in catalogue or Operation.describe not in catalogue.get(name).capabilities:
        raise DescribeError(f"This server has no image captioning engine (`{name}` is not a `caption` engine in "
                            "its catalogue), so /describe cannot run.")
    return name


def checked_link(link: str) -> str:
    """A web link to an image, as typed. Where it points (no private address) is unfetchable()'s to check,
    before the job; what it serves (an image, not a bomb), the worker's as it fetches."""
    link = link.strip()
    if not link.lower().startswith(("https://", "http://")) or len(link) > MAX_LINK or any(c.isspace() for c in link):
        raise DescribeError("`link` must be one http(s) link to an image.")
    return link


def shorten_spec(spec: GenerationSpec, catalogue: Catalogue) -> GenerationSpec:
    """The planned prompt as a /shorten job; Midjourney's /shorten takes neither `::` multi-prompts nor `--no`."""
    if spec.weights or spec.negative_prompt:
        raise DescribeError("/shorten does not take `::` multi-prompts or `--no`; shorten the prompt without them.")
    if spec.engine is None or spec.engine not in catalogue or not catalogue.get(spec.engine).can_shorten:
        raise DescribeError(f"The engine `{spec.engine}` has no text encoder to score words with.")
    return spec.model_copy(update={"operation": Operation.shorten, "n_images": 1})


async def start_text_job(bot: Services, interaction: discord.Interaction, request: Request, job: Job,
                         upload: discord.Attachment | None = None) -> None:
    """Admit one /describe or /shorten job through the caps and start it; an `upload` is stored while the
    job is held against the caps, as /blend's are."""
    verdict = await admit(bot, request, [job])
    if verdict.refusal is not None:
        await ephemeral(interaction, verdict.refusal.message)
        return
    try:
        if upload is not None:
            try:
                refs = await store_attachments(bot, [upload])
            except AttachmentError as error:
                await ephemeral(interaction, f"**Cannot describe**\n{error}")
                return
            job.spec = job.spec.model_copy(update={"image_urls": refs})
        await start_jobs(bot, interaction, [job], verdict.load)
    finally:
        await release_holds(bot, request.requester.user_id, [job])


@app_commands.command(name="describe", description="Writes a prompt based on your image.")
@app_commands.describe(image="The image to describe", link="A link to the image to describe")
async def describe(interaction: discord.Interaction, image: discord.Attachment | None = None,
                   link: str | None = None) -> None:
    bot = services(interaction)
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    if (image is None) == (link is None):
        await ephemeral(interaction, ONE_IMAGE)
        return
    try:
        engine = caption_engine(bot.catalogue, bot.settings.caption_engine)
        if image is not None:
            check_attachment("image", image)
            shown = image.url
        else:
            shown = checked_link(link or "")
    except (DescribeError, AttachmentError) as error:
        await ephemeral(interaction, f"**Cannot describe**\n{error}")
        return
    # As for an image prompt's link (bot/imagining.py): a private or loopback address is refused now, by
    # the worker's own rule, rather than failing a job. An upload is fetched from Discord, not checked here.
    if link is not None and (refusal := await unfetchable([shown], bot.settings.fetch_allow_hosts)):
        await ephemeral(interaction, f"**Cannot describe**\n{refusal}")
        return
    request = await read_request(bot, interaction)
    spec = GenerationSpec(operation=Operation.describe, engine=engine, full_prompt=shown, image_urls=[shown],
                          seed=random_seed(), n_images=1, lane=request.context.user.lane)
    job = Job(spec=spec, requester=request.requester, lane=spec.lane, max_attempts=bot.settings.max_attempts)
    await start_text_job(bot, interaction, request, job, upload=image)


@app_commands.command(name="shorten", description="Analyzes your prompt and suggests shorter ones.")
@app_commands.describe(prompt="The prompt to shorten")
async def shorten(interaction: discord.Interaction, prompt: str) -> None:
    bot = services(interaction)
    if refusal_text := cannot_post_here(interaction):
        await ephemeral(interaction, refusal_text)
        return
    request = await read_request(bot, interaction)
    try:
        planned = plan_imagine(prompt, request.context.user, request.context.channel,
                               bot.catalogue, bot.settings)
        if len(planned.specs) != 1:
            raise DescribeError("/shorten takes one prompt: no `{…}` permutations or `--repeat`.")
        spec = shorten_spec(planned.specs[0], bot.catalogue)
    except PromptError as error:
        await ephemeral(interaction, prompt_error(error, prompt))
        return
    except DescribeError as error:
        await ephemeral(interaction, f"**Cannot shorten**\n{error}")
        return
    job = Job(spec=spec, requester=request.requester, lane=spec.lane, max_attempts=bot.settings.max_attempts)
    await start_text_job(bot, interaction, request, job)


def setup(bot: Services) -> None:
    bot.tree.add_command(describe)
    bot.tree.add_command(shorten)
