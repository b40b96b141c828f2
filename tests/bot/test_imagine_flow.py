"""/imagine -> progress edits -> grid with 9 buttons -> U2 -> single image -> Vary (Strong) -> grid -> 🔄.

End to end: unmodified discord.py (the real MidwayBot) against the playground, a real redis-server,
a `midway worker` subprocess running the tiny engine.
"""

from __future__ import annotations

import re

import pytest

from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import GRID_LABELS, button, labels, result_for

pytestmark = pytest.mark.slow

async def waiting_reply(pg: Playground, parent: Message, timeout: float = 10) -> Message:
    return await pg.wait_for_message("general", lambda m: m.reference_id == parent.id
                                     and "(Waiting to start)" in m.content or m.reference_id == parent.id
                                     and "%)" in m.content, timeout=timeout)


async def test_imagine_grid_upscale_vary_reroll(pg: Playground, worker, midway) -> None:
    alice = pg.user("alice").id
    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a red fox"})
    ack = await run.response()
    assert ack.content == f"**a red fox** - <@{alice}> (Waiting to start)"
    assert ack.custom_ids and ack.custom_ids[0].startswith("mw:x:")

    grid = await result_for(pg, ack)
    assert grid.content == f"**a red fox** - <@{alice}> (fast)"
    assert labels(grid) == GRID_LABELS
    assert [len(row["components"]) for row in grid.components] == [5, 4]
    assert len(grid.attachments) == 1 and grid.attachments[0].filename.endswith(".png")
    assert grid.attachments[0].width == 128 and grid.attachments[0].height == 128

    # The waiting message was edited with progress percentages and a preview before the result.
    edits = [r.json for r in pg.requests_to("PATCH /channels/{channel_id}/messages/{message_id}")
             if r.path.endswith(f"/{ack.id}") and isinstance(r.json, dict)]
    progress = [e.get("content", "") for e in edits if re.search(r"\(\d+%\) \(fast\)$", e.get("content", ""))]
    assert progress, f"no progress edits among {[e.get('content') for e in edits]}"
    assert all(p.startswith(f"**a red fox** - <@{alice}> (") for p in progress)

    # U2: image #2 alone, replying to the grid, with the single-image buttons; U2 turned blue.
    clicked = await pg.click(grid.id, button(grid, "U2"), user="alice")
    await clicked.acked()
    single = await result_for(pg, grid)
    assert single.content == f"**a red fox** - Image #2 <@{alice}>"
    assert labels(single) == ["Vary (Subtle)", "Vary (Strong)", "Vary (Region)", "Upscale (2x)", "Upscale (4x)",
                              "🔄", "Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom", "⬅️", "➡️", "⬆️", "⬇️"]
    assert single.attachments[0].width == 64
    u2 = next(b for b in pg.message(grid.id).buttons if b.get("label") == "U2")
    assert u2["style"] == 1  # primary: "used" blue

    # Vary (Strong): a variation grid, announced then delivered as a new message.
    await (await pg.click(single.id, button(single, "Vary (Strong)"), user="alice")).acked()
    announced = await waiting_reply(pg, single)
    variations = await result_for(pg, announced)
    assert variations.content == f"**a red fox** - Variations (Strong) by <@{alice}> (fast)"
    assert labels(variations) == GRID_LABELS

    # 🔄 on the variation grid: same prompt, new seed, another grid.
    await (await pg.click(variations.id, button(variations, "🔄"), user="alice")).acked()
    rerolled = await result_for(pg, await waiting_reply(pg, variations))
    assert labels(rerolled) == GRID_LABELS
    assert rerolled.attachments[0].data != variations.attachments[0].data
