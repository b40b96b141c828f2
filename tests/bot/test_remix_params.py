"""Remix applies the parameters edited in its prompt, where the job can apply them, and refuses the rest.

The pure part runs derive() on specs from /imagine's own planner; the end-to-end part remixes a V press
through the bot and checks the grid the worker made.
"""

from __future__ import annotations

import pytest

from bot.custom_ids import Action
from bot.derive import DeriveError, derive
from bot.planning import plan_imagine
from bot.store import ChannelSettings, UserSettings, VariationMode
from midway.catalogue import Catalogue, parse_entry
from midway.contract import GenerationSpec, Job, JobStatus, Lane, Operation, Requester
from midway.settings import Settings
from midway.sizing import size_for_aspect
from playground.driver import Playground
from tests.bot.helpers import button, job_of, result_for, wait_for_stored_job

ENTRY = parse_entry("small", {"kind": "tiny", "family": "sd", "base_width": 64, "base_height": 64,
                              "size_multiple": 32, "aliases": ["5"]})
CATALOGUE = Catalogue({"small": ENTRY, "other": parse_entry("other", {"kind": "tiny", "family": "sd",
                                                                      "aliases": ["7"]})})
SETTINGS = Settings(default_engine="small")
CLICKER = Requester(user_id="7", guild_id="1", channel_id="2")
NEW_SEED = 5


def planned(text: str) -> GenerationSpec:
    return plan_imagine(text, UserSettings(), ChannelSettings(), CATALOGUE, SETTINGS).specs[0]


def finished(text: str, **update) -> Job:
    return Job(spec=planned(text).model_copy(update=update), requester=CLICKER, status=JobStatus.done,
               outputs=["img-1", "img-2", "img-3", "img-4"])


def remixed(parent: Job, action: Action, text: str, **asked) -> Job:
    return derive(parent, action, None if action is Action.reroll else 1, CLICKER, lane=Lane.fast,
                  variation_mode=VariationMode.high, entry=ENTRY, seed=NEW_SEED, remix=planned(text), **asked)


@pytest.mark.parametrize("action", [Action.variation, Action.vary_strong, Action.reroll])
def test_edited_parameters_reach_the_job(action: Action) -> None:
    job = remixed(finished("a fox"), action, "a wolf --ar 16:9 --stylize 750 --chaos 50 --tile --stop 80")
    spec = job.spec
    assert (spec.prompt, spec.full_prompt) == ("a wolf", "a wolf --ar 16:9 --stylize 750 --chaos 50 --tile --stop 80")
    # A variation stretches its source to the new ratio; a 🔄 draws it anew.
    assert (spec.aspect_ratio, spec.width, spec.height) == ("16:9", *size_for_aspect(16, 9, 64, 64, 32))
    assert (spec.stylize, spec.chaos, spec.tile, spec.stop, spec.seed) == (750, 50, True, 80, NEW_SEED)


def test_an_unchanged_prompt_is_a_normal_press() -> None:
    parent = finished("a fox --ar 3:2 --seed 42", stylize=250)  # 250: a /settings preset
    job = remixed(parent, Action.variation, parent.spec.full_prompt)
    assert (job.spec.seed, job.spec.stylize, job.spec.aspect_ratio, job.lane) == (NEW_SEED, 250, "3:2", Lane.fast)
    assert (job.spec.width, job.spec.height) == (parent.spec.width, parent.spec.height)
    edited = remixed(parent, Action.reroll, "a fox --ar 3:2 --seed 7 --relax")
    assert (edited.spec.seed, edited.spec.stylize, edited.lane, edited.spec.lane) == (7, 250, Lane.relax, Lane.relax)


def test_a_new_grid_takes_quality_and_image_prompts() -> None:
    job = remixed(finished("a fox"), Action.reroll, "https://example.com/a.png a fox --q 2 --iw 2")
    assert (job.spec.operation, job.spec.quality, job.spec.image_weight) == (Operation.reroll, 2.0, 2.0)
    assert job.spec.image_urls == ["https://example.com/a.png"]


@pytest.mark.parametrize(("parent", "action", "text", "says"), [
    (finished("a fox"), Action.variation, "a fox --q 2",
     "A variation can't take `--quality 2` (this image has `--quality 1`)"),
    (finished("a fox"), Action.variation, "https://example.com/a.png a fox",
     "A variation can't take 1 image prompt (this image has no image prompt)"),
    (finished("a fox --ar 3:2", operation=Operation.upscale), Action.vary_region, "a fox --ar 16:9",
     "Vary (Region) can't take `--ar 16:9` (this image has `--ar 3:2`): it keeps the image's canvas"),
    (finished("a fox", operation=Operation.upscale), Action.vary_region, "a fox --tile", "can't take `--tile`"),
    (finished("a fox", operation=Operation.zoom, zoom=2.0), Action.reroll, "a fox --ar 2:1",
     "Zoom Out can't take `--ar 2:1`"),
    (finished("a fox"), Action.variation, "a fox --v 7", "Remix keeps the image's engine `small`"),
])
def test_what_the_job_cannot_apply_is_refused(parent: Job, action: Action, text: str, says: str) -> None:
    with pytest.raises(DeriveError, match=says.replace("(", r"\(").replace(")", r"\)")):
        remixed(parent, action, text, region=(0.0, 0.0, 0.5, 0.5))


def test_region_and_custom_zoom_take_what_they_can() -> None:
    single = finished("a fox --ar 3:2", operation=Operation.upscale)
    region = remixed(single, Action.vary_region, "a cat --ar 3:2 --stylize 600 --chaos 20 --seed 9",
                     region=(0.0, 0.0, 0.5, 0.5))
    spec = region.spec
    assert (spec.operation, spec.stylize, spec.chaos, spec.seed, spec.aspect_ratio) == (
        Operation.inpaint, 600, 20, 9, "3:2")
    zoomed = remixed(single, Action.custom_zoom, "a cat --ar 1:1 --stylize 600", zoom=1.5)
    assert (zoomed.spec.aspect_ratio, zoomed.spec.stylize, zoomed.spec.zoom) == ("1:1", 600, 1.5)


@pytest.mark.slow
async def test_remix_runs_with_the_edited_parameters(pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice").id
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a fox"})).response()
    grid = await result_for(pg, ack)

    modal = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    refusal = await (await pg.submit_modal(modal.custom_id, {"prompt": "a fox --q 2"}, user="alice")).response()
    assert refusal.ephemeral_for == alice and "A variation can't take `--quality 2`" in refusal.content
    modal = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    refusal = await (await pg.submit_modal(modal.custom_id, {"prompt": "a fox --repeat 2"}, user="alice")).response()
    assert refusal.ephemeral_for == alice and "Remix makes one grid" in refusal.content

    modal = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    text = "a wolf --ar 2:1 --stylize 750 --chaos 50 --tile"
    await (await pg.submit_modal(modal.custom_id, {"prompt": text}, user="alice")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == grid.id and not m.attachments)
    remix = await result_for(pg, announced)
    assert remix.content == f"**{text}** - Remix (Strong) by <@{alice}> (fast)"
    width, height = size_for_aspect(2, 1, 64, 64, 32)
    assert (remix.attachments[0].width, remix.attachments[0].height) == (2 * width, 2 * height)
    spec = (await wait_for_stored_job(settings.redis_url, job_of(remix))).spec
    assert (spec.stylize, spec.chaos, spec.tile, spec.aspect_ratio) == (750, 50, True, "2:1")
    # Pressed through Remix, V1 turns green (Midjourney's colour for it); the refused tries left it as it was.
    styles = {b.get("label"): b.get("style") for b in pg.message(grid.id).buttons}
    assert styles["V1"] == 3 and styles["V2"] == 2
