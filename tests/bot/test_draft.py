"""Draft mode through the emulator: a draft grid says Draft and has Enhance; Enhance runs the same prompt
and seed at full quality; V1 of a draft is a draft; the /settings toggle; an engine without drafts refuses."""

from __future__ import annotations

import pytest

from playground.driver import Playground
from tests.bot.helpers import GRID_LABELS, button, job_of, labels, result_for, result_of_press, stored_job

pytestmark = pytest.mark.slow


async def grid_for(pg: Playground, prompt: str):
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    return await result_for(pg, ack)


async def test_enhance_reruns_a_draft_grid_at_full_quality_with_its_seed(pg: Playground, worker, midway,
                                                                         settings) -> None:
    alice = pg.user("alice").id
    draft = await grid_for(pg, "a paper boat --seed 42 --draft")
    assert draft.content == f"**a paper boat --seed 42 --draft** - <@{alice}> (Draft) (fast)"
    assert labels(draft) == [*GRID_LABELS, "Enhance"]
    draft_job = stored_job(settings.redis_url, job_of(draft))
    assert draft_job is not None and draft_job.spec.draft

    enhanced = await result_of_press(pg, draft, "Enhance")
    # The same prompt and parameters, shown without `--draft`: the Enhanced grid is not a draft.
    assert enhanced.content == f"**a paper boat --seed 42** - Enhanced by <@{alice}> (fast)"
    assert labels(enhanced) == GRID_LABELS  # a full-quality grid has no Enhance
    full = stored_job(settings.redis_url, job_of(enhanced))
    assert full is not None and not full.spec.draft
    assert (full.spec.seed, full.spec.prompt, full.spec.engine) == (42, "a paper boat", draft_job.spec.engine)
    assert full.parent_job_id == draft_job.id


async def test_v1_of_a_draft_is_a_draft_and_has_enhance(pg: Playground, worker, midway, settings) -> None:
    draft = await grid_for(pg, "a glass owl --draft")
    varied = await result_of_press(pg, draft, "V1")
    assert "(Draft)" in varied.content and "Enhance" in labels(varied)
    job = stored_job(settings.redis_url, job_of(varied))
    assert job is not None and job.spec.draft and job.spec.operation.value == "variation"


async def test_settings_draft_toggle_drafts_plain_prompts(pg: Playground, worker, midway, settings) -> None:
    panel = await (await pg.slash("settings", user="alice", channel="general")).response()
    updated = await (await pg.click(panel.id, button(panel, "Draft mode"), user="alice")).response()
    assert {b.get("label"): b["style"] for b in updated.buttons}["Draft mode"] == 3  # green: on
    grid = await grid_for(pg, "a tin robot")
    assert grid.content.endswith("(Draft) (fast)") and "Enhance" in labels(grid)
    info = await (await pg.slash("info", user="alice", channel="general")).response()
    assert "**Draft Mode**: On" in info.content


async def test_draft_on_an_engine_without_draft_mode_is_refused_by_name(pg: Playground, worker, midway) -> None:
    # #art runs tinyslow, which has no draft setting in the test catalogue.
    await (await pg.slash("engine set", user="admin", channel="art", options={"engine": "tinyslow"})).response()
    reply = await (await pg.slash("imagine", user="alice", channel="art",
                                  options={"prompt": "a fox --draft"})).response()
    assert reply.ephemeral_for == pg.user("alice").id
    assert "`tinyslow` has no draft mode" in reply.content


async def test_a_prefer_option_can_hold_draft(pg: Playground, worker, midway, settings) -> None:
    saved = await (await pg.slash("prefer option set", user="alice", channel="general",
                                  options={"name": "quick", "value": "--draft"})).response()
    assert saved.ephemeral_for == pg.user("alice").id and "Invalid" not in saved.content
    grid = await grid_for(pg, "a clay pot --quick")
    assert "(Draft)" in grid.content and "Enhance" in labels(grid)
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None and job.spec.draft
