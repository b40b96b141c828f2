"""The /imagine acknowledgement path's fast pieces behave exactly like the slow ones they replaced:
prebuilt button payloads equal discord.ui's, and batched context reads return each caller its own."""

from __future__ import annotations

import asyncio
import uuid

import discord
import pytest
import redis.asyncio as aioredis

from bot import messages
from bot.context import read_context
from bot.store import BotStore
from bot.views import build_view
from midway.contract import Operation


def discord_ui_components(specs: list[messages.ButtonSpec]) -> list[dict]:
    view = discord.ui.View(timeout=None)
    for spec in specs:
        view.add_item(discord.ui.Button(label=spec.label, custom_id=spec.custom_id, row=spec.row, emoji=spec.emoji,
                                        style=getattr(discord.ButtonStyle, spec.style.value)))
    return view.to_components()


async def test_button_payloads_match_discord_ui() -> None:
    job_id = str(uuid.uuid4())
    layouts = [messages.cancel_buttons(job_id), messages.confirm_buttons(job_id),
               messages.grid_buttons(job_id, {messages.grid_buttons(job_id)[2].custom_id}),
               messages.single_buttons(job_id, 1, capabilities=frozenset(Operation), square=False)]
    for specs in layouts:
        view = build_view(specs)
        assert view.to_components() == discord_ui_components(specs)
        # discord.py keeps unfinished views per message; these must never be kept.
        assert view.is_finished() and not view.is_dispatchable()
    assert build_view([]).to_components() == []


@pytest.fixture
async def aio(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_concurrent_context_reads_each_get_their_own_settings(aio) -> None:
    store = BotStore(aio)
    for index in range(0, 40, 2):
        await store.update_user(f"u{index}", lambda s, i=index: setattr(s, "suffix", f"--s {i}"))
    await store.update_guild("g1", lambda g: g.banned_words.append("fox"))
    contexts = await asyncio.gather(*(read_context(aio, f"u{index}", "c1", "g1" if index % 3 else None)
                                      for index in range(40)))
    for index, context in enumerate(contexts):
        assert context.user.suffix == (f"--s {index}" if index % 2 == 0 else "")
        assert context.guild.banned_words == (["fox"] if index % 3 else [])


async def test_a_failed_batched_read_fails_every_waiter(redis_url) -> None:
    client = aioredis.Redis.from_url(redis_url.rsplit(":", 1)[0] + ":1")  # nothing listens on port 1
    try:
        results = await asyncio.gather(*(read_context(client, f"u{i}", "c", "g") for i in range(3)),
                                       return_exceptions=True)
    finally:
        await client.aclose()
    assert all(isinstance(result, Exception) for result in results)


async def test_the_load_counts_only_active_jobs_and_drops_the_rest_from_the_users_set(aio, redis_client) -> None:
    from bot.context import active_jobs
    from midway import keys
    from midway.contract import GenerationSpec, Job, JobStatus, Requester

    def job(status: JobStatus) -> Job:
        made = Job(spec=GenerationSpec(prompt="a moth", engine="tiny"), requester=Requester(user_id="carol"))
        made.status = status
        redis_client.set(keys.job_key(made.id), made.model_dump_json())
        return made

    running, queued = job(JobStatus.running), job(JobStatus.queued)
    done, cancelled = job(JobStatus.done), job(JobStatus.cancelled)
    redis_client.set(keys.job_key("unreadable"), b"{not json")
    redis_client.sadd(keys.user_jobs_key("carol"), running.id, queued.id, done.id, cancelled.id, "expired",
                      "unreadable")
    # Read in the same batch as other users: one bad record must not fail their reads.
    contexts = await asyncio.gather(*(read_context(aio, user, "c1", "g1") for user in ("carol", "dave", "erin")))
    assert [(context.load.running, context.load.queued) for context in contexts] == [(1, 1), (0, 0), (0, 0)]
    assert {member.decode() for member in redis_client.smembers(keys.user_jobs_key("carol"))} == {running.id, queued.id}
    assert [found.id for found in await active_jobs(aio, "carol")] == sorted([running.id, queued.id])


async def test_a_press_reads_its_job_on_the_loop_and_an_unreadable_record_is_no_job(aio, redis_client) -> None:
    from bot.context import read_job
    from midway import keys
    from midway.contract import GenerationSpec, Job, Requester

    job = Job(spec=GenerationSpec(prompt="a heron", engine="tiny"), requester=Requester(user_id="frank"))
    redis_client.set(keys.job_key(job.id), job.model_dump_json())
    redis_client.set(keys.job_key("garbled"), b'{"id": 3')
    assert (await read_job(aio, job.id)) == job
    assert await read_job(aio, "garbled") is None and await read_job(aio, "missing") is None
