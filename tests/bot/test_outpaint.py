"""Zoom Out / Pan (pure): the single-image layout per engine capabilities, and the jobs the presses make."""

from __future__ import annotations

import pytest

from bot import messages
from bot.custom_ids import Action, decode, encode
from bot.derive import DeriveError, derive
from bot.outpaint import with_aspect
from bot.store import VariationMode
from midway.catalogue import parse_entry
from midway.contract import GenerationSpec, Job, JobStatus, Lane, Operation, PanDirection, Requester

OUTPAINTING = parse_entry("tiny", {"kind": "tiny", "family": "sd", "size_multiple": 32,
                                   "capabilities": ["imagine", "variation", "upscale", "reroll", "zoom", "pan"]})
PLAIN = parse_entry("plain", {"kind": "tiny", "family": "sd", "capabilities": ["imagine", "variation", "upscale"]})
CLICKER = Requester(user_id="7", guild_id="1", channel_id="2")


def u_image(full_prompt: str = "a fox --ar 1:1") -> Job:
    """A U<i> job: one image separated from a 64x64 grid."""
    spec = GenerationSpec(prompt="a fox", full_prompt=full_prompt, width=64, height=64, engine="tiny",
                          operation=Operation.upscale, n_images=1, upscale_factor=1, init_image="img-2")
    return Job(spec=spec, requester=CLICKER, status=JobStatus.done, outputs=["img-2"], parent_index=2)


def press(parent: Job, action: Action, entry=OUTPAINTING, seed: int = 99) -> Job:
    return derive(parent, action, 1, CLICKER, lane=Lane.fast, variation_mode=VariationMode.high, entry=entry,
                  seed=seed)


def rows(buttons: list[messages.ButtonSpec]) -> list[list[str | None]]:
    grouped: dict[int, list[str | None]] = {}
    for spec in buttons:
        grouped.setdefault(spec.row, []).append(spec.label or spec.emoji)
    return [grouped[row] for row in sorted(grouped)]


def test_u_image_gets_zoom_and_pan_rows_when_the_engine_outpaints() -> None:
    job = u_image()
    assert rows(messages.result_buttons(job, capabilities=OUTPAINTING.capabilities)) == [
        ["Vary (Subtle)", "Vary (Strong)"], ["Upscale (2x)", "Upscale (4x)", "🔄"],
        ["Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom"], ["⬅️", "➡️", "⬆️", "⬇️"]]
    assert len(rows(messages.result_buttons(job, capabilities=PLAIN.capabilities))) == 2
    upscaled = job.model_copy(deep=True)
    upscaled.spec.upscale_factor = 2
    assert len(rows(messages.result_buttons(upscaled, capabilities=OUTPAINTING.capabilities))) == 2


@pytest.mark.parametrize("action", [Action.zoom_2x, Action.zoom_15x, Action.pan_left, Action.pan_right,
                                    Action.pan_up, Action.pan_down])
def test_outpaint_custom_ids_round_trip(action: Action) -> None:
    job_id = "0b6c3e7e-6f0c-4d4e-9f55-8d8f5c2b1a90"
    custom_id = encode(action, job_id, 1)
    assert decode(custom_id).action is action and len(custom_id) <= 100


def test_zoom_out_keeps_the_canvas_and_shrinks_the_source() -> None:
    job = press(u_image(), Action.zoom_15x)
    spec = job.spec
    assert (spec.operation, spec.zoom, spec.n_images, spec.width, spec.height) == (Operation.zoom, 1.5, 4, 64, 64)
    assert (spec.init_image, spec.seed, spec.upscale_factor, spec.pan) == ("img-2", 99, None, None)
    assert messages.finished(job) == "**a fox --ar 1:1** - Zoom Out by <@7> (fast)"


@pytest.mark.parametrize(("action", "size", "ar"), [(Action.pan_left, (96, 64), "3:2"),
                                                    (Action.pan_down, (64, 96), "2:3")])
def test_pan_grows_one_side_and_rewrites_ar(action: Action, size: tuple[int, int], ar: str) -> None:
    job = press(u_image(), action)
    assert (job.spec.operation, (job.spec.width, job.spec.height)) == (Operation.pan, size)
    assert job.spec.pan is PanDirection(action.name.removeprefix("pan_"))
    assert job.spec.full_prompt == f"a fox --ar {ar}"
    assert messages.finished(job).startswith(f"**a fox --ar {ar}** - Pan {action.name[4:].title()} by <@7>")


def test_with_aspect_appends_when_the_prompt_had_none() -> None:
    assert with_aspect("a fox --chaos 5", "3:2") == "a fox --chaos 5 --ar 3:2"
    assert with_aspect("a fox --aspect 1:1 --q 2", "2:3") == "a fox --ar 2:3 --q 2"


def test_engine_without_outpainting_refuses_a_forged_press() -> None:
    with pytest.raises(DeriveError, match="cannot pan"):
        press(u_image(), Action.pan_up, entry=PLAIN)
    with pytest.raises(DeriveError, match="cannot zoom out"):
        press(u_image(), Action.zoom_2x, entry=PLAIN)


def test_reroll_of_a_zoom_grid_zooms_again_and_variation_clears_it() -> None:
    zoomed = press(u_image(), Action.zoom_2x)
    zoomed.status, zoomed.outputs = JobStatus.done, ["a", "b", "c", "d"]
    again = press(zoomed, Action.reroll, seed=5)
    assert (again.spec.operation, again.spec.zoom, again.spec.seed, again.label) == (Operation.zoom, 2.0, 5,
                                                                                  "Zoom Out")
    varied = press(zoomed, Action.vary_strong)
    assert (varied.spec.operation, varied.spec.zoom, varied.spec.init_image) == (Operation.variation, None, "a")


SMALL_BASE = parse_entry("small", {"kind": "tiny", "family": "sd", "size_multiple": 32, "base_width": 64,
                                   "base_height": 64, "capabilities": ["imagine", "zoom", "pan"]})


def finished(job: Job) -> Job:
    return job.model_copy(update={"status": JobStatus.done, "outputs": ["a", "b", "c", "d"]})


def press_bounded(parent: Job, action: Action, max_side: int | None = None) -> Job:
    return derive(parent, action, 1, CLICKER, lane=Lane.fast, variation_mode=VariationMode.high,
                  entry=SMALL_BASE, seed=5, max_side=max_side)


def test_repeated_pans_stop_at_three_times_the_engine_base_side() -> None:
    job, widths = u_image(), []
    with pytest.raises(DeriveError, match=r"288x64 image, above .*192 pixels per side and 4x its 64x64 area"):
        for _ in range(10):
            job = press_bounded(finished(job), Action.pan_left)
            widths.append(job.spec.width)
    assert widths == [96, 128, 192]


def test_a_pan_past_four_times_the_base_area_is_refused() -> None:
    wide = press_bounded(finished(press_bounded(finished(press_bounded(u_image(), Action.pan_left)),
                                                Action.pan_left)), Action.pan_left)
    assert (wide.spec.width, wide.spec.height) == (192, 64)
    with pytest.raises(DeriveError, match="192x96 image"):  # 18432 px > 4 x 64 x 64
        press_bounded(finished(wide), Action.pan_up)


def test_channel_max_side_replaces_the_default_bound() -> None:
    once = press_bounded(u_image(), Action.pan_right, max_side=100)
    assert once.spec.width == 96
    with pytest.raises(DeriveError, match="128x64 image, above this channel's limit of 100 pixels per side"):
        press_bounded(finished(once), Action.pan_right, max_side=100)
    job = u_image()
    for _ in range(4):  # a generous channel limit lets the canvas pass the default bound
        job = press_bounded(finished(job), Action.pan_right, max_side=1000)
    assert job.spec.width == 288
