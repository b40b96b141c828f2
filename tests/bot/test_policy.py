"""Server policy: banned words name the word, caps count the user's jobs, channel limits name the rule."""

from __future__ import annotations

from bot.policy import ChannelLimits, UserLoad, caps_notice, check_banned, check_caps, check_channel, find_banned
from midway.contract import GenerationSpec


def test_banned_word_matches_whole_words_only() -> None:
    assert find_banned("a dragon with blood on its claws", {"blood"}) == "blood"
    assert find_banned("A BLOOD moon", {"blood"}) == "blood"
    # Midjourney's list famously blocked "hi" inside longer words; whole words only here.
    assert find_banned("this is a thin line", {"hi"}) is None
    assert find_banned("bloodhound puppy", {"blood"}) is None


def test_banned_phrase_matches_across_spacing() -> None:
    assert find_banned("a  red   fox", {"red fox"}) == "red fox"
    assert find_banned("red, fox", {"red fox"}) is None


def test_banned_word_in_negative_prompt_is_caught_and_named() -> None:
    spec = GenerationSpec(prompt="a cat", full_prompt="a cat --no gore", negative_prompt="gore")
    error = check_banned(spec, {"gore"})
    assert error is not None and "`gore`" in error.message
    assert check_banned(GenerationSpec(prompt="a cat"), {"gore"}) is None


def test_caps_allow_up_to_running_plus_queued() -> None:
    assert check_caps(UserLoad(running=3, queued=9), max_running=3, max_queued=10) is None
    full = check_caps(UserLoad(running=3, queued=10), max_running=3, max_queued=10)
    assert full is not None and full.title == "Queue full"
    # Counted as the cap counts them: all unfinished jobs, whichever are running.
    waiting = check_caps(UserLoad(running=0, queued=13), max_running=3, max_queued=10)
    assert waiting is not None and waiting.detail.startswith(
        "You have 13 unfinished jobs (0 running, 13 waiting); the most allowed is 13 (3 running while up to 10 wait)")
    # A batch of 4 does not fit when only 2 slots are left.
    batch = check_caps(UserLoad(running=3, queued=8), 3, 10, extra=4)
    assert batch is not None and "11 unfinished jobs (3 running, 8 waiting), and this request adds 4;" in batch.detail


def test_caps_count_drafts_at_their_cost() -> None:
    # Three running and ten waiting drafts at half a job each: 6.5 of the 13 allowed.
    drafts = UserLoad(running=3, queued=10, units=6.5)
    assert check_caps(drafts, 3, 10, extra=6.5) is None
    over = check_caps(drafts, 3, 10, extra=7)
    assert over is not None and over.detail.startswith(
        "You have 13 unfinished jobs (3 running, 10 waiting), counting as 6.5 (a draft counts as part of a job), "
        "and this request adds 7;")
    # A full queue has no room for even a quarter of a job; the channel limit counts the same way.
    assert check_caps(UserLoad(running=3, queued=10), 3, 10, extra=0.25) is not None
    limited = check_channel(GenerationSpec(prompt="a"), ChannelLimits(max_jobs_per_user=2),
                            UserLoad(running=0, queued=7, units=1.75), extra=0.25)
    assert limited is None
    assert check_channel(GenerationSpec(prompt="a"), ChannelLimits(max_jobs_per_user=2),
                         UserLoad(running=0, queued=8, units=2.0), extra=0.25) is not None


def test_caps_notice_when_running_cap_reached() -> None:
    assert caps_notice(UserLoad(running=3, queued=0), max_running=3) is not None
    assert caps_notice(UserLoad(running=2, queued=5), max_running=3) is None


def test_channel_limits_name_the_rule() -> None:
    load = UserLoad(running=0, queued=1)
    spec = GenerationSpec(prompt="x", steps=60, width=1024, height=1024)
    steps = check_channel(spec, ChannelLimits(max_steps=30), load)
    assert steps is not None and "60" in steps.detail and "30" in steps.detail
    side = check_channel(spec, ChannelLimits(max_side=512), load)
    assert side is not None and "1024x1024" in side.detail
    jobs = check_channel(spec, ChannelLimits(max_jobs_per_user=1), load)
    assert jobs is not None and "1 unfinished" in jobs.detail
    assert check_channel(spec, ChannelLimits(), load) is None
