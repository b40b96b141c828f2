"""bot/safety_policy.py: what each server policy does with a job's safety verdict, as a pure function."""

from __future__ import annotations

from bot.messages import grid_buttons, single_buttons
from bot.safety_policy import PLAIN, SafetyMode, allowed_buttons, treatment
from midway.contract import GenerationSpec, Job, Requester


def job(flagged: list[bool], failed: bool = False) -> Job:
    return Job(spec=GenerationSpec(prompt="a fox", n_images=max(1, len(flagged))), requester=Requester(user_id="1"),
               safety_flagged=flagged, safety_failed=failed)


def treat(flagged: list[bool], mode: SafetyMode, *, nsfw: bool = False, exempt: bool = True, failed: bool = False):
    return treatment(job(flagged, failed), mode, channel_nsfw=nsfw, nsfw_exempt=exempt)


def test_spoiler_names_the_flagged_images() -> None:
    one = treat([False, True, False, False], SafetyMode.spoiler)
    assert one.spoiler and not one.blocked and one.flagged == (2,)
    assert one.note == "-# ⚠️ Spoilered: image #2 was flagged by the safety filter."
    assert "images #1, #4 were flagged" in treat([True, False, False, True], SafetyMode.spoiler).note
    assert "the image was flagged" in treat([True], SafetyMode.spoiler).note


def test_a_checker_failure_says_the_images_were_not_checked() -> None:
    note = treat([True] * 4, SafetyMode.block, failed=True).note
    assert "the safety filter could not check images #1, #2, #3, #4" in note and "Not shown" in note


def test_nothing_flagged_off_and_exempt_age_restricted_channels_post_plainly() -> None:
    assert treat([False] * 4, SafetyMode.block) is PLAIN
    assert treat([], SafetyMode.block) is PLAIN  # not checked: a text job, the filter off, an old record
    assert treat([True] * 4, SafetyMode.off) is PLAIN
    assert treat([True] * 4, SafetyMode.block, nsfw=True) is PLAIN
    assert treat([True] * 4, SafetyMode.spoiler, nsfw=True, exempt=False).spoiler


def test_block_drops_the_buttons_of_flagged_images_only() -> None:
    grid = job([False, True, False, False])
    buttons = allowed_buttons(grid_buttons(grid.id), treatment(grid, SafetyMode.block, channel_nsfw=False,
                                                               nsfw_exempt=True))
    assert [spec.label or spec.emoji for spec in buttons] == ["U1", "U3", "U4", "🔄", "V1", "V3", "V4"]
    single = job([True])
    kept = allowed_buttons(single_buttons(single.id, 1), treatment(single, SafetyMode.block, channel_nsfw=False,
                                                                   nsfw_exempt=True))
    assert [spec.emoji for spec in kept] == ["🔄"]
    spoilered = treatment(grid, SafetyMode.spoiler, channel_nsfw=False, nsfw_exempt=True)
    assert allowed_buttons(grid_buttons(grid.id), spoilered) == grid_buttons(grid.id)
