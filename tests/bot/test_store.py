"""Bot state in a real Redis: settings updates, button claims, batches taken once."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.store import BotStore


async def test_claims_are_won_once(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = BotStore(client)
    results = await asyncio.gather(*(store.claim("p", "u", 1, f"job{i}") for i in range(5)))
    winners = [r for r in results if r is None]
    assert len(winners) == 1
    assert len({r for r in results if r is not None}) == 1
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
