"""Channel engines (admin only), banned words, bad parameters and caps: ephemeral errors, no job."""

from __future__ import annotations

import pytest

from bot.app import MidwayBot
from midway.discord_limits import MESSAGE_CONTENT
from playground.driver import DriverError, Playground
from tests.bot.helpers import job_of, jobs_of_user, result_for, stored_job

pytestmark = pytest.mark.slow


async def test_admin_sets_channel_engine_and_next_imagine_uses_it(pg: Playground, worker, midway: MidwayBot,
                                                                  settings) -> None:
    # Discord hides the admin command from a normal user (default_member_permissions)...
    with pytest.raises(DriverError):
        await pg.slash("engine set", user="alice", channel="art", options={"engine": "tiny2"})
    choices = await pg.autocomplete("engine set", "engine", "tiny", user="admin", channel="art")
    names = {choice["value"]: choice["name"] for choice in choices}
    assert names["tiny2"] == "tiny2" and "no live worker" in names["tiny3"]

    reply = await (await pg.slash("engine set", user="admin", channel="art", options={"engine": "tiny2"})).response()
    assert "`tiny2`" in reply.content and reply.ephemeral_for == pg.user("admin").id
    shown = await (await pg.slash("engine show", user="admin", channel="art")).response()
    assert "`tiny2`" in shown.content

    ack = await (await pg.slash("imagine", user="alice", channel="art", options={"prompt": "a blue owl"})).response()
    grid = await result_for(pg, ack, channel="art")
    assert stored_job(settings.redis_url, job_of(grid)).spec.engine == "tiny2"
    # Another channel keeps the default engine.
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "owl"})).response()
    assert stored_job(settings.redis_url, job_of(await result_for(pg, ack))).spec.engine == "tiny"


async def test_unknown_engine_is_refused(pg: Playground, midway: MidwayBot) -> None:
    reply = await (await pg.slash("engine set", user="admin", channel="art", options={"engine": "nope"})).response()
    assert "Unknown engine" in reply.content


async def test_a_very_long_unknown_engine_is_refused_in_one_message(pg: Playground, midway: MidwayBot) -> None:
    reply = await (await pg.slash("engine set", user="admin", channel="art",
                                  options={"engine": "e" * 2100})).response()
    assert reply.ephemeral_for == pg.user("admin").id
    assert "Unknown engine" in reply.content and len(reply.content) <= MESSAGE_CONTENT


# Midjourney titles a bad value "Invalid parameter" as it does an unknown parameter; the rest of the
# prompt's faults are "Invalid prompt".
@pytest.mark.parametrize(("prompt", "expected", "title"), [
    ("a fox --ar 0:1", "--ar", "Invalid parameter"),
    ("a fox --chaos 500", "500", "Invalid parameter"),
    ("a fox --v 99", "99", "Invalid parameter"),
    ("a fox --cref red", "--cref` value `red", "Invalid prompt"),
    ("a {fox, cat", "{", "Invalid prompt"),
])
async def test_bad_parameters_answer_ephemerally_and_create_no_job(pg: Playground, midway: MidwayBot, settings,
                                                                   prompt: str, expected: str, title: str) -> None:
    alice = pg.user("alice")
    reply = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    assert reply.ephemeral_for == alice.id
    assert expected in reply.content
    assert reply.content.startswith(f"**{title}**\n")
    assert jobs_of_user(settings.redis_url, alice.id) == []


async def test_banned_word_names_the_word_and_creates_no_job(pg: Playground, midway: MidwayBot, settings) -> None:
    added = await (await pg.slash("moderation banned-word add", user="admin", channel="general",
                                  options={"word": "Gore"})).response()
    assert "`gore`" in added.content
    listed = await (await pg.slash("moderation banned-word list", user="admin", channel="general")).response()
    assert "`gore`" in listed.content
    reply = await (await pg.slash("imagine", user="alice", channel="general",
                                  options={"prompt": "a scene full of GORE"})).response()
    assert reply.ephemeral_for == pg.user("alice").id
    assert "Banned prompt detected" in reply.content and "`gore`" in reply.content
    assert jobs_of_user(settings.redis_url, pg.user("alice").id) == []
    with pytest.raises(DriverError):
        await pg.slash("moderation banned-word add", user="alice", channel="general", options={"word": "cat"})


async def test_caps_refuse_a_batch_that_does_not_fit(pg: Playground, bots, settings) -> None:
    settings.max_running_per_user, settings.max_queued_per_user = 1, 1
    await bots.start()
    reply = await (await pg.slash("imagine", user="alice", channel="general",
                                  options={"prompt": "a fox --repeat 3"})).response()
    assert reply.ephemeral_for == pg.user("alice").id
    assert "Queue full" in reply.content
    assert jobs_of_user(settings.redis_url, pg.user("alice").id) == []


async def test_channel_limit_on_size(pg: Playground, midway: MidwayBot, settings) -> None:
    await (await pg.slash("moderation limits", user="admin", channel="general",
                          options={"max_side": 64})).response()
    reply = await (await pg.slash("imagine", user="alice", channel="general",
                                  options={"prompt": "a wide fox --ar 3:1"})).response()
    assert "Channel limit" in reply.content and "64 pixels" in reply.content
    assert jobs_of_user(settings.redis_url, pg.user("alice").id) == []
