"""The one way a request's jobs get in: read its context, then check the policy and hold its jobs.

Every entry point that makes jobs (/imagine, /blend, a job button, a batch's Yes) reads the
requester's settings and load with `read_request` and passes its jobs through `admit`. Between a
request's check and its jobs' submits there is a reply, a message per job and a submit batch, in
which Redis does not count those jobs yet (bot/posting.py); so `admit` adds the jobs this process
is still posting to the load it checks, and on a pass holds the new jobs in `store.posting` before
any other request's check can run: it is synchronous, so nothing runs between the check and the
hold. The caller ends the hold (`store.posting.end`) once the jobs are submitted or given up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import discord

from bot.context import RequestContext, read_context
from bot.guards import limits_of
from bot.jobflow import requester_of
from bot.policy import PolicyError, UserLoad, check_banned, check_caps, check_channel
from bot.services import Services
from bot.store import ChannelSettings, GuildSettings
from midway.contract import GenerationSpec, Job, Requester
from midway.settings import Settings

IDLE = UserLoad(running=0, queued=0)


@dataclass(frozen=True)
class Request:
    """Who asks, their settings and load as read, and when that read began (time.monotonic())."""

    requester: Requester
    context: RequestContext
    since: float


@dataclass(frozen=True)
class Verdict:
    """A request's check: the load it was checked on (the queue notice reads it), and the refusal."""

    load: UserLoad
    refusal: PolicyError | None


async def read_request(bot: Services, interaction: discord.Interaction, job_id: str | None = None) -> Request:
    """The requester's settings and load (and `job_id`'s record, for a button press) in one round trip."""
    requester = requester_of(interaction)
    since = time.monotonic()
    context = await read_context(bot.aioredis, requester.user_id, requester.channel_id, requester.guild_id, job_id)
    return Request(requester, context, since)


def admit(bot: Services, request: Request, jobs: list[Job], *, hold: bool = True) -> Verdict:
    """Check `jobs` against the server's rules and the user's caps, on the load Redis reported plus the
    jobs this process is still posting. Passed and `hold`, the jobs count as the user's from now.
    `hold=False` checks only: a batch that waits for a Yes is checked again then."""
    user_id = request.requester.user_id
    load = bot.store.posting.load_of(user_id, request.context.load, request.since)
    specs = [job.spec for job in jobs]
    refusal = check_request(bot.settings, request.context.channel, request.context.guild, specs, load)
    if refusal is None and hold:
        bot.store.posting.begin(user_id, [job.id for job in jobs])
    return Verdict(load, refusal)


def waiting_helps(bot: Services, request: Request, jobs: list[Job]) -> bool:
    """Whether a refused request would pass with none of the user's jobs unfinished: refused for the
    load alone, it passes once jobs finish (a banned word or a channel limit never does)."""
    specs = [job.spec for job in jobs]
    return check_request(bot.settings, request.context.channel, request.context.guild, specs, IDLE) is None


def check_request(settings: Settings, channel: ChannelSettings, guild: GuildSettings,
                  specs: list[GenerationSpec], load: UserLoad) -> PolicyError | None:
    """Banned words first (they name the word), then the channel's limits, then the user's caps."""
    banned = set(guild.banned_words)
    for spec in specs:
        if error := check_banned(spec, banned):
            return error
    limits = limits_of(channel)
    for spec in specs:
        if error := check_channel(spec, limits, load, extra=len(specs)):
            return error
    return check_caps(load, settings.max_running_per_user, settings.max_queued_per_user, extra=len(specs))
