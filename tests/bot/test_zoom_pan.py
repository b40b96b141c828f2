"""Zoom Out / Pan end to end: U1 -> the single-image rows -> Zoom Out 2x and ⬅️ -> new grids, on an engine
that outpaints; none of those buttons on one that does not."""

from __future__ import annotations

import pytest

from midway.contract import Operation
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import GRID_LABELS, button, job_of, label_of, labels, result_for, wait_for_stored_job

pytestmark = pytest.mark.slow


def rows(message: Message) -> list[list[str | None]]:
    return [[label_of(b) for b in row["components"]] for row in message.components]


async def single_image(pg: Playground, prompt: str, channel: str = "general") -> Message:
    ack = await (await pg.slash("imagine", user="alice", channel=channel, options={"prompt": prompt})).response()
    grid = await result_for(pg, ack, channel=channel)
    await (await pg.click(grid.id, button(grid, "U1"), user="alice")).acked()
    return await result_for(pg, grid, channel=channel)


async def outpaint(pg: Playground, single: Message, label: str, says: str) -> Message:
    await (await pg.click(single.id, button(single, label), user="alice")).acked()
    announced = await pg.wait_for_message(
        "general", lambda m: m.reference_id == single.id and says in m.content and not m.attachments)
    assert "(Waiting to start)" in announced.content or "%)" in announced.content
    return await result_for(pg, announced)


async def test_zoom_out_and_pan_left_make_new_grids(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    single = await single_image(pg, "a lone tree")
    assert rows(single) == [["Vary (Subtle)", "Vary (Strong)", "Vary (Region)"],
                            ["Upscale (2x)", "Upscale (4x)", "🔄"],
                            ["Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom"], ["⬅️", "➡️", "⬆️", "⬇️"]]

    zoomed = await outpaint(pg, single, "Zoom Out 2x", "Zoom Out by")
    assert zoomed.content == f"**a lone tree** - Zoom Out by <@{alice}> (fast)"
    assert labels(zoomed) == GRID_LABELS
    assert (zoomed.attachments[0].width, zoomed.attachments[0].height) == (128, 128)

    panned = await outpaint(pg, single, "⬅️", "Pan Left by")
    assert panned.content == f"**a lone tree --ar 3:2** - Pan Left by <@{alice}> (fast)"
    # Four 96x64 images: the 64x64 source grew by half to the left.
    assert (panned.attachments[0].width, panned.attachments[0].height) == (192, 128)
    # Both pressed buttons turned blue; the rest stayed grey.
    styles = {label_of(b): b["style"] for b in pg.message(single.id).buttons}
    assert styles["Zoom Out 2x"] == styles["⬅️"] == 1 and styles["Zoom Out 1.5x"] == 2


async def test_engine_without_outpainting_shows_no_zoom_or_pan(pg: Playground, worker, midway) -> None:
    await (await pg.slash("engine set", user="admin", channel="art", options={"engine": "tiny2"})).response()
    single = await single_image(pg, "a small hut", channel="art")
    assert labels(single) == ["Vary (Subtle)", "Vary (Strong)", "Upscale (2x)", "Upscale (4x)", "🔄"]


async def test_with_remix_on_a_pan_first_asks_for_the_prompt(pg: Playground, worker, midway, settings) -> None:
    single = await single_image(pg, "a lone tree")
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    modal = await (await pg.click(single.id, button(single, "➡️"), user="alice")).response()
    assert modal.custom_id.startswith("mwm:pr:")
    await (await pg.submit_modal(modal.custom_id, {"prompt": "a lone tree beside a red barn"}, user="alice")).acked()
    announced = await pg.wait_for_message(
        "general", lambda m: m.reference_id == single.id and "Pan Right" in m.content and not m.attachments)
    panned = await result_for(pg, announced)
    assert "a lone tree beside a red barn" in panned.content and "Pan Right" in panned.content
    assert (panned.attachments[0].width, panned.attachments[0].height) == (192, 128)
    spec = (await wait_for_stored_job(settings.redis_url, job_of(panned))).spec
    assert spec.prompt == "a lone tree beside a red barn" and spec.operation is Operation.pan
