"""Create Message with `nonce` + `enforce_nonce`: a retry within the window returns the first message."""

from __future__ import annotations

from playground.driver import Playground
from playground.nonces import DEFAULT_WINDOW_S
from tests.playground.conftest import RawApi


async def send(api: RawApi, pg: Playground, channel: str, **payload: object) -> dict:
    status, body, _ = await api.call("POST", f"/channels/{pg.channel(channel).id}/messages",
                                     json={"content": "hello", **payload})
    assert status == 200, body
    return body


async def test_an_enforced_nonce_returns_the_message_it_already_made(pg: Playground, api: RawApi) -> None:
    first = await send(api, pg, "general", nonce="job-1", enforce_nonce=True)
    again = await send(api, pg, "general", content="hello again", nonce="job-1", enforce_nonce=True)
    assert again["id"] == first["id"] and again["content"] == "hello" and first["nonce"] == "job-1"
    assert len(pg.messages("general")) == 1
    # Another nonce, or the same nonce in another channel, is another message.
    other = await send(api, pg, "general", nonce="job-2", enforce_nonce=True)
    elsewhere = await send(api, pg, "art", nonce="job-1", enforce_nonce=True)
    assert len({first["id"], other["id"], elsewhere["id"]}) == 3


async def test_without_enforce_nonce_the_nonce_is_only_echoed(pg: Playground, api: RawApi) -> None:
    first = await send(api, pg, "general", nonce=12345)
    second = await send(api, pg, "general", nonce=12345)
    assert first["id"] != second["id"] and first["nonce"] == second["nonce"] == "12345"


async def test_the_nonce_is_forgotten_after_the_window(pg: Playground, api: RawApi) -> None:
    first = await send(api, pg, "general", nonce="late", enforce_nonce=True)
    pg.clock.advance(DEFAULT_WINDOW_S - 5)
    assert (await send(api, pg, "general", nonce="late", enforce_nonce=True))["id"] == first["id"]
    pg.clock.advance(10)
    assert (await send(api, pg, "general", nonce="late", enforce_nonce=True))["id"] != first["id"]
    assert len(pg.messages("general")) == 2


async def test_the_window_is_configurable(api: RawApi) -> None:
    from tests.playground.minibot import TOKEN

    async with Playground.start(port=0, bot_token=TOKEN, nonce_window_s=30) as short:
        api.pg = short
        first = await send(api, short, "general", nonce="n", enforce_nonce=True)
        short.clock.advance(31)
        assert (await send(api, short, "general", nonce="n", enforce_nonce=True))["id"] != first["id"]


async def test_discord_py_sends_enforced_nonces(pg: Playground, bot) -> None:
    """discord.py's `send(nonce=...)` sets `enforce_nonce`, so a resend with the same nonce is one message."""
    channel = bot.get_partial_messageable(pg.channel("general").id)
    first = await channel.send("result", nonce="mw-result")
    second = await channel.send("result", nonce="mw-result")
    assert first.id == second.id and first.nonce == "mw-result"
    assert len(pg.messages("general")) == 1
    request = pg.requests_to("POST /channels/{channel_id}/messages")[-1].json
    assert (request["nonce"], request["enforce_nonce"]) == ("mw-result", True)
