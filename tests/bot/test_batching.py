"""bot/batching.py: concurrent calls share fetches, each gets its own reply, failures stay in their batch."""

from __future__ import annotations

import asyncio

import pytest

from bot.batching import Coalescer


async def test_calls_made_together_share_a_fetch_and_get_their_own_replies_in_order() -> None:
    batches: list[list[int]] = []

    async def fetch(batch: list[int]) -> list[int]:
        batches.append(batch)
        await asyncio.sleep(0.01)  # a round trip, during which new calls queue for the next batch
        return [n * 10 for n in batch]

    squares = Coalescer(fetch, max_batch=4)
    first = asyncio.create_task(squares.call(0))
    await asyncio.sleep(0)  # the first call goes alone, at once
    assert await asyncio.gather(first, *(squares.call(n) for n in range(1, 7))) == [n * 10 for n in range(7)]
    assert batches == [[0], [1, 2, 3, 4], [5, 6]]


async def test_a_failed_fetch_fails_its_own_batch_only() -> None:
    async def fetch(batch: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        if 1 in batch:
            raise ConnectionError("redis went away")
        return batch

    echo = Coalescer(fetch)
    first = asyncio.create_task(echo.call(0))
    await asyncio.sleep(0)
    failing = [asyncio.create_task(echo.call(n)) for n in (1, 2)]
    assert await first == 0
    for task in failing:
        with pytest.raises(ConnectionError):
            await task
    assert await echo.call(3) == 3
