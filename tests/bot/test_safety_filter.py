"""Issue 21's safety filter end to end: a worker whose threshold of 0 flags every image (`flagging_worker`,
serving `tinyflag`), the real bot in the emulator, and each server's `/moderation safety` policy."""

from __future__ import annotations

import pytest
import redis

from bot import missed
from bot.app import MidwayBot
from midway import keys
from midway.settings import Settings
from playground.driver import Playground
from playground.state import Message
from tests.bot.helpers import GRID_LABELS, button, finished_while_the_bot_was_down, job_of, labels, stored_job

pytestmark = pytest.mark.slow

REASON = "flagged by the safety filter"


async def reply(pg: Playground, command: str, options: dict | None = None, *, user: str = "admin",
                channel: str = "general") -> Message:
    return await (await pg.slash(command, user=user, channel=channel, options=options or {})).response()


async def use_flagging_engine(pg: Playground, channel: str = "general") -> None:
    await reply(pg, "engine set", {"engine": "tinyflag"}, channel=channel)


async def imagine(pg: Playground, channel: str = "general", prompt: str = "a red fox") -> tuple[Message, Message]:
    """(the job's message, its result: the message replying to it with buttons, with or without an image)."""
    ack = await reply(pg, "imagine", {"prompt": prompt}, user="alice", channel=channel)
    result = await pg.wait_for_message(channel, lambda m: m.reference_id == ack.id and bool(m.buttons), timeout=60)
    return ack, result


def filenames(message: Message) -> list[str]:
    return [attachment.filename for attachment in message.attachments]


async def test_a_flagged_grid_is_spoilered_in_a_normal_channel_with_the_reason(
        pg: Playground, flagging_worker, midway: MidwayBot, settings: Settings) -> None:
    await use_flagging_engine(pg)
    _, result = await imagine(pg)
    [name] = filenames(result)
    assert name.startswith("SPOILER_") and name.endswith(".png")
    assert f"images #1, #2, #3, #4 were {REASON}" in result.content and "Spoilered" in result.content
    assert labels(result) == GRID_LABELS  # spoilered, not taken away
    job = stored_job(settings.redis_url, job_of(result))
    assert job is not None and job.safety_flagged == [True] * 4 and len(job.safety_scores) == 4

    # U2 separates the image without a worker: it keeps its grid's verdict.
    await (await pg.click(result.id, button(result, "U2"), user="alice")).acked()
    single = await pg.wait_for_message("general", lambda m: m.reference_id == result.id and bool(m.attachments))
    assert filenames(single)[0].startswith("SPOILER_") and f"the image was {REASON}" in single.content


async def test_an_age_restricted_channel_posts_it_plainly(pg: Playground, flagging_worker,
                                                         midway: MidwayBot) -> None:
    pg.add_channel("after-dark", nsfw=True)
    await use_flagging_engine(pg, "after-dark")
    _, result = await imagine(pg, "after-dark")
    assert not filenames(result)[0].startswith("SPOILER_") and REASON not in result.content

    # A channel marked age-restricted later (CHANNEL_UPDATE) is exempt from then on; unmarked, it is not.
    await use_flagging_engine(pg, "art")
    pg.set_nsfw("art")
    await pg.wait_until(lambda: midway.get_channel(pg.channel("art").id).is_nsfw() or None)
    _, plain = await imagine(pg, "art")
    assert not filenames(plain)[0].startswith("SPOILER_")
    pg.set_nsfw("art", False)
    await pg.wait_until(lambda: not midway.get_channel(pg.channel("art").id).is_nsfw() or None)
    _, spoilered = await imagine(pg, "art")
    assert filenames(spoilered)[0].startswith("SPOILER_")


async def test_block_posts_no_image_and_no_button_that_would_show_one(pg: Playground, flagging_worker,
                                                                      midway: MidwayBot) -> None:
    set_block = await reply(pg, "moderation safety", {"mode": "block"})
    assert set_block.ephemeral_for == pg.user("admin").id and "**Safety filter: block**" in set_block.content
    await use_flagging_engine(pg)
    ack, result = await imagine(pg)
    assert result.attachments == []
    assert f"**Not shown**: images #1, #2, #3, #4 were {REASON}" in result.content
    assert labels(result) == ["🔄"]  # U and V would show the flagged images; a new grid is scored in turn
    final = await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"))
    assert final.attachments == []  # the progress message's last preview is gone too

    # Age-restricted channels still post plainly, unless the server says they follow the rule too.
    pg.add_channel("after-dark", nsfw=True)
    await use_flagging_engine(pg, "after-dark")
    _, exempt = await imagine(pg, "after-dark")
    assert len(exempt.attachments) == 1 and labels(exempt) == GRID_LABELS
    shown = await reply(pg, "moderation safety", {"skip_age_restricted": False}, channel="after-dark")
    assert "age-restricted channels follow the same rule" in shown.content
    _, blocked = await imagine(pg, "after-dark")
    assert blocked.attachments == [] and REASON in blocked.content


async def test_off_posts_flagged_images_plainly(pg: Playground, flagging_worker, midway: MidwayBot) -> None:
    await reply(pg, "moderation safety", {"mode": "off"})
    await use_flagging_engine(pg)
    _, result = await imagine(pg)
    assert not filenames(result)[0].startswith("SPOILER_") and REASON not in result.content
    assert labels(result) == GRID_LABELS


async def test_images_under_the_threshold_are_posted_plainly(pg: Playground, worker, midway: MidwayBot,
                                                             settings: Settings) -> None:
    # The shared worker runs the tiny checker at threshold 1: it scores every image and flags none.
    _, result = await imagine(pg)
    assert not filenames(result)[0].startswith("SPOILER_") and REASON not in result.content
    job = stored_job(settings.redis_url, job_of(result))
    assert job is not None and job.safety_flagged == [False] * 4 and len(job.safety_scores) == 4


async def test_moderation_safety_is_admin_only_and_ephemeral(pg: Playground, midway: MidwayBot,
                                                             settings: Settings) -> None:
    shown = await reply(pg, "moderation safety")
    assert shown.ephemeral_for == pg.user("admin").id
    assert "**Safety filter: spoiler**" in shown.content
    assert "age-restricted channels post them plainly" in shown.content
    pg.allow_command("moderation", user="alice")  # unlocked in Discord's settings: the bot still checks
    refused = await reply(pg, "moderation safety", {"mode": "off"}, user="alice")
    assert refused.ephemeral_for == pg.user("alice").id and "Missing permission" in refused.content
    client = redis.Redis.from_url(settings.redis_url)
    try:
        assert client.get(keys.guild_settings_key(str(pg.world.default_guild.id))) is None
    finally:
        client.close()


async def test_a_missed_result_follows_the_same_rule(pg: Playground, flagging_worker, bots, settings: Settings,
                                                     monkeypatch) -> None:
    monkeypatch.setattr(missed, "GRACE_S", 0.5)
    monkeypatch.setattr(missed, "SWEEP_EVERY_S", 0.2)
    settings.default_engine = "tinyflag"
    ack, _ = await finished_while_the_bot_was_down(pg, flagging_worker, bots, settings.redis_url, "a lighthouse")
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.xtrim(keys.EVENTS_STREAM, maxlen=0, approximate=False)  # its done event is gone
        await bots.start()
        result = await pg.wait_for_message("general", lambda m: m.reference_id == ack.id and bool(m.attachments),
                                           timeout=20)
        assert filenames(result)[0].startswith("SPOILER_") and REASON in result.content
    finally:
        client.close()
