"""When handling an interaction fails unexpectedly (Redis unreachable, a bug), the user gets a private
explanation at once instead of Discord's "The application did not respond", and nothing is queued."""

from __future__ import annotations

import redis

from bot.errors import QUEUE_UNAVAILABLE, SOMETHING_WENT_WRONG
from playground.driver import Playground
from tests.bot.helpers import jobs_of_user


async def test_imagine_while_redis_is_unreachable_says_so_privately(pg: Playground, midway, settings,
                                                                      monkeypatch) -> None:
    import bot.admission as admission

    async def redis_down(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(admission, "read_context", redis_down)
    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a lighthouse"})
    reply = await run.response()
    assert reply.ephemeral_for == pg.user("alice").id and reply.content == QUEUE_UNAVAILABLE
    assert "6379" not in reply.content  # no connection details leak to users
    assert jobs_of_user(settings.redis_url, pg.user("alice").id) == []


async def test_a_button_whose_handling_fails_is_answered_privately(pg: Playground, midway, monkeypatch) -> None:
    import bot.routing

    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": "a red kite"})
    waiting = await run.response()
    cancel = next(custom_id for custom_id in waiting.custom_ids if custom_id.startswith("mw:"))

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in a button handler")

    monkeypatch.setattr(bot.routing, "handle_button", broken)
    click = await pg.click(waiting.id, cancel, user="alice")
    reply = await click.response()
    assert reply.ephemeral_for == pg.user("alice").id and reply.content == SOMETHING_WENT_WRONG
