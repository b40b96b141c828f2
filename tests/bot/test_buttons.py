"""Buttons: idempotent (double click, two users), stale jobs, Remix modal, batch confirmation, Cancel,
and the /settings panel."""

from __future__ import annotations

import asyncio

import pytest
import redis

from midway import keys
from playground.driver import Playground
from tests.bot.helpers import (
    GRID_LABELS,
    button,
    job_of,
    jobs_of_user,
    label_of,
    labels,
    result_for,
    results_replying_to,
)

pytestmark = pytest.mark.slow


async def grid_for(pg: Playground, prompt: str, user: str = "alice"):
    ack = await (await pg.slash("imagine", user=user, channel="general", options={"prompt": prompt})).response()
    return await result_for(pg, ack)


async def test_double_click_and_second_user_get_the_same_job(pg: Playground, worker, midway) -> None:
    pg.add_user("bob")
    grid = await grid_for(pg, "a green frog")
    u1 = button(grid, "U1")
    first, second = await asyncio.gather(pg.click(grid.id, u1, user="alice"), pg.click(grid.id, u1, user="alice"))
    other = await pg.click(grid.id, u1, user="bob")
    replies = [await run.response() for run in (first, second, other)]
    single = await result_for(pg, grid)
    await asyncio.sleep(0.5)
    assert len(results_replying_to(pg, grid)) == 1
    notes = [r for r in replies if r.ephemeral_for is not None]
    assert len(notes) == 2 and all("already used" in note.content for note in notes)
    # Each links to the image U1 posted, even when pressed before it was (not to the grid it came from).
    assert all(f"/{grid.channel_id}/{single.id})" in note.content for note in notes)


async def test_button_of_a_vanished_job_answers_ephemerally(pg: Playground, worker, midway, settings) -> None:
    grid = await grid_for(pg, "a grey cat")
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(keys.job_key(job_of(grid)))
    client.close()
    reply = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    assert reply.ephemeral_for == pg.user("alice").id and "Unknown job" in reply.content


async def test_remix_opens_a_prefilled_modal(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    grid = await grid_for(pg, "a small boat")
    modal = await (await pg.click(grid.id, button(grid, "V2"), user="alice")).response()
    assert modal.title == "Remix Prompt" and "a small boat" in str(modal.components)
    await (await pg.submit_modal(modal.custom_id, {"prompt": "a small boat at night"}, user="alice")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == grid.id and not m.attachments)
    remixed = await result_for(pg, announced)
    assert remixed.content == f"**a small boat at night** - Remix (Strong) by <@{alice}> (fast)"


async def test_permutations_above_threshold_ask_first(pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice")
    ask = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a {red, blue, green, pink, teal} kite"})).response()
    assert ask.ephemeral_for == alice.id and "**5**" in ask.content
    assert jobs_of_user(settings.redis_url, alice.id) == []
    await (await pg.click(ask.id, button(ask, "Yes"), user="alice")).acked()
    grids = await pg.wait_for_message(
        "general", lambda m: len([x for x in pg.messages("general") if labels(x) == GRID_LABELS]) == 5, timeout=90)
    assert grids is not None
    texts = sorted(m.content for m in pg.messages("general") if labels(m) == GRID_LABELS)
    assert [t.split("**")[1] for t in texts] == sorted(f"a {c} kite" for c in ("red", "blue", "green", "pink", "teal"))
    assert len(jobs_of_user(settings.redis_url, alice.id)) == 5


async def test_cancel_button_stops_a_queued_job(pg: Playground, worker, midway, settings) -> None:
    # A job for an engine no worker serves stays queued: the Cancel button must stop it.
    await (await pg.slash("engine set", user="admin", channel="general", options={"engine": "tiny3"})).response()
    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a slow snail"})
    ack = await run.response()
    waiting = await pg.wait_for_message("general", lambda m: m.id == ack.id and "no worker" in m.content)
    assert "Cancel" in [b.get("label") for b in waiting.buttons]
    pg.add_user("mallory")
    refused = await (await pg.click(ack.id, button(waiting, "Cancel"), user="mallory")).response()
    assert "Not your job" in refused.content
    await (await pg.click(ack.id, button(waiting, "Cancel"), user="alice")).response()
    stopped = await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Stopped)"))
    assert stopped.buttons == []


async def test_settings_panel_switches_to_relax(pg: Playground, worker, midway) -> None:
    panel = await (await pg.slash("settings", user="alice", channel="general")).response()
    assert panel.ephemeral_for == pg.user("alice").id
    relax = button(panel, "Relax mode")
    updated = await (await pg.click(panel.id, relax, user="alice")).response()
    styles = {b.get("label"): b["style"] for b in updated.buttons}
    assert styles["Relax mode"] == 3 and styles["Fast mode"] == 2
    grid = await grid_for(pg, "a quiet lake")
    assert grid.content.endswith("(relaxed)")
    # Usage is counted once the result is posted, before the job's own message turns to "(Done)".
    await pg.wait_for_message("general", lambda m: m.id == grid.reference_id and m.content.endswith("(Done)"))
    info = await (await pg.slash("info", user="alice", channel="general")).response()
    assert "**Job Mode**: Relax" in info.content and "**Lifetime Usage**: 4 images" in info.content


async def test_a_press_refused_by_policy_stays_unpressed_yet_an_earlier_press_still_links(
        pg: Playground, worker, midway, settings) -> None:
    """V1 after the prompt's word was banned: refused with the word named, no job, V1 stays grey. V2,
    pressed by bob before the ban, still gives alice the link to bob's job rather than the refusal."""
    pg.add_user("bob")
    grid = await grid_for(pg, "a red apple")
    bob_v2 = await (await pg.click(grid.id, button(grid, "V2"), user="bob")).response()
    assert bob_v2.ephemeral_for is None
    await (await pg.slash("moderation banned-word add", user="admin", channel="general",
                          options={"word": "apple"})).response()
    alice = pg.user("alice").id
    jobs_before = len(jobs_of_user(settings.redis_url, alice))

    refused = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    assert refused.ephemeral_for == alice and "`apple`" in refused.content
    linked = await (await pg.click(grid.id, button(grid, "V2"), user="alice")).response()
    assert linked.ephemeral_for == alice and "already used" in linked.content
    assert len(jobs_of_user(settings.redis_url, alice)) == jobs_before
    styles = {label_of(b): b.get("style") for b in pg.message(grid.id).buttons}
    assert styles["V2"] == 1 and styles["V1"] == 2  # blue (primary) for bob's press, grey for the refused one
