"""Bot state in a real Redis: settings updates, button claims, batches taken once."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.store import BotStore


async def test_claims_are_won_once_and_only_the_winner_marks_the_button_pressed(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = BotStore(client)
    await store.claim_and_press("p", "v", 2, "earlier", "mw:v:p:2")
    results = await asyncio.gather(*(store.claim_and_press("p", "u", 1, f"job{i}", "mw:u:p:1") for i in range(5)))
    winners = [(holder, pressed) for holder, pressed in results if holder is None]
    assert len(winners) == 1
    # The winner sees every pressed button of the message, its own included, to turn them blue.
    assert winners[0][1] == {"mw:v:p:2", "mw:u:p:1"}
    # The four losers all name the winning job, as does a later look.
    holders = {holder for holder, _ in results if holder is not None}
    assert len(holders) == 1 and holders <= {f"job{i}" for i in range(5)}
    assert await store.claimed("p", "u", 1) == next(iter(holders))
    assert await store.claimed("p", "u", 3) is None
    await client.aclose()


async def test_a_remix_press_is_marked_and_its_undo_unmarks_it_entirely(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = BotStore(client)
    holder, pressed = await store.claim_and_press("r", "v", 1, "remixed", "mw:v:r:1", remixed=True)
    assert holder is None and pressed == {"mw:v:r:1", "mw:v:r:1#remix"} == await store.used("r")
    assert await store.release("r", "v", 1, "remixed", "mw:v:r:1") == set() == await store.used("r")
    # Pressed again without Remix: blue, not green.
    _, pressed = await store.claim_and_press("r", "v", 1, "plain", "mw:v:r:1")
    assert pressed == {"mw:v:r:1"}
    await client.aclose()


async def test_concurrent_setting_updates_are_not_lost(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = BotStore(client)
    words = [f"w{i}" for i in range(10)]
    await asyncio.gather(*(store.update_guild("g", lambda g, w=w: g.banned_words.append(w)) for w in words))
    assert sorted((await store.guild("g")).banned_words) == sorted(words)
    await client.aclose()


async def test_batch_is_taken_once(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = BotStore(client)
    await store.save_batch("b", "{}")
    assert await asyncio.gather(store.pop_batch("b"), store.pop_batch("b")) in (["{}", None], [None, "{}"])
    await client.aclose()
