"""Vary (Region), Custom Zoom and Make Square end to end: the button, its modal, the new grid and its text."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engines.region import keep_alpha
from midway.sizing import size_for_aspect
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import GRID_LABELS, button, label_of, labels, result_for

pytestmark = pytest.mark.slow


async def single_image(pg: Playground, prompt: str, channel: str = "general") -> Message:
    ack = await (await pg.slash("imagine", user="alice", channel=channel, options={"prompt": prompt})).response()
    grid = await result_for(pg, ack, channel=channel)
    await (await pg.click(grid.id, button(grid, "U1"), user="alice")).acked()
    return await result_for(pg, grid, channel=channel)


async def submitted(pg: Playground, single: Message, label: str, values: dict[str, str]) -> Message:
    """Press `label`, fill in its modal, and return the new grid it makes."""
    modal = await (await pg.click(single.id, button(single, label), user="alice")).response()
    await (await pg.submit_modal(modal.custom_id, values, user="alice")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == single.id and not m.attachments)
    return await result_for(pg, announced)


def pixels(message: Message) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(message.attachments[0].data)).convert("RGB"), dtype=np.float64)


async def test_vary_region_repaints_only_the_region(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    single = await single_image(pg, "a lone tree")
    modal = await (await pg.click(single.id, button(single, "Vary (Region)"), user="alice")).response()
    assert modal.title == "Vary (Region)" and "x,y,w,h" in str(modal.components) and "prompt" not in str(
        modal.components)
    refusal = await (await pg.submit_modal(modal.custom_id, {"region": "the trunk"}, user="alice")).response()
    assert refusal.ephemeral_for == alice and "`the trunk` is not a region" in refusal.content

    grid = await submitted(pg, single, "Vary (Region)", {"region": "bottom half"})
    assert grid.content == f"**a lone tree** - Variations (Region) by <@{alice}> (fast)"
    assert labels(grid) == GRID_LABELS
    source, cells = pixels(single), pixels(grid)
    kept = keep_alpha((0.0, 0.5, 1.0, 0.5), (64, 64)) == 1
    for top, left in [(0, 0), (0, 64), (64, 0), (64, 64)]:
        cell = cells[top:top + 64, left:left + 64]
        assert np.abs(cell - source)[kept].mean() < 1.0  # outside the region: the source as it was
        assert np.abs(cell - source)[32:].mean() > 10  # the bottom half: repainted


async def test_vary_region_with_remix_edits_the_prompt_too(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    single = await single_image(pg, "a red barn")
    # The canvas stays: a new `--ar` is refused, not echoed and ignored.
    modal = await (await pg.click(single.id, button(single, "Vary (Region)"), user="alice")).response()
    refusal = await (await pg.submit_modal(modal.custom_id, {"region": "center", "prompt": "a red barn --ar 2:1"},
                                           user="alice")).response()
    assert refusal.ephemeral_for == alice and "Vary (Region) can't take `--ar 2:1`" in refusal.content
    grid = await submitted(pg, single, "Vary (Region)", {"region": "25,25,50,50",
                                                         "prompt": "a red barn, snow --stylize 600"})
    assert grid.content == f"**a red barn, snow --stylize 600** - Remix (Region) by <@{alice}> (fast)"


async def test_custom_zoom_takes_a_factor_and_a_new_aspect_ratio(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    single = await single_image(pg, "a quiet pond")
    modal = await (await pg.click(single.id, button(single, "Custom Zoom"), user="alice")).response()
    assert modal.title == "Zoom Out" and "a quiet pond --zoom 2" in str(modal.components)
    refusal = await (await pg.submit_modal(modal.custom_id, {"prompt": "a quiet pond --zoom 3"}, user="alice")
                     ).response()
    assert refusal.ephemeral_for == alice and "`--zoom 3` is not a zoom" in refusal.content

    grid = await submitted(pg, single, "Custom Zoom", {"prompt": "a quiet pond --zoom 1.5 --ar 3:2"})
    assert grid.content == f"**a quiet pond --ar 3:2** - Zoom Out by <@{alice}> (fast)"
    width, height = size_for_aspect(3, 2, 64, 64, 32)
    assert (grid.attachments[0].width, grid.attachments[0].height) == (2 * width, 2 * height)


async def test_make_square_only_on_non_square_images(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    square = await single_image(pg, "a round moon")
    assert "Make Square" not in labels(square)
    wide = await single_image(pg, "a long bridge --ar 3:2")
    assert [label_of(b) for b in wide.components[2]["components"]][-1] == "Make Square"
    cell_w, cell_h = wide.attachments[0].width, wide.attachments[0].height
    await (await pg.click(wide.id, button(wide, "Make Square"), user="alice")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == wide.id and not m.attachments)
    grid = await result_for(pg, announced)
    assert grid.content == f"**a long bridge --ar 1:1** - Zoom Out by <@{alice}> (fast)"
    side = max(cell_w, cell_h)
    assert (grid.attachments[0].width, grid.attachments[0].height) == (2 * side, 2 * side)
