"""Midway's Redis connections carry redis-py's driver metadata made once, not parsed per connection."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from midway.redis_clients import connection_options


async def test_new_connections_reuse_one_driver_metadata_and_still_work(redis_url) -> None:
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=8, **connection_options())
    client = aioredis.Redis(connection_pool=pool)
    try:
        await client.set("midway:test:driver", "ok")
        assert await asyncio.gather(*(client.get("midway:test:driver") for _ in range(8))) == [b"ok"] * 8
        infos = {id(connection.driver_info) for connection in pool._available_connections}
        assert len(pool._available_connections) > 1 and len(infos) == 1
        # What Redis was told is redis-py's own name and version, as without the option.
        name = (await client.client_info()).get("lib-name")
        assert name in (None, "redis-py")
    finally:
        await client.aclose()
