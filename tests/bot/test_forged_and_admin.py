"""What Discord's official client never sends but Discord delivers: forged custom_ids (a modified client)
and admin commands unlocked for a non-admin by a server's per-command permission override."""

from __future__ import annotations

import uuid

import pytest
import redis

from bot.custom_ids import Action, encode
from midway import keys
from midway.contract import GenerationSpec, Job, JobStatus, Requester
from midway.jobs import JobStore, rq_queue
from playground.driver import Playground
from tests.bot.helpers import jobs_of_user, result_for

pytestmark = pytest.mark.slow


def queued_everywhere(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(client.llen(rq_queue(client, engine, lane).key) for engine in ("tiny", "tiny2", "tiny3")
                   for lane in keys.LANE_ORDER)
    finally:
        client.close()


def done_job_of_another_guild(redis_url: str, settings) -> Job:
    """A finished job made in another server: its id is real, just not this server's."""
    job = Job(spec=GenerationSpec(prompt="elsewhere", engine="tiny", width=64, height=64),
              requester=Requester(user_id="1", guild_id="4242", channel_id="4243"),
              status=JobStatus.done, outputs=["x", "x", "x", "x"])
    client = redis.Redis.from_url(redis_url)
    JobStore(client, settings).save(job)
    client.close()
    return job


async def test_forged_custom_ids_get_ephemeral_errors_and_queue_nothing(pg: Playground, worker, midway,
                                                                        settings) -> None:
    alice = pg.user("alice")
    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a torn map"})
    ack = await run.response()
    grid = await result_for(pg, ack)
    own_jobs, queued = len(jobs_of_user(settings.redis_url, alice.id)), queued_everywhere(settings.redis_url)
    public = len(pg.messages("general"))
    foreign = done_job_of_another_guild(settings.redis_url, settings)
    forged = {
        "unknown job": (encode(Action.variation, str(uuid.uuid4()), 1), "Unknown job"),
        "another server's job": (encode(Action.variation, foreign.id, 1), "Unknown job"),
        "another server's reroll": (encode(Action.reroll, foreign.id), "Unknown job"),
        "malformed": ("mw:v:not-a-job:1", "Unknown button"),
        "index out of range": ("mw:v:" + str(uuid.uuid4()) + ":9", "Unknown button"),
        "not ours at all": ("someone-else:button", "Unknown button"),
        # A real job of this server, but a button its message does not show.
        "button from elsewhere": (encode(Action.upscale_4x, grid.custom_ids[0].split(":")[2], 1), "not on this"),
    }
    for case, (custom_id, expected) in forged.items():
        reply = await (await pg.click(grid.id, custom_id, user="alice", forge=True)).response()
        assert reply.ephemeral_for == alice.id, case
        assert expected in reply.content, (case, reply.content)
    assert len(jobs_of_user(settings.redis_url, alice.id)) == own_jobs
    assert queued_everywhere(settings.redis_url) == queued
    assert len(pg.messages("general")) == public
    assert [b.get("style") for b in pg.message(grid.id).buttons] == [b.get("style") for b in grid.buttons]


async def test_override_does_not_make_a_non_admin_an_admin(pg: Playground, midway, settings) -> None:
    # A server admin unlocked /engine for alice in Discord's settings; the bot still checks Manage Channels.
    pg.allow_command("engine", user="alice")
    reply = await (await pg.slash("engine set", user="alice", channel="art", options={"engine": "tiny2"})).response()
    assert reply.ephemeral_for == pg.user("alice").id and "Missing permission" in reply.content
    client = redis.Redis.from_url(settings.redis_url)
    try:
        assert client.get(keys.channel_settings_key(str(pg.channel("art").id))) is None
    finally:
        client.close()
    shown = await (await pg.slash("engine show", user="admin", channel="art")).response()
    assert "`tiny`" in shown.content and "server default" in shown.content
    pg.allow_command("moderation", user="alice")
    refused = await (await pg.slash("moderation banned-word add", user="alice", channel="art",
                                    options={"word": "cat"})).response()
    assert "Missing permission" in refused.content
    listed = await (await pg.slash("moderation banned-word list", user="admin", channel="art")).response()
    assert "none" in listed.content
