"""Running discord.py clients against a playground: log in, wait until ready, close cleanly.

Tests, benchmarks and the playground's own bot runs all need the same few steps; a client that fails
to log in must raise its own error (bad token, disallowed intents) instead of a bare timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

Client = TypeVar("Client", bound=discord.Client)
CLOSE_TIMEOUT_S = 10.0


class ClientRunner:
    """Starts clients with one token and stops them; a restart is stop() then start()."""

    def __init__(self, token: str, *, ready_timeout_s: float = 15.0) -> None:
        self.token = token
        self.ready_timeout_s = ready_timeout_s
        self.running: list[tuple[discord.Client, asyncio.Task]] = []

    async def start(self, client: Client) -> Client:
        """Log `client` in; returns once it is ready (its READY and guilds arrived)."""
        task = asyncio.create_task(client.start(self.token))
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                while not client.is_ready():
                    if task.done():
                        task.result()  # raises the login error
                    await asyncio.sleep(0.02)
        except BaseException:
            await _close(client, task)
            raise
        self.running.append((client, task))
        return client

    async def stop(self, client: discord.Client) -> None:
        for entry in list(self.running):
            if entry[0] is client:
                self.running.remove(entry)
                await _close(*entry)

    async def stop_all(self) -> None:
        for client, _ in list(self.running):
            await self.stop(client)


@contextlib.asynccontextmanager
async def logged_in(client: Client, token: str, *, ready_timeout_s: float = 30.0) -> AsyncIterator[Client]:
    """`client` logged in and ready for the duration of the block."""
    runner = ClientRunner(token, ready_timeout_s=ready_timeout_s)
    await runner.start(client)
    try:
        yield client
    finally:
        await runner.stop_all()


async def _close(client: discord.Client, task: asyncio.Task) -> None:
    await client.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, CLOSE_TIMEOUT_S)
