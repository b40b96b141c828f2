"""Message texts and button layouts match Midjourney's formats exactly."""

from __future__ import annotations

from bot import messages
from bot.custom_ids import Action, decode, encode
from midway.contract import GenerationSpec, Job, Lane, Operation, Requester


def make_job(**overrides) -> Job:
    spec = GenerationSpec(prompt="a red fox", full_prompt="a red fox --ar 3:2")
    return Job(spec=spec, requester=Requester(user_id="42", user_name="ann"), **overrides)


def test_lifecycle_texts() -> None:
    job = make_job()
    assert messages.waiting(job) == "**a red fox --ar 3:2** - <@42> (Waiting to start)"
    assert messages.waiting(job, position=3).endswith("(Waiting to start) (#3 in queue)")
    assert "no worker" in messages.waiting(job, served=False)
    assert messages.progress(job, 46) == "**a red fox --ar 3:2** - <@42> (46%) (fast)"
    assert messages.finished(job) == "**a red fox --ar 3:2** - <@42> (fast)"
    assert messages.stopped(job).endswith("(Stopped)")
    assert messages.failed(job, "out of memory\ntrace").endswith("(Failed: out of memory)")


def test_a_waiting_message_says_about_how_long_once_it_is_known() -> None:
    job = make_job()
    assert messages.waiting(job, position=3, eta_s=None).endswith("(Waiting to start) (#3 in queue)")
    assert messages.waiting(job, position=3, eta_s=0.4).endswith("(#3 in queue)")  # under a second: nothing
    assert messages.waiting(job, position=3, eta_s=38.2).endswith("(#3 in queue, about 40 s)")
    assert messages.waiting(job, position=9, eta_s=250).endswith("(#9 in queue, about 4 min)")


def test_every_message_of_a_draft_says_draft() -> None:
    spec = GenerationSpec(prompt="a red fox", full_prompt="a red fox", draft=True)
    job = Job(spec=spec, requester=Requester(user_id="42"))
    assert messages.waiting(job, position=2) == "**a red fox** - <@42> (Draft) (Waiting to start) (#2 in queue)"
    assert messages.progress(job, 50) == "**a red fox** - <@42> (Draft) (50%) (fast)"
    assert messages.finished(job) == "**a red fox** - <@42> (Draft) (fast)"


def test_relax_lane_says_relaxed() -> None:
    assert messages.finished(make_job(lane=Lane.relax)).endswith("(relaxed)")


def test_derived_job_texts() -> None:
    variation = make_job(label="Variations (Strong)")
    assert messages.finished(variation) == "**a red fox --ar 3:2** - Variations (Strong) by <@42> (fast)"
    assert messages.single_image(make_job(), 2) == "**a red fox --ar 3:2** - Image #2 <@42>"
    split = make_job(parent_index=3)
    split.spec.operation, split.spec.n_images = Operation.upscale, 1
    assert messages.result_text(split) == "**a red fox --ar 3:2** - Image #3 <@42>"


def test_long_prompt_keeps_content_under_discord_limit() -> None:
    job = make_job()
    job.spec.full_prompt = "fox " * 1000
    assert len(messages.failed(job, "x" * 500)) <= 2000


def test_grid_buttons_in_midjourney_order() -> None:
    job = make_job()
    buttons = messages.grid_buttons(job.id)
    assert [b.label or b.emoji for b in buttons] == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
    assert [b.row for b in buttons] == [0] * 5 + [1] * 4
    assert decode(buttons[1].custom_id).index == 2
    assert all(b.style is messages.Style.grey for b in buttons)


def test_used_button_turns_blue() -> None:
    job = make_job()
    used = {encode(Action.upscale, job.id, 1)}
    styles = [b.style for b in messages.grid_buttons(job.id, used)]
    assert styles[0] is messages.Style.blue and styles[1] is messages.Style.grey


def test_a_button_used_through_remix_turns_green() -> None:
    job = make_job()
    v1 = encode(Action.variation, job.id, 1)
    styles = {b.label: b.style for b in messages.grid_buttons(job.id, {v1, v1 + messages.REMIXED_SUFFIX})}
    assert styles["V1"] is messages.Style.green and styles["V2"] is messages.Style.grey


def test_single_image_buttons() -> None:
    job = make_job()
    labels = [b.label or b.emoji for b in messages.single_buttons(job.id, 1)]
    assert labels == ["Vary (Subtle)", "Vary (Strong)", "Upscale (2x)", "Upscale (4x)", "🔄"]


def test_attachment_name_carries_job_id() -> None:
    job = make_job()
    assert messages.attachment_name(job, "PNG") == f"ann_a_red_fox_{job.id}.png"
