"""Zoom Out / Pan geometry and the specs the bot sends: pure functions, no torch."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines import outpaint
from midway import spec_edits
from midway.contract import GenerationSpec, Operation, PanDirection


def spec(**update) -> GenerationSpec:
    fields = dict(prompt="a fox", full_prompt="a fox --ar 1:1", width=256, height=256, seed=5)
    fields.update(update)
    return GenerationSpec(**fields)


@pytest.mark.parametrize(
    ("direction", "size", "ratio"),
    [("left", (384, 256), "3:2"), ("right", (384, 256), "3:2"), ("up", (256, 384), "2:3"), ("down", (256, 384), "2:3")],
)
def test_pan_grows_the_canvas_by_half_on_that_axis_and_changes_the_aspect_ratio(direction, size, ratio):
    panned = spec_edits.pan_spec(spec(n_images=1, strength=0.5), direction, multiple=32)
    assert (panned.width, panned.height) == size
    assert panned.aspect_ratio == ratio
    assert (panned.operation, panned.pan, panned.n_images, panned.strength) == (Operation.pan, direction, 4, None)
    assert panned.prompt == "a fox" and panned.seed == 5


def test_pan_sizes_stay_on_the_engine_multiple_and_always_grow():
    assert spec_edits.pan_size(1344, 768, PanDirection.right, 64) == (2048, 768)
    assert spec_edits.pan_size(16, 16, "up", 16) == (16, 32)
    assert spec_edits.aspect_ratio(2048, 768) == "8:3"


def test_zoom_spec_keeps_the_canvas_and_checks_the_factor():
    zoomed = spec_edits.zoom_spec(spec(pan=PanDirection.up), 1.5)
    assert (zoomed.operation, zoomed.zoom, zoomed.pan, zoomed.width, zoomed.height) == (Operation.zoom, 1.5, None,
                                                                                        256, 256)
    with pytest.raises(ValueError, match="between 1.0 and 2.0"):
        spec_edits.zoom_spec(spec(), 3)


def test_zoom_out_centres_the_source_shrunk_by_the_factor():
    plan = outpaint.layout(spec_edits.zoom_spec(spec(), 2.0), (256, 256))
    assert plan.box == (64, 64, 192, 192)
    plan = outpaint.layout(spec_edits.zoom_spec(spec(), 1.5), (512, 512))  # a bigger source is scaled to fit
    assert plan.source_size == (171, 171) and plan.box[0] == plan.box[1] == 42


@pytest.mark.parametrize(
    ("direction", "box"),
    [("left", (128, 0, 384, 256)), ("right", (0, 0, 256, 256)), ("up", (0, 128, 256, 384)), ("down", (0, 0, 256, 256))],
)
def test_pan_keeps_the_source_at_full_size_on_the_opposite_side(direction, box):
    panned = spec_edits.pan_spec(spec(), direction)
    assert outpaint.layout(panned, (256, 256)).box == box


def test_a_pan_without_a_grown_canvas_still_leaves_a_third_to_paint():
    plan = outpaint.layout(spec(operation=Operation.pan, pan=PanDirection.right), (256, 256))
    assert plan.box == (0, 42, 171, 213)


def test_the_kept_area_ramps_only_where_it_meets_new_content():
    plan = outpaint.layout(spec_edits.pan_spec(spec(), "left"), (256, 256))  # source on the right half
    alpha = outpaint.keep_alpha(plan)
    band = outpaint.overlap(plan)
    assert alpha.shape == (256, 384)
    assert (alpha[:, :128] == 0).all()  # the new strip
    assert (alpha[:, 128 + band:] == 1).all()  # the canvas borders (top, right, bottom) are not blended
    assert 0 < alpha[0, 128 + band // 2] < 1


def test_canvas_mask_and_paste_back():
    source = Image.new("RGB", (64, 64), (200, 30, 30))
    plan = outpaint.layout(spec_edits.zoom_spec(spec(width=64, height=64), 2.0), source.size)
    canvas, mask = outpaint.canvas_and_mask(source, plan)
    assert canvas.getpixel((32, 32)) == (200, 30, 30) and canvas.getpixel((2, 2)) == (127, 127, 127)
    # The mask paints the new area and the seam band; only the source's fully kept core stays.
    assert mask.mode == "L" and mask.getpixel((2, 2)) == 255 and mask.getpixel((32, 32)) == 0
    assert mask.getpixel((17, 32)) == 255
    painted = Image.new("RGB", (64, 64), (0, 0, 255))
    result = np.asarray(outpaint.paste_back(painted, source, plan))
    assert tuple(result[32, 32]) == (200, 30, 30) and tuple(result[2, 2]) == (0, 0, 255)
    assert 0 < result[32, 17, 0] < 200  # blended across the seam
