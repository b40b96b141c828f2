"""One "bot process" of tests/bot/test_caps_across_processes.py: the real admission (bot/admission.py
`admit`, its Redis script) and the real submit (JobStore.submit_many) against a shared Redis, with no
Discord in between. Each round it waits for the test's go, fires its requests for that round's user
at once, submits what was admitted, and reports the admitted job ids.

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

from bot.admission import Request, admit, release_holds
from bot.context import read_context
from bot.services import Services
from midway.catalogue import SHIPPED_CATALOGUE, Catalogue, load_catalogue
from midway.contract import GenerationSpec, Job, Requester
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
    """One /imagine's admission and submit, as bot/imagining.py does them; the job id if admitted."""
    requester = Requester(user_id=user_id, channel_id="c")
    context = await read_context(bot.aioredis, user_id, "c", None)
    job = Job(spec=GenerationSpec(prompt="a kite", engine="tiny", draft=draft), requester=requester)
    verdict = await admit(cast("Services", bot), Request(requester, context), [job])
    if verdict.refusal is not None:
        return None
    try:
        # Off the event loop, as bot/backend.py submits; the other requests keep racing meanwhile.
        await asyncio.to_thread(jobs.submit_many, [job], list_for_user=True)
    finally:
        await release_holds(cast("Services", bot), user_id, [job])
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
