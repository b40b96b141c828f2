"""Making a prompt's jobs and starting them: what /imagine does, and what a /describe or /shorten prompt
does once picked (bot/prompt_craft.py).

Parse for the requester's settings and channel, apply the channel's step limit, admit the jobs
(bot/admission.py), then either ask to confirm a big batch or answer with the first job's
`(Waiting to start)` and post the rest.
"""

from __future__ import annotations

import discord

from bot.admission import Request, admit, release_holds
from bot.confirmation import ask_to_confirm
from bot.guards import prompt_error
from bot.jobflow import ephemeral, start_jobs
from bot.link_check import REFUSED, unfetchable_link
from bot.planning import plan_imagine
from bot.services import Services
from bot.store import ChannelSettings
from midway.catalogue import Catalogue
from midway.contract import GenerationSpec, Job, Requester
from midway.prompt.errors import PromptError


def cap_steps(spec: GenerationSpec, channel: ChannelSettings, catalogue: Catalogue) -> GenerationSpec:
    """A channel's step limit lowers the engine's default instead of refusing the prompt."""
    if channel.max_steps is None or spec.engine is None or spec.engine not in catalogue:
        return spec
    steps = spec.steps or catalogue.get(spec.engine).steps
    return spec.model_copy(update={"steps": min(steps, channel.max_steps)})


def with_uploads(spec: GenerationSpec, uploads: dict[str, str]) -> GenerationSpec:
    if not uploads:
        return spec
    return spec.model_copy(update={"image_urls": [uploads.get(url, url) for url in spec.image_urls]})


def jobs_for(specs: list[GenerationSpec], requester: Requester, max_attempts: int) -> list[Job]:
    return [Job(spec=spec, requester=requester, lane=spec.lane, max_attempts=max_attempts) for spec in specs]


async def imagine_prompts(bot: Services, interaction: discord.Interaction, request: Request,
                          prompts: list[str], uploads: dict[str, str] | None = None) -> None:
    """Plan, check and start the jobs of `prompts` (one, for /imagine), answering `interaction`; a
    prompt the parser refuses is named and nothing starts. `uploads` maps an attachment's URL in a
    prompt to the blob ref the job reads it from. Whatever happens, the holds end here: the jobs' and
    the place the request's read reserved (bot/admission.py)."""
    held: list[Job] = []
    try:
        await plan_and_start(bot, interaction, request, prompts, uploads or {}, held)
    finally:
        await release_holds(bot, request.requester.user_id, held, reserved=request.context.reserved)


async def plan_and_start(bot: Services, interaction: discord.Interaction, request: Request, prompts: list[str],
                         uploads: dict[str, str], held: list[Job]) -> None:
    """imagine_prompts' steps; the jobs it holds go in `held`."""
    user, channel = request.context.user, request.context.channel
    specs: list[GenerationSpec] = []
    for prompt in prompts:
        try:
            planned = plan_imagine(prompt, user, channel, bot.catalogue, bot.settings)
        except PromptError as error:
            await ephemeral(interaction, prompt_error(error, prompt))
            return
        specs.extend(with_uploads(cap_steps(spec, channel, bot.catalogue), uploads) for spec in planned.specs)
    if refusal := await unfetchable_link(specs, bot.settings.fetch_allow_hosts):
        await ephemeral(interaction, f"{REFUSED}\n{refusal}")
        return
    jobs = jobs_for(specs, request.requester, bot.settings.max_attempts)
    request.first_job_id(jobs)
    # A batch that waits for a Yes is only checked now, and checked again at Yes (run_batch): jobs may
    # start or finish before then.
    confirm = len(jobs) > bot.settings.confirm_above
    verdict = await admit(bot, request, jobs, hold=not confirm)
    if verdict.refusal is not None:
        await ephemeral(interaction, verdict.refusal.message)
        return
    if confirm:
        await ask_to_confirm(bot, interaction, jobs)
        return
    held.extend(jobs)
    await start_jobs(bot, interaction, jobs, verdict.load)
