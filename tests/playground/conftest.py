"""Fixtures: a playground per test (`pg`), and a factory that logs a real discord.py bot into it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from playground.clients import ClientRunner
from playground.connect import restore_discord
from playground.driver import Playground
from tests.playground.minibot import TOKEN, MiniBot


@pytest.fixture
async def pg() -> AsyncIterator[Playground]:
    async with Playground.start(port=0, bot_token=TOKEN, ack_deadline_s=3.0, heartbeat_ms=1000) as playground:
        playground.point_client()
        yield playground
    restore_discord()


class BotRunner(ClientRunner):
    """Starts MiniBots against the playground and stops them (a restart is stop + start)."""

    def __init__(self, pg: Playground) -> None:
        super().__init__(TOKEN, ready_timeout_s=10)
        self.pg = pg

    async def start(self, **options: object) -> MiniBot:  # type: ignore[override]
        return await super().start(MiniBot(**options))  # type: ignore[arg-type]


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
