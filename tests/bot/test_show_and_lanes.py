"""/show re-posts a finished job of yours, with working buttons, in another channel of its server; /fast
and /relax switch the lane your next jobs run in, which their messages name."""

from __future__ import annotations

import pytest
import redis

from bot.custom_ids import decode
from midway.jobs import JobStore
from midway.settings import Settings
from playground.driver import Playground
from tests.bot.helpers import GRID_LABELS, button, labels, result_for

pytestmark = pytest.mark.slow


async def a_grid(pg: Playground, prompt: str = "a lighthouse") -> tuple[str, int]:
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    grid = await result_for(pg, ack)
    return decode(button(grid, "U1")).job_id, grid.id


async def test_show_reposts_a_finished_job_whose_buttons_work_there(pg: Playground, worker, midway) -> None:
    job_id, _ = await a_grid(pg)
    pg.add_channel("gallery")
    reply = await (await pg.slash("show", user="alice", channel="gallery", options={"job_id": job_id})).response(
        timeout=15)
    [shown] = [m for m in pg.messages("gallery") if m.ephemeral_for is None]
    guild_id, channel_id = pg.world.default_guild.id, pg.channel("gallery").id
    assert reply.ephemeral_for == pg.user("alice").id
    assert f"Posted: https://discord.com/channels/{guild_id}/{channel_id}/{shown.id}" in reply.content
    assert "a lighthouse" in shown.content and labels(shown) == GRID_LABELS and shown.attachments
    # Its buttons act from here: U2 posts the second image in the gallery channel.
    await (await pg.click(shown.id, button(shown, "U2"), user="alice")).acked()
    single = await pg.wait_for_message("gallery", lambda m: "Image #2" in m.content, timeout=20)
    assert single.attachments and "Vary (Strong)" in labels(single)


async def test_show_refuses_other_peoples_jobs_unfinished_ones_and_other_servers(
        pg: Playground, worker, midway, settings: Settings) -> None:
    job_id, _ = await a_grid(pg, "a harbour")
    pg.add_user("bob")
    before = len(pg.messages("general"))

    reply = await (await pg.slash("show", user="bob", channel="general", options={"job_id": job_id})).response()
    assert "Unknown job" in reply.content and reply.ephemeral_for == pg.user("bob").id

    nonsense = await (await pg.slash("show", user="alice", channel="general",
                                     options={"job_id": "not-a-job"})).response()
    assert "Unknown job" in nonsense.content

    # The same job, as if it had been made in another server: its buttons could not act here.
    client = redis.Redis.from_url(settings.redis_url)
    try:
        store = JobStore(client, settings)
        job = store.get(job_id)
        assert job is not None
        job.requester.guild_id = "123456789012345678"
        store.save(job)
    finally:
        client.close()
    elsewhere = await (await pg.slash("show", user="alice", channel="general",
                                      options={"job_id": job_id})).response()
    assert "another server" in elsewhere.content and elsewhere.ephemeral_for == pg.user("alice").id
    # Nothing was posted for anyone to see.
    assert [m for m in pg.messages("general")[before:] if m.ephemeral_for is None] == []


async def test_relax_and_fast_pick_the_lane_that_jobs_run_and_show_in(pg: Playground, worker, midway) -> None:
    reply = await (await pg.slash("relax", user="alice", channel="general")).response()
    assert "relax" in reply.content and reply.ephemeral_for == pg.user("alice").id
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a slow boat"})
                 ).response()
    assert (await result_for(pg, ack)).content.endswith("(relaxed)")

    await (await pg.slash("fast", user="alice", channel="general")).response()
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a fast boat"})
                 ).response()
    assert (await result_for(pg, ack)).content.endswith("(fast)")
