"""Discord errors that retrying cannot heal (403 missing access, 404 unknown channel or message): the bot
acknowledges the event, records the delivery as failed and stops, instead of retrying at every restart."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis

from bot.delivery import result_nonce
from midway.contract import Event, EventKind, GenerationSpec, Job, JobStatus, MessageRef, Requester
from midway.events import publish
from midway.jobs import JobStore
from midway.settings import Settings
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import button, jobs_of_user
from tests.bot.test_late_events import wait_until_acked

pytestmark = pytest.mark.slow

POST = "POST /channels/{channel_id}/messages"
PATCH = "PATCH /channels/{channel_id}/messages/{message_id}"
SEND_MESSAGES = 1 << 11
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16


def a_finished_job(pg: Playground, channel_id: int, message_id: int, settings: Settings) -> Job:
    spec = GenerationSpec(prompt="a ship", engine="tiny", width=64, height=64)
    job = Job(spec=spec, requester=Requester(user_id=str(pg.user("alice").id)), status=JobStatus.done,
              message=MessageRef(channel_id=str(channel_id), message_id=str(message_id)))
    client = redis.Redis.from_url(settings.redis_url)
    try:
        JobStore(client, settings).save(job)
    finally:
        client.close()
    return job


def publish_now(settings: Settings, event: Event) -> str:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return publish(client, event)
    finally:
        client.close()


async def acked(settings: Settings, entry_id: str) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        await wait_until_acked(client, entry_id)
    finally:
        client.close()


def bot_message(pg: Playground, channel: str) -> Message:
    """A message of the bot's, standing in for a job's 'Waiting to start' reply."""
    where = pg.channel(channel)
    message = Message(id=pg.world.snowflake(), channel_id=where.id, guild_id=where.guild_id,
                      author=pg.world.bot,
                      content="**a ship** - Waiting to start")
    return pg.world.add_message(message)


async def test_a_result_for_a_deleted_channel_is_given_up_at_once_not_retried(pg: Playground, midway,
                                                                              settings) -> None:
    doomed = pg.add_channel("doomed")
    job = a_finished_job(pg, doomed.id, 1, settings)
    del pg.world.channels[doomed.id]
    pg.world.default_guild.channels.pop(doomed.id, None)

    entry_id = publish_now(settings, Event(job_id=job.id, kind=EventKind.done))
    await acked(settings, entry_id)  # before the fix: three tries over 6 s, then left pending for a restart
    posts = [r for r in pg.requests_to(POST) if f"/{doomed.id}/" in r.path]
    assert len(posts) == 1 and posts[0].status == 404
    failed = await midway.store.delivery_failed(job.id)
    assert failed is not None and "404" in failed
    assert await midway.store.delivered(job.id) == ""
    assert job.id not in midway.delivery.progress.locks


async def test_progress_for_a_deleted_message_stops_and_the_result_still_posts(pg: Playground, midway,
                                                                               settings) -> None:
    waiting = bot_message(pg, "general")
    job = a_finished_job(pg, waiting.channel_id, waiting.id, settings)
    client = redis.Redis.from_url(settings.redis_url)
    try:
        record = JobStore(client, settings).get(job.id)
        record.status = JobStatus.running
        JobStore(client, settings).save(record)
    finally:
        client.close()
    pg.world.delete_message(waiting)

    for step in (1, 2, 3):
        entry_id = publish_now(settings, Event(job_id=job.id, kind=EventKind.progress, step=step, total=4))
        await acked(settings, entry_id)
        await asyncio.sleep(0.2)  # past the bot's throttle, so a second edit would have been sent
    edits = [r for r in pg.requests_to(PATCH) if r.path.endswith(f"/{waiting.id}")]
    assert [r.status for r in edits] == [404]  # tried once, then no more edits of a message that is gone

    done = record.model_copy(update={"status": JobStatus.done})
    client = redis.Redis.from_url(settings.redis_url)
    try:
        JobStore(client, settings).save(done)
        publish(client, Event(job_id=job.id, kind=EventKind.done))
    finally:
        client.close()
    # The reply's parent is gone; Discord posts it without the reference (fail_if_not_exists=False).
    result = await pg.wait_for_message("general", lambda m: m.nonce == result_nonce(job.id))
    assert "a ship" in result.content
    assert await midway.store.delivery_failed(job.id) is None
    assert await midway.store.delivered(job.id) == str(result.id)


async def test_a_result_the_bot_may_not_post_is_explained_on_the_jobs_own_message(pg: Playground, worker,
                                                                                  midway) -> None:
    # The bot loses Send Messages in the channel while the job runs (the worker is held meanwhile): the
    # result's post is refused with 403 for good.
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a kite"})
                     ).response()
        revoke(pg, SEND_MESSAGES)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    explained = await pg.wait_for_message("general", lambda m: m.id == ack.id and "could not be posted" in m.content,
                                          timeout=30)
    assert [r.status for r in pg.requests_to(POST) if r.path.endswith(f"/{ack.channel_id}/messages")] == [403]
    # No Cancel button left on a job that is over, and the way to get the images once allowed.
    assert explained.buttons == [] and "/show" in explained.content


async def test_no_job_is_made_where_the_bot_could_not_post_its_result(pg: Playground, worker, midway,
                                                                     settings: Settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a kite"})).response()
    grid = await pg.wait_for_message("general", lambda m: m.reference_id == ack.id and bool(m.attachments),
                                     timeout=30)
    alice = pg.user("alice").id
    before = len(jobs_of_user(settings.redis_url, alice))
    revoke(pg, ATTACH_FILES | READ_MESSAGE_HISTORY)

    refused = await (await pg.slash("imagine", user="alice", channel="general",
                                    options={"prompt": "a second kite"})).response()
    assert refused.ephemeral_for == alice
    assert "**Attach Files**, **Read Message History**" in refused.content and "Nothing was made" in refused.content
    pressed = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    assert pressed.ephemeral_for == alice and "Can't post here" in pressed.content
    assert len(jobs_of_user(settings.redis_url, alice)) == before


def revoke(pg: Playground, permissions: int) -> None:
    """Take permissions away from the bot in the default server (from @everyone and its own roles)."""
    guild = pg.world.guild_of(pg.channel("general"))
    guild.roles[guild.id].permissions &= ~permissions
    guild.members[pg.world.bot.id] = []
