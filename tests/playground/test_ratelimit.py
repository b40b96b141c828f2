"""Rate limits: Discord's headers on every response, 429s with Via, and discord.py living with them."""

from __future__ import annotations

import asyncio

from playground.driver import Playground
from tests.playground.conftest import RawApi
from tests.playground.minibot import MiniBot

CREATE = "POST /channels/{channel_id}/messages"


async def test_every_response_carries_the_bucket_headers(pg: Playground, api: RawApi) -> None:
    status, _, headers = await api.call("POST", f"/channels/{pg.channel('general').id}/messages", json={"content": "x"})
    assert status == 200
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Reset-After",
            "X-RateLimit-Bucket"} <= headers.keys()


async def test_a_bucket_refuses_with_429_per_channel(pg: Playground, api: RawApi) -> None:
    pg.set_bucket(CREATE, limit=2, per_s=5)
    general = f"/channels/{pg.channel('general').id}/messages"
    statuses = [(await api.call("POST", general, json={"content": str(i)}))[0] for i in range(2)]
    assert statuses == [200, 200]
    status, body, headers = await api.call("POST", general, json={"content": "3"})
    assert status == 429
    assert headers["Via"] and headers["X-RateLimit-Scope"] == "user" and int(headers["Retry-After"]) >= 1
    assert body["global"] is False and 0 < body["retry_after"] <= 5
    assert headers["X-RateLimit-Remaining"] == "0"
    # The bucket is per channel (its major parameter): #art is untouched.
    status, _, _ = await api.call("POST", f"/channels/{pg.channel('art').id}/messages", json={"content": "a"})
    assert status == 200
    assert [m.content for m in pg.messages("general")] == ["0", "1"]


async def test_the_window_resets(pg: Playground, api: RawApi) -> None:
    pg.set_bucket(CREATE, limit=1, per_s=0.2)
    general = f"/channels/{pg.channel('general').id}/messages"
    assert (await api.call("POST", general, json={"content": "a"}))[0] == 200
    assert (await api.call("POST", general, json={"content": "b"}))[0] == 429
    await asyncio.sleep(0.25)
    assert (await api.call("POST", general, json={"content": "c"}))[0] == 200


async def test_discord_py_waits_out_a_bucket(pg: Playground, bot: MiniBot) -> None:
    pg.set_bucket(CREATE, limit=2, per_s=0.3)
    channel = bot.get_channel(pg.channel("general").id)
    started = asyncio.get_running_loop().time()
    for i in range(5):
        await channel.send(f"m{i}")
    assert [m.content for m in pg.messages("general")] == [f"m{i}" for i in range(5)]
    # Five sends through a 2-per-0.3 s bucket take at least two full windows.
    assert asyncio.get_running_loop().time() - started >= 0.55


async def test_discord_py_retries_429s(pg: Playground, bot: MiniBot) -> None:
    pg.set_global_limit(2, per_s=0.3)
    channel = bot.get_channel(pg.channel("general").id)
    await asyncio.gather(*(channel.send(f"m{i}") for i in range(6)))
    assert sorted(m.content for m in pg.messages("general")) == [f"m{i}" for i in range(6)]
    statuses = [r.status for r in pg.requests_to(CREATE)]
    # The global limit is not announced by the bucket headers: dpy meets it as 429s, waits, and retries.
    assert statuses.count(200) == 6 and 429 in statuses
