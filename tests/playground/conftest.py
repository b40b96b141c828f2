"""Fixtures: a playground per test (`pg`), and a factory that logs a real discord.py bot into it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from playground.connect import restore_discord
from playground.driver import Playground
from tests.playground.minibot import TOKEN, MiniBot


@pytest.fixture
async def pg() -> AsyncIterator[Playground]:
    async with Playground.start(port=0, bot_token=TOKEN, ack_deadline_s=3.0, heartbeat_ms=1000) as playground:
        playground.point_client()
        yield playground
    restore_discord()


class BotRunner:
    """Starts MiniBots against the playground and stops them (a restart is stop + start)."""

    def __init__(self, pg: Playground) -> None:
        self.pg = pg
        self.running: list[tuple[MiniBot, asyncio.Task]] = []

    async def start(self, **options: object) -> MiniBot:
        bot = MiniBot(**options)  # type: ignore[arg-type]
        task = asyncio.create_task(bot.start(TOKEN))
        async with asyncio.timeout(10):
            while not bot.is_ready():
                if task.done():
                    task.result()  # raises the login error
                await asyncio.sleep(0.02)
        self.running.append((bot, task))
        return bot

    async def stop(self, bot: MiniBot) -> None:
        for entry in list(self.running):
            if entry[0] is bot:
                self.running.remove(entry)
                await bot.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(entry[1], 5)

    async def stop_all(self) -> None:
        for bot, _ in list(self.running):
            await self.stop(bot)


@pytest.fixture
async def bots(pg: Playground) -> AsyncIterator[BotRunner]:
    runner = BotRunner(pg)
    yield runner
    await runner.stop_all()


@pytest.fixture
async def bot(bots: BotRunner, pg: Playground) -> MiniBot:
    started = await bots.start()
    await pg.wait_until_commands_synced()
    return started


@pytest.fixture
def make_bot(bots: BotRunner) -> Callable:
    return bots.start


class RawApi:
    """Plain HTTP against the emulator's REST API, for payloads discord.py itself would refuse to build."""

    def __init__(self, pg: Playground, session) -> None:
        self.pg = pg
        self.session = session

    async def call(self, method: str, path: str, *, json: object = None, data: object = None,
                   auth: bool = True) -> tuple[int, object, dict[str, str]]:
        headers = {"Authorization": f"Bot {TOKEN}"} if auth else {}
        url = f"{self.pg.base_url}/api/v10{path}"
        async with self.session.request(method, url, json=json, data=data, headers=headers) as response:
            body = await response.json() if response.content_type == "application/json" else await response.text()
            return response.status, body, dict(response.headers)


@pytest.fixture
async def api(pg: Playground) -> AsyncIterator[RawApi]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        yield RawApi(pg, session)
