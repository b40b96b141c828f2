"""Modals are answered by their custom_id, like buttons: one opened before a bot restart works after it,
nothing is kept per open modal, and a forged or outdated form gets an explanation, never a job."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.custom_ids import MODAL_ACTIONS, Action, ButtonRef, CustomIdError, decode, decode_modal, encode_modal
from midway.contract import new_job_id
from midway.discord_limits import CUSTOM_ID
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import button, job_of, jobs_of_user, result_for


@given(st.sampled_from(sorted(MODAL_ACTIONS)), st.uuids(version=4), st.integers(1, 4))
def test_a_modal_id_is_its_buttons_id_under_its_own_prefix(action: Action, job_uuid, index: int) -> None:
    ref = ButtonRef(action, str(job_uuid), None if action is Action.reroll else index)
    assert decode_modal(ref.modal_id) == ref and len(ref.modal_id) <= CUSTOM_ID
    assert ref.modal_id == "mwm" + ref.custom_id[2:]
    with pytest.raises(CustomIdError):
        decode(ref.modal_id)  # never taken for a button press
    with pytest.raises(CustomIdError):
        encode_modal(ButtonRef(Action.upscale, str(job_uuid), index))  # U opens no modal


async def grid_for(pg: Playground, prompt: str) -> Message:
    ack = await (await pg.slash("imagine", user="alice", channel="general", options={"prompt": prompt})).response()
    return await result_for(pg, ack)


async def new_grid(pg: Playground, source: Message) -> Message:
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == source.id and not m.attachments)
    return await result_for(pg, announced)


@pytest.mark.slow
async def test_modals_opened_before_a_restart_are_answered_after_it(pg: Playground, worker, bots) -> None:
    alice, bob, carol = pg.user("alice").id, pg.add_user("bob").id, pg.add_user("carol").id
    bot = await bots.start()
    await (await pg.slash("prefer remix", user="alice", channel="general")).response()
    grid = await grid_for(pg, "a lone tree")
    await (await pg.click(grid.id, button(grid, "U1"), user="alice")).acked()
    single = await result_for(pg, grid)
    # Discord's client holds one open modal per user: one each.
    remix = await (await pg.click(grid.id, button(grid, "V1"), user="alice")).response()
    assert remix.custom_id == ButtonRef(Action.variation, job_of(grid), 1).modal_id
    zoom = await (await pg.click(single.id, button(single, "Custom Zoom"), user="bob")).response()
    region = await (await pg.click(single.id, button(single, "Vary (Region)"), user="carol")).response()
    # Nothing is held per open modal: the custom_id is all its state.
    assert not bot._connection._view_store._modals
    await bots.stop(bot)

    await bots.start()
    await (await pg.submit_modal(remix.custom_id, {"prompt": "a wolf --chaos 40"}, user="alice")).acked()
    assert (await new_grid(pg, grid)).content == f"**a wolf --chaos 40** - Remix (Strong) by <@{alice}> (fast)"
    await (await pg.submit_modal(zoom.custom_id, {"prompt": "a lone tree --zoom 1.5"}, user="bob")).acked()
    assert (await new_grid(pg, single)).content == f"**a lone tree** - Zoom Out by <@{bob}> (fast)"
    await (await pg.submit_modal(region.custom_id, {"region": "bottom half"}, user="carol")).acked()
    announced = await pg.wait_for_message("general", lambda m: m.reference_id == single.id and not m.attachments
                                          and "Region" in m.content)
    assert (await result_for(pg, announced)).content == f"**a lone tree** - Variations (Region) by <@{carol}> (fast)"


@pytest.mark.slow
async def test_forged_and_outdated_forms_are_explained(pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice").id
    grid = await grid_for(pg, "a grey cat")
    other = await grid_for(pg, "a black cat")
    before = len(jobs_of_user(settings.redis_url, alice))
    forged = {
        "mwm:3f2a9c0e5b7d4e1f8a6c2b9d0e4f7a13": "Unknown form",  # a modal id of an earlier version
        f"mwm:u:{job_of(grid)}:1": "Unknown form",  # U opens no modal
        "settings": "Unknown form",
        f"mwm:v:{new_job_id()}:1": "Unknown job",
        ButtonRef(Action.variation, job_of(other), 1).modal_id: "not on this message",
    }
    for custom_id, says in forged.items():
        reply = await (await pg.submit_modal(custom_id, {"prompt": "a dog"}, user="alice", forge_on=grid.id)
                       ).response()
        assert reply.ephemeral_for == alice and says in reply.content, custom_id
    assert len(jobs_of_user(settings.redis_url, alice)) == before
