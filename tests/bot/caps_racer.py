"""One "bot process" of tests/bot/test_caps_across_processes.py: the real admission of an /imagine (its
context read reserving a place, bot/admission.py `admit`, the Redis scripts) and the real submit
(JobStore.submit_many) against a shared Redis, with no Discord in between. Each round it waits for the
test's go, fires its requests for that round's user at once, submits what was admitted, and reports the
admitted job ids.

    python -m tests.bot.caps_racer REDIS_URL NAME ROUNDS REQUESTS [--draft]
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from typing import cast

import redis
import redis.asyncio as aioredis

from bot.admission import Request, admit, caps_total, release_holds
from bot.context import Reservation, read_context
from bot.services import Services
from midway.catalogue import SHIPPED_CATALOGUE, Catalogue, load_catalogue
from midway.contract import GenerationSpec, Job, Requester, new_job_id
from midway.jobs import JobStore
from midway.settings import Settings

MAX_RUNNING, MAX_QUEUED = 1, 3


def go_key(round_number: int, name: str) -> str:
    return f"test:caps:go:{round_number}:{name}"


def done_key(round_number: int) -> str:
    return f"test:caps:done:{round_number}"


READY = "test:caps:ready"


def round_user(round_number: int) -> str:
    return f"racer-{round_number}"


@dataclass
class Admitting:
    """What `admit` uses of the bot (bot/services.py Services): its settings, catalogue and Redis."""

    settings: Settings
    catalogue: Catalogue
    aioredis: aioredis.Redis


async def request_one(bot: Admitting, jobs: JobStore, user_id: str, draft: bool) -> str | None:
    """One /imagine's admission and submit, as bot/commands/imagine.py and bot/imagining.py do them; the
    job id if admitted."""
    requester = Requester(user_id=user_id, channel_id="c")
    services = cast("Services", bot)
    # As /imagine reads: a place reserved unless the prompt says --draft.
    reserve = None if draft else Reservation(new_job_id(), caps_total(bot.settings))
    context = await read_context(bot.aioredis, user_id, "c", None, reserve=reserve)
    request = Request(requester, context)
    job = Job(spec=GenerationSpec(prompt="a kite", engine="tiny", draft=draft), requester=requester)
    request.first_job_id([job])
    try:
        verdict = await admit(services, request, [job])
        if verdict.refusal is not None:
            return None
        # Off the event loop, as bot/backend.py submits; the other requests keep racing meanwhile.
        await asyncio.to_thread(jobs.submit_many, [job], list_for_user=True)
    finally:
        await release_holds(services, user_id, [job], reserved=context.reserved)
    return job.id


async def main(url: str, name: str, rounds: int, requests: int, draft: bool) -> None:
    settings = Settings(redis_url=url, max_running_per_user=MAX_RUNNING, max_queued_per_user=MAX_QUEUED)
    bot = Admitting(settings, load_catalogue(SHIPPED_CATALOGUE), aioredis.Redis.from_url(url))
    sync = redis.Redis.from_url(url)
    jobs = JobStore(sync, settings)
    sync.rpush(READY, name)  # imported and connected: the test releases both processes together
    for round_number in range(rounds):
        await asyncio.to_thread(sync.blpop, [go_key(round_number, name)], 30)
        user_id = round_user(round_number)
        admitted = await asyncio.gather(*(request_one(bot, jobs, user_id, draft) for _ in range(requests)))
        sync.rpush(done_key(round_number), json.dumps([job_id for job_id in admitted if job_id]))
    await bot.aioredis.aclose()


if __name__ == "__main__":
    url, name, rounds, requests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(url, name, rounds, requests, draft="--draft" in sys.argv[5:]))
