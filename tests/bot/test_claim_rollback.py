"""A button press whose job never gets posted must not keep the button: the claim is released and the
button turns grey again, and a claim left by a bot that stopped between claim and submit is taken over."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio as aioredis

from bot.store import ABANDONED_AFTER_S, MARK_TTL_S, BotStore
from midway import keys
from playground.driver import Playground
from tests.bot.helpers import button, job_of, jobs_of_user, label_of, result_for, wait_for_stored_job

PRIMARY, SECONDARY = 1, 2  # Discord button styles: blue, grey


def style_of(pg: Playground, message_id: int, label: str) -> int | None:
    return next(b.get("style") for b in pg.message(message_id).buttons if label_of(b) == label)


def claim_holder(redis_url: str, job_id: str, action: str, index: int) -> str | None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return client.get(keys.button_claim_key(job_id, action, index))
    finally:
        client.close()


def derived_from(redis_url: str, user_id: int, parent_id: str) -> list:
    return [job for job in jobs_of_user(redis_url, user_id) if job.parent_job_id == parent_id]


@pytest.mark.slow
async def test_a_press_whose_post_is_refused_is_undone_and_the_button_works_again(pg: Playground, worker, midway,
                                                                                  settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a fox"})).response()
    grid = await result_for(pg, ack)
    parent, alice = job_of(grid), pg.user("alice").id
    # Discord refuses the job's post (403: say a channel overwrite the interaction's app_permissions did
    # not show); the press itself is still answered, through the interaction.
    pg.fail_next("POST /channels/{channel_id}/messages", 403)

    failed = await pg.click(grid.id, button(grid, "V1"), user="alice")
    note = await pg.wait_until(lambda: next((m for m in failed.followups if "Couldn't start" in m.content), None))
    assert note.ephemeral_for == alice and "may not post in this channel" in note.content
    assert "free again" in note.content
    assert claim_holder(settings.redis_url, parent, "v", 1) is None
    assert style_of(pg, grid.id, "V1") == SECONDARY  # blue while it tried, grey again now
    assert derived_from(settings.redis_url, alice, parent) == []

    again = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    assert again.ephemeral_for is None  # before the fix: "That button was already used; its job exists."
    waiting = await pg.wait_for_message("general", lambda m: m.reference_id == grid.id and not m.attachments)
    variation = job_of(waiting)
    assert claim_holder(settings.redis_url, parent, "v", 1) == variation
    await wait_for_stored_job(settings.redis_url, variation)
    assert [job.id for job in derived_from(settings.redis_url, alice, parent)] == [variation]
    assert style_of(pg, grid.id, "V1") == PRIMARY


@pytest.mark.slow
async def test_a_claim_whose_job_was_never_stored_is_taken_over(pg: Playground, worker, midway, settings) -> None:
    """A bot that stopped between claim and submit left V2 claimed by a job that does not exist."""
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a hare"})).response()
    grid = await result_for(pg, ack)
    parent, v2 = job_of(grid), button(grid, "V2")
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.set(keys.button_claim_key(parent, "v", 2), "job-of-a-stopped-bot", ex=MARK_TTL_S - ABANDONED_AFTER_S)
        client.sadd(keys.used_buttons_key(parent), v2)
    finally:
        client.close()

    reply = await (await pg.click(grid.id, v2, user="alice")).response()
    assert reply.ephemeral_for is None  # before the fix: "already used; its job exists." and nothing made
    waiting = await pg.wait_for_message("general", lambda m: m.reference_id == grid.id and not m.attachments)
    assert claim_holder(settings.redis_url, parent, "v", 2) == job_of(waiting)
    # A second press now links to that real job.
    linked = await (await pg.click(grid.id, v2, user="alice")).response()
    assert "already used" in linked.content and "jump to it" in linked.content


async def test_a_fresh_claim_whose_job_is_not_stored_yet_is_not_taken_over(redis_url: str) -> None:
    """Another bot process may still be posting that job (its press is seconds old): the claim holds."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.set(keys.button_claim_key("p1", "v", 1), "posting-elsewhere", ex=MARK_TTL_S)
        store = BotStore(client)
        assert await store.claim_and_press("p1", "v", 1, "mine", "mw:v:p1:1") == ("posting-elsewhere", set())
        assert await store.claimed("p1", "v", 1) == "posting-elsewhere"
    finally:
        await client.aclose()


async def test_releasing_one_request_of_a_modal_button_keeps_it_blue_while_another_holds_it(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        store = BotStore(client)
        button_id = "mw:vr:p2:1"
        assert (await store.claim_and_press("p2", "vr:aaa", 1, "first", button_id, several=True))[0] is None
        holder, pressed = await store.claim_and_press("p2", "vr:bbb", 1, "second", button_id, several=True)
        assert holder is None and pressed == {button_id}
        # The second region's post failed: its claim goes, the first region's job keeps the button blue.
        assert await store.release("p2", "vr:bbb", 1, "second", button_id, several=True) == {button_id}
        assert await store.claimed("p2", "vr:bbb", 1) is None and await store.used("p2") == {button_id}
        assert await store.release("p2", "vr:aaa", 1, "first", button_id, several=True) == set()
        # Releasing a claim someone else holds changes nothing.
        await store.claim_and_press("p2", "u", 1, "winner", "mw:u:p2:1")
        assert await store.release("p2", "u", 1, "loser", "mw:u:p2:1") is None
        assert await store.claimed("p2", "u", 1) == "winner" and await store.used("p2") == {"mw:u:p2:1"}
    finally:
        await client.aclose()
