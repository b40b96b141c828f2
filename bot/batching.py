"""Coalescing concurrent Redis reads and writes of the same kind into one call.

Under a burst of interactions every handler makes the same calls at about the same moment. Made one
by one, each costs the event loop a command's worth of redis-py (~0.1-0.2 ms of Python) and a wait in
the pool's queue; coalesced, a burst's calls go as one server-side script call per batch: while one
is in flight, new requests queue and go together in the next (at most two round trips of waiting).
A lone request still goes at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Request = TypeVar("Request")
Reply = TypeVar("Reply")

# Requests per call: bounded so one huge burst does not build one huge script call and reply.
MAX_BATCH = 256


class Coalescer(Generic[Request, Reply]):
    """`await coalescer.call(request)`: `fetch` gets the batch's requests in arrival order and returns
    their replies in the same order."""

    def __init__(self, fetch: Callable[[list[Request]], Awaitable[Sequence[Reply]]], max_batch: int = MAX_BATCH):
        self._fetch = fetch
        self._max_batch = max_batch
        self._pending: list[tuple[Request, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def call(self, request: Request) -> Reply:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((request, future))
        if self._flusher is None or self._flusher.done() or self._flusher.get_loop() is not loop:
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
            try:
                replies = await self._fetch([request for request, _ in batch])
            except Exception as error:  # every waiter sees the failure, as its own call would have
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), reply in zip(batch, replies, strict=True):
                if not future.done():
                    future.set_result(reply)
