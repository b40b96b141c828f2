"""Vary (Subtle) and Vary (Strong) under a single image, and `/prefer variability` for the grid's V buttons.

Subtle variations keep more of the source image: the worker runs them at the engine's
`variation_strength_subtle` img2img strength (0.35 by default), strong ones at `variation_strength_strong`
(0.7). High variation mode (the default, as in Midjourney) makes V1-V4 strong; low mode makes them subtle.
"""

from __future__ import annotations

import pytest

from bot.app import MidwayBot
from midway.contract import Operation
from midway.settings import Settings
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import GRID_LABELS, button, job_of, labels, result_for, result_of_press, wait_for_stored_job

pytestmark = pytest.mark.slow


async def grid_for(pg: Playground, prompt: str) -> Message:
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    return await result_for(pg, ack)


def strengths(midway: MidwayBot) -> tuple[float, float]:
    """(subtle, strong) img2img strengths of the channel's engine, as the bot's catalogue has them."""
    entry = midway.catalogue.get("tiny")
    assert entry.variation_strength_subtle < entry.variation_strength_strong
    return entry.variation_strength_subtle, entry.variation_strength_strong


async def strength_of(settings: Settings, result: Message) -> float | None:
    """The strength the worker ran the result's job at: what its stored spec carried."""
    job = await wait_for_stored_job(settings.redis_url, job_of(result))
    assert job.spec.operation is Operation.variation and job.spec.n_images == 4 and job.outputs
    return job.spec.strength


async def test_vary_subtle_and_vary_strong_run_at_their_own_strengths(pg: Playground, worker, midway,
                                                                      settings) -> None:
    alice = pg.user("alice").id
    subtle_strength, strong_strength = strengths(midway)
    grid = await grid_for(pg, "a paper lantern")
    await (await pg.click(grid.id, button(grid, "U1"), user="alice")).acked()
    single = await result_for(pg, grid)

    subtle = await result_of_press(pg, single, "Vary (Subtle)")
    assert subtle.content == f"**a paper lantern** - Variations (Subtle) by <@{alice}> (fast)"
    assert labels(subtle) == GRID_LABELS
    assert await strength_of(settings, subtle) == subtle_strength

    strong = await result_of_press(pg, single, "Vary (Strong)")
    assert strong.content == f"**a paper lantern** - Variations (Strong) by <@{alice}> (fast)"
    assert await strength_of(settings, strong) == strong_strength


async def test_prefer_variability_switches_the_v_buttons_between_subtle_and_strong(
        pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice").id
    subtle_strength, strong_strength = strengths(midway)
    grid = await grid_for(pg, "a glass whale")

    low = await (await pg.slash("prefer variability", user="alice", channel="general")).response()
    assert low.ephemeral_for == alice and low.content == "Low variation mode turned on!"
    v1 = await result_of_press(pg, grid, "V1")
    assert v1.content == f"**a glass whale** - Variations (Subtle) by <@{alice}> (fast)"
    assert await strength_of(settings, v1) == subtle_strength

    high = await (await pg.slash("prefer variability", user="alice", channel="general")).response()
    assert high.content == "High variation mode turned on!"
    v2 = await result_of_press(pg, grid, "V2")
    assert v2.content == f"**a glass whale** - Variations (Strong) by <@{alice}> (fast)"
    assert await strength_of(settings, v2) == strong_strength
