"""/prefer and /moderation refuse what they cannot keep: values too long to echo, suffixes and options
/imagine would reject. A refusal is ephemeral, says why, and saves nothing; replies always fit Discord."""

from __future__ import annotations

import pytest
import redis

from bot.app import MidwayBot
from bot.errors import SOMETHING_WENT_WRONG
from bot.planning import MAX_SAVED_LENGTH
from bot.store import MAX_OPTIONS, UserSettings
from midway import keys
from midway.discord_limits import MESSAGE_CONTENT
from playground.driver import Playground
from tests.bot.helpers import button

pytestmark = pytest.mark.slow


def save_user_directly(redis_url: str, user_id: int, user: UserSettings) -> None:
    """Settings as an older Midway stored them, before it checked suffixes and options."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(keys.user_settings_key(str(user_id)), user.model_dump_json())
    finally:
        client.close()


async def reply(pg: Playground, command: str, options: dict | None = None, user: str = "alice"):
    return await (await pg.slash(command, user=user, channel="general", options=options)).response()


async def test_long_suffix_is_refused_and_the_old_one_kept(pg: Playground, worker, midway: MidwayBot) -> None:
    await reply(pg, "prefer suffix", {"value": "--chaos 20"})
    refused = await reply(pg, "prefer suffix", {"value": "--ar 16:9 " + "x" * 2100})
    assert refused.ephemeral_for == pg.user("alice").id
    assert "**Invalid suffix**" in refused.content and "2110 characters" in refused.content
    assert "Nothing was saved" in refused.content

    ack = await reply(pg, "imagine", {"prompt": "a red fox"})
    assert ack.content.startswith("**a red fox --chaos 20** - ")


async def test_suffix_at_the_limit_is_saved_and_echoed(pg: Playground, midway: MidwayBot) -> None:
    value = "x" * (MAX_SAVED_LENGTH - 11) + " --chaos 20"
    saved = await reply(pg, "prefer suffix", {"value": value})
    assert saved.content == f"Your suffix is now `{value}`."


async def test_suffix_imagine_would_reject_is_refused(pg: Playground, worker, midway: MidwayBot) -> None:
    await reply(pg, "prefer suffix", {"value": "--chaos 20"})
    refused = await reply(pg, "prefer suffix", {"value": "--foo 3"})
    assert refused.ephemeral_for == pg.user("alice").id
    assert "**Invalid suffix**" in refused.content and "`--foo`" in refused.content

    ack = await reply(pg, "imagine", {"prompt": "a red fox"})
    assert ack.content.startswith("**a red fox --chaos 20** - ")


async def test_option_value_imagine_would_reject_is_refused(pg: Playground, midway: MidwayBot) -> None:
    refused = await reply(pg, "prefer option set", {"name": "mine", "value": "--chaos 500"})
    assert refused.ephemeral_for == pg.user("alice").id
    assert "**Invalid option value**" in refused.content and "500" in refused.content
    too_long = await reply(pg, "prefer option set", {"name": "mine", "value": "y" * (MAX_SAVED_LENGTH + 1)})
    assert f"{MAX_SAVED_LENGTH + 1} characters" in too_long.content
    assert (await reply(pg, "prefer option list")).content == "You have no options."


async def test_a_saved_bad_suffix_or_option_is_named_when_imagine_fails(pg: Playground, midway: MidwayBot,
                                                                       settings) -> None:
    alice = pg.user("alice").id
    save_user_directly(settings.redis_url, alice, UserSettings(suffix="--foo 3", options={"mine": "--chaos 500"}))

    broken = await reply(pg, "imagine", {"prompt": "a red fox"})
    assert broken.ephemeral_for == alice
    assert "`--foo`" in broken.content and "`/prefer suffix`" in broken.content
    assert "with no value" in broken.content

    broken = await reply(pg, "imagine", {"prompt": "a red fox --mine"})
    assert "500" in broken.content and "option `--mine`" in broken.content

    # The user's own mistake is not blamed on the suffix.
    own = await reply(pg, "imagine", {"prompt": "a red fox --ar 0:1"})
    assert "--ar" in own.content and "/prefer suffix" not in own.content


async def test_option_list_fits_one_message(pg: Playground, midway: MidwayBot, settings) -> None:
    names = [f"{index:02d}" + "n" * 30 for index in range(MAX_OPTIONS)]
    save_user_directly(settings.redis_url, pg.user("alice").id,
                       UserSettings(options={name: "y" * MAX_SAVED_LENGTH for name in names}))
    listed = await reply(pg, "prefer option list")
    assert listed.ephemeral_for == pg.user("alice").id
    assert len(listed.content) <= MESSAGE_CONTENT
    assert listed.content.startswith(f"**Your options**\n`--{names[0]}`: `yyy")
    assert "more" in listed.content.splitlines()[-1]


async def test_long_banned_word_is_refused(pg: Playground, midway: MidwayBot) -> None:
    refused = await reply(pg, "moderation banned-word add", {"word": "w" * 2100}, user="admin")
    assert refused.ephemeral_for == pg.user("admin").id
    assert "**Banned word too long**" in refused.content and "Nothing was changed" in refused.content
    listed = await reply(pg, "moderation banned-word list", user="admin")
    assert listed.content == "**Banned words**\nnone"
    missing = await reply(pg, "moderation banned-word remove", {"word": "w" * 2100}, user="admin")
    assert "is not on the banned list" in missing.content and len(missing.content) <= MESSAGE_CONTENT


async def test_reset_settings_clears_the_suffix_but_keeps_options(pg: Playground, worker,
                                                                  midway: MidwayBot) -> None:
    await reply(pg, "prefer suffix", {"value": "--chaos 20"})
    await reply(pg, "prefer option set", {"name": "wide", "value": "--ar 16:9"})
    panel = await reply(pg, "settings")
    await (await pg.click(panel.id, button(panel, "Reset Settings"), user="alice")).response()

    ack = await reply(pg, "imagine", {"prompt": "a red fox --wide"})
    assert ack.content.startswith("**a red fox --ar 16:9** - ")


async def test_max_jobs_per_user_says_it_counts_every_channel(pg: Playground, midway: MidwayBot) -> None:
    moderation = next(c for c in pg.commands(user="admin") if c.name == "moderation")
    limits = next(o for o in moderation.data["options"] if o["name"] == "limits")
    described = next(o for o in limits["options"] if o["name"] == "max_jobs_per_user")["description"]
    assert "any channel" in described and "from this channel" not in described

    await reply(pg, "moderation limits", {"max_jobs_per_user": 1}, user="admin")
    refused = await reply(pg, "imagine", {"prompt": "a fox --repeat 2"})
    assert "Channel limit" in refused.content and "across all channels" in refused.content
    assert "this request adds 2" in refused.content


def test_the_unexpected_error_reply_does_not_promise_nothing_changed() -> None:
    # It also answers failures that come after a change was stored.
    assert "Nothing was changed" not in SOMETHING_WENT_WRONG


async def test_an_option_may_not_take_a_parameters_name(pg: Playground, midway: MidwayBot, settings) -> None:
    refused = await reply(pg, "prefer option set", {"name": "--ar", "value": "--ar 16:9 --chaos 5"})
    assert "**Invalid option name**" in refused.content and "`--ar` is a parameter" in refused.content
    listed = await reply(pg, "prefer option list")
    assert "--ar" not in listed.content
    # One saved by an older version can still be deleted.
    save_user_directly(settings.redis_url, pg.user("alice").id, UserSettings(options={"ar": "--ar 2:3"}))
    removed = await reply(pg, "prefer option set", {"name": "ar"})
    assert removed.content == "Removed `--ar`."
