"""Vary (Region), Custom Zoom and Make Square (pure): the region grammar, the `--zoom` field, the
single-image layout, and the jobs the presses make."""

from __future__ import annotations

import pytest

from bot import messages
from bot.custom_ids import Action, ButtonRef
from bot.derive import DeriveError, derive
from bot.outpaint import OutpaintError, custom_zoom_text, split_zoom
from bot.presses import claim_name
from bot.store import VariationMode
from midway.catalogue import parse_entry
from midway.contract import GenerationSpec, Job, JobStatus, Lane, Operation, Requester
from midway.discord_limits import TEXT_INPUT_PLACEHOLDER
from midway.region import NAMED, PLACEHOLDER, RegionError, parse_region

EDITING = parse_entry("tiny", {"kind": "tiny", "family": "sd", "base_width": 64, "base_height": 64,
                               "size_multiple": 32})
NO_REGION = parse_entry("tiny2", {"kind": "tiny", "family": "sd",
                                  "capabilities": ["imagine", "variation", "upscale", "reroll", "zoom", "pan"]})
CLICKER = Requester(user_id="7", guild_id="1", channel_id="2")


def u_image(width: int = 64, height: int = 64, full_prompt: str = "a fox") -> Job:
    spec = GenerationSpec(prompt="a fox", full_prompt=full_prompt, width=width, height=height, engine="tiny",
                          operation=Operation.upscale, n_images=1, upscale_factor=1, init_image="img-2",
                          aspect_ratio="1:1" if width == height else "3:2")
    return Job(spec=spec, requester=CLICKER, status=JobStatus.done, outputs=["img-2"], parent_index=2)


def press(parent: Job, action: Action, entry=EDITING, **asked) -> Job:
    return derive(parent, action, 1, CLICKER, lane=Lane.fast, variation_mode=VariationMode.high, entry=entry,
                  seed=5, **asked)


def rows(buttons: list[messages.ButtonSpec]) -> list[list[str | None]]:
    grouped: dict[int, list[str | None]] = {}
    for spec in buttons:
        grouped.setdefault(spec.row, []).append(spec.label or spec.emoji)
    return [grouped[row] for row in sorted(grouped)]


@pytest.mark.parametrize(("text", "region"), [
    ("25,25,50,50", (0.25, 0.25, 0.5, 0.5)),
    (" 10%, 0 %, 90%,50% ", (0.1, 0.0, 0.9, 0.5)),
    ("0,0,100,100", (0.0, 0.0, 1.0, 1.0)),
    ("center", NAMED["center"]), ("Centre", NAMED["center"]), ("top-left", (0.0, 0.0, 0.5, 0.5)),
    ("Upper Right quarter", (0.5, 0.0, 0.5, 0.5)), ("bottom half", (0.0, 0.5, 1.0, 0.5)),
    ("left", (0.0, 0.0, 0.5, 1.0)), ("right third", NAMED["right third"]),
])
def test_regions_people_type(text: str, region: tuple) -> None:
    assert parse_region(text) == pytest.approx(region)


@pytest.mark.parametrize(("text", "says"), [
    ("", "Say which part"), ("the dog", "`the dog` is not a region"), ("10,10,50", "not a region"),
    ("60,0,50,100", "reaches outside the image"), ("0,0,0,50", "more than 0"), ("-5,0,10,10", "0 or more"),
])
def test_unreadable_regions_are_explained(text: str, says: str) -> None:
    with pytest.raises(RegionError, match=says):
        parse_region(text)


def test_placeholder_documents_the_syntax_within_discords_limit() -> None:
    assert len(PLACEHOLDER) <= TEXT_INPUT_PLACEHOLDER and "x,y,w,h" in PLACEHOLDER and "top-left" in PLACEHOLDER


def test_single_image_rows_follow_midjourney_and_the_engine() -> None:
    square, wide = u_image(), u_image(96, 64, "a fox --ar 3:2")
    caps = EDITING.capabilities
    assert rows(messages.result_buttons(square, capabilities=caps)) == [
        ["Vary (Subtle)", "Vary (Strong)", "Vary (Region)"], ["Upscale (2x)", "Upscale (4x)", "🔄"],
        ["Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom"], ["⬅️", "➡️", "⬆️", "⬇️"]]
    assert rows(messages.result_buttons(wide, capabilities=caps))[2][-1] == "Make Square"
    assert "Vary (Region)" not in rows(messages.result_buttons(square, capabilities=NO_REGION.capabilities))[0]


def test_vary_region_job() -> None:
    job = press(u_image(), Action.vary_region, region=(0.25, 0.25, 0.5, 0.5))
    spec = job.spec
    assert (spec.operation, spec.region, spec.n_images, spec.init_image, spec.seed) == (
        Operation.inpaint, (0.25, 0.25, 0.5, 0.5), 4, "img-2", 5)
    assert (spec.width, spec.height, spec.upscale_factor, spec.strength) == (64, 64, None, None)
    assert job.label == "Variations (Region)"
    remix = GenerationSpec(prompt="a cat", full_prompt="a cat")
    remixed = press(u_image(), Action.vary_region, region=(0.0, 0.0, 1.0, 0.5), remix=remix)
    assert (remixed.label, remixed.spec.prompt) == ("Remix (Region)", "a cat")
    with pytest.raises(DeriveError, match="cannot vary a region"):
        press(u_image(), Action.vary_region, entry=NO_REGION, region=(0.0, 0.0, 1.0, 0.5))
    # 🔄 on the region grid repaints the same region again; V on it is a plain variation.
    again = derive(job.model_copy(update={"status": JobStatus.done, "outputs": ["a", "b", "c", "d"]}),
                   Action.reroll, None, CLICKER, lane=Lane.fast, variation_mode=VariationMode.high, entry=EDITING,
                   seed=8)
    assert (again.spec.operation, again.spec.region, again.label) == (Operation.inpaint, spec.region,
                                                                      "Variations (Region)")
    varied = press(job.model_copy(update={"status": JobStatus.done, "outputs": ["a"]}), Action.variation)
    assert (varied.spec.operation, varied.spec.region) == (Operation.variation, None)


def test_custom_zoom_field() -> None:
    assert custom_zoom_text("a fox --ar 3:2") == "a fox --ar 3:2 --zoom 2"
    assert split_zoom("a fox --zoom 1.25 --ar 3:2") == (1.25, "a fox --ar 3:2")
    assert split_zoom("a fox --ZOOM 1") == (1.0, "a fox")
    for text, says in [("a fox", "needs `--zoom"), ("a fox --zoom 2.5", "`--zoom 2.5` is not a zoom"),
                       ("a fox --zoom big", "`--zoom big`"), ("a --zoom 1 fox --zoom 2", "only one"),
                       ("a fox --zoom --ar 2:3", "`--zoom ` is not")]:
        with pytest.raises(OutpaintError, match=says):
            split_zoom(text)


def test_custom_zoom_keeps_or_reshapes_the_canvas() -> None:
    same = press(u_image(), Action.custom_zoom, zoom=1.5, remix=GenerationSpec(prompt="a fox", full_prompt="a fox"))
    assert (same.spec.operation, same.spec.zoom, same.spec.width, same.spec.height, same.label) == (
        Operation.zoom, 1.5, 64, 64, "Zoom Out")
    wide = GenerationSpec(prompt="a fox", full_prompt="a fox --ar 2:1", aspect_ratio="2:1")
    reshaped = press(u_image(), Action.custom_zoom, zoom=1.0, remix=wide)
    # The engine's own 2:1 size at its 64x64 base.
    assert (reshaped.spec.width, reshaped.spec.height, reshaped.spec.aspect_ratio) == (64, 32, "2:1")
    assert reshaped.spec.full_prompt == "a fox --ar 2:1"


def test_make_square_grows_the_short_side() -> None:
    job = press(u_image(96, 64, "a fox --ar 3:2"), Action.make_square)
    spec = job.spec
    assert (spec.operation, spec.zoom, spec.width, spec.height, spec.aspect_ratio) == (Operation.zoom, 1.0, 96, 96,
                                                                                        "1:1")
    assert (spec.full_prompt, job.label) == ("a fox --ar 1:1", "Zoom Out")
    with pytest.raises(DeriveError, match="already square"):
        press(u_image(), Action.make_square)


def test_modal_presses_claim_what_they_asked_for() -> None:
    ref = ButtonRef(Action.vary_region, "0b6c3e7e-6f0c-4d4e-9f55-8d8f5c2b1a90", 1)
    centre = press(u_image(), Action.vary_region, region=(0.25, 0.25, 0.5, 0.5))
    centre_again = press(u_image(), Action.vary_region, region=(0.25, 0.25, 0.5, 0.5))
    top = press(u_image(), Action.vary_region, region=(0.0, 0.0, 1.0, 0.5))
    assert claim_name(ref, centre) == claim_name(ref, centre_again) != claim_name(ref, top)
    assert claim_name(ButtonRef(Action.zoom_2x, ref.job_id, 1), centre) == "z2"
