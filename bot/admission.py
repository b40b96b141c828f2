"""The one way a request's jobs get in: read its context, then check the policy and hold its jobs.

Every entry point that makes jobs (/imagine, /blend, /describe, a job button, a batch's Yes) reads the
requester's settings with `read_request` and passes its jobs through `admit`. The rules that need no
count (banned words, a channel's step and side limits) are checked here; the caps, which count the
user's unfinished jobs, are checked and held in Redis in one script call (bot/holds.py), so two bot
processes admitting the same user's jobs at once cannot both take the last place. `admit` prices each
job first (Job.cost: a draft counts as part of a job). The caller ends the hold (`release_holds`) once
the jobs are submitted or given up.

/imagine has to answer within Discord's 3 s, and its jobs are only known once the prompt is parsed with
the settings the context read brings. So its read also reserves one full job's place (`reserve=True`)
in the same script call: a prompt that makes one job (the usual case) takes that place as its hold and
is admitted with no second round trip; any other (a batch, a draft, a tighter channel limit, a
reservation that did not fit) is checked and held by its own call, and the reservation released. No
place is reserved for a prompt saying `--draft` or a user in Draft mode: a draft counts as less.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot import holds
from bot.context import RequestContext, Reservation, read_context
from bot.guards import limits_of
from bot.jobflow import requester_of
from bot.policy import PolicyError, UserLoad, check_banned, check_caps, check_channel, queue_full
from bot.services import Services
from bot.store import ChannelSettings, GuildSettings
from midway.catalogue import Catalogue, job_cost
from midway.contract import GenerationSpec, Job, Requester, new_job_id
from midway.settings import Settings

IDLE = UserLoad(running=0, queued=0)


@dataclass(frozen=True)
class Request:
    """Who asks, and their settings and load as read."""

    requester: Requester
    context: RequestContext

    def first_job_id(self, jobs: list[Job]) -> None:
        """Give the request's first job the id its context read reserved a place for (if it did)."""
        if jobs and self.context.reserved is not None:
            jobs[0].id = self.context.reserved


@dataclass(frozen=True)
class Verdict:
    """A request's check: the load it was checked on (the queue notice reads it), and the refusal."""

    load: UserLoad
    refusal: PolicyError | None


async def read_request(bot: Services, interaction: discord.Interaction, job_id: str | None = None, *,
                       reserve: bool = False) -> Request:
    """The requester's settings and load (and `job_id`'s record, for a button press) in one round trip;
    `reserve`: with a full job's place held for the request's first job, if it fits (the caller releases
    it with `release_holds(..., reserved=)` whatever happens)."""
    requester = requester_of(interaction)
    reservation = Reservation(new_job_id(), caps_total(bot.settings)) if reserve else None
    context = await read_context(bot.aioredis, requester.user_id, requester.channel_id, requester.guild_id, job_id,
                                 reservation)
    return Request(requester, context)


async def admit(bot: Services, request: Request, jobs: list[Job], *, hold: bool = True) -> Verdict:
    """Check `jobs` against the server's rules and the user's caps. Passed and `hold`, the jobs count
    as the user's from now, in every bot process. `hold=False` checks only: a batch that waits for a
    Yes is checked again then."""
    price(jobs, bot.catalogue, bot.settings.default_engine)
    specs, costs = [job.spec for job in jobs], [job.cost for job in jobs]
    # What no count changes is refused without asking Redis (and holds nothing).
    if refusal := check_request(bot.settings, request.context.channel, request.context.guild, specs, costs, IDLE):
        return Verdict(request.context.load, refusal)
    limit = caps_limit(bot.settings, request.context.channel)
    if hold and reserved_for(request, jobs) and limit >= caps_total(bot.settings):
        # The context read held a full job's place for this very job, under the same limit.
        return Verdict(request.context.load, None)
    reply = await holds.hold(bot.aioredis, holds.HoldRequest(
        request.requester.user_id, limit, tuple((job.id, job.cost) for job in jobs), hold=hold))
    if reply.fits:
        return Verdict(reply.load, None)
    refusal = check_request(bot.settings, request.context.channel, request.context.guild, specs, costs, reply.load)
    # Redis counts in thousandths; at the very edge of a limit its verdict stands.
    return Verdict(reply.load, refusal or queue_full(reply.load, bot.settings.max_running_per_user,
                                                     bot.settings.max_queued_per_user, sum(costs)))


async def release_holds(bot: Services, user_id: str, jobs: Sequence[Job], *, reserved: str | None = None) -> None:
    """The request is over: the holds of its jobs not submitted go (a submitted job's went with its submit),
    and the place its read `reserved`, if no job took it."""
    job_ids = [job.id for job in jobs]
    if reserved is not None and reserved not in job_ids:
        job_ids.append(reserved)
    await holds.release(bot.aioredis, user_id, job_ids)


def price(jobs: list[Job], catalogue: Catalogue, default_engine: str) -> None:
    """Each job's cost against the caps (midway/catalogue.job_cost), to a thousandth, on its record."""
    for job in jobs:
        engine = job.spec.engine or default_engine
        job.cost = round(job_cost(job.spec, catalogue.get(engine)), 3) if engine in catalogue else 1.0


def reserved_for(request: Request, jobs: list[Job]) -> bool:
    """Whether the request is one full job whose place its read reserved. A draft (less than a full job)
    has its own hold call reprice that place: reserved at a full job, it would crowd out other drafts."""
    return len(jobs) == 1 and jobs[0].id == request.context.reserved and jobs[0].cost == 1


def caps_total(settings: Settings) -> int:
    return settings.max_running_per_user + settings.max_queued_per_user


def caps_limit(settings: Settings, channel: ChannelSettings) -> float:
    """The most a user's unfinished jobs may count as here: the caps, or the channel's tighter limit."""
    total = caps_total(settings)
    per_channel = limits_of(channel).max_jobs_per_user
    return total if per_channel is None else min(total, per_channel)


def waiting_helps(bot: Services, request: Request, jobs: list[Job]) -> bool:
    """Whether a refused request would pass with none of the user's jobs unfinished: refused for the
    load alone, it passes once jobs finish (a banned word or a channel limit never does)."""
    specs, costs = [job.spec for job in jobs], [job.cost for job in jobs]
    return check_request(bot.settings, request.context.channel, request.context.guild, specs, costs, IDLE) is None


def check_request(settings: Settings, channel: ChannelSettings, guild: GuildSettings,
                  specs: list[GenerationSpec], costs: list[float], load: UserLoad) -> PolicyError | None:
    """Banned words first (they name the word), then the channel's limits, then the user's caps."""
    banned = set(guild.banned_words)
    for spec in specs:
        if error := check_banned(spec, banned):
            return error
    limits = limits_of(channel)
    for spec in specs:
        if error := check_channel(spec, limits, load, extra=sum(costs)):
            return error
    return check_caps(load, settings.max_running_per_user, settings.max_queued_per_user, extra=sum(costs))
