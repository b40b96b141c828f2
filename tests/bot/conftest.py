"""End-to-end fixtures: a real redis-server and a `midway worker --engines tiny,tiny2,tinyslow,tiny-caption`
subprocess per session (and one for `tinyflag`, whose safety filter flags everything, for the tests that
need it), a local server of image links the bot and that worker may fetch, a playground per test, and a
factory that starts (and restarts) the real Midway bot in it.

The redis and worker outlive single tests (starting a worker costs seconds), so tests isolate
themselves by the playground's fresh snowflake ids (users, channels, messages) instead of FLUSHALL.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import MidwayBot
from midway.catalogue import load_catalogue
from midway.settings import PROJECT_ROOT, Settings
from ops.redis_server import LocalRedis, free_port
from ops.supervisor import worker_subprocess
from playground.clients import ClientRunner
from playground.connect import restore_discord
from playground.driver import Playground
from tests.image_links import ImageLinks, hostile_files, png, serving

BOT_TOKEN = "midway-bot-test-token"
ENGINES = ("tiny", "tiny2", "tinyslow", "tiny-caption")

# Two tiny engines (so a channel can switch engines) at 64x64: a grid takes well under a second. The
# default one takes 20 steps, so a job lasts long enough (~0.5 s) for progress edits to show.
CATALOGUE = """
[engines.tiny]
kind = "tiny"
family = "sd"
base_width = 64
base_height = 64
size_multiple = 32
steps = 20
guidance = 5.0
aliases = ["tiny"]
# `--draft`: 5 of its 20 steps (tests/bot/test_draft.py).
draft_steps = 5

[engines.tiny2]
kind = "tiny"
family = "sd"
base_width = 64
base_height = 64
size_multiple = 32
steps = 4
guidance = 5.0
aliases = ["7"]
# `--draft`: 2 of its 4 steps, so a V7-style draft can carry references (tests/bot/test_references_kept.py).
draft_steps = 2
# No outpainting: its single images get no Zoom Out / Pan buttons.
capabilities = ["imagine", "variation", "upscale", "reroll"]
# Image prompts and --sref through a random-weight IP-Adapter (tests/bot/test_references.py); `tiny`
# has none, so it takes image prompts as img2img starts and refuses --sref.
ip_adapter = "tiny-ip-adapter"
style_blocks = { up = { block_0 = [0.0, 1.0] } }
# --cref / --oref through a random-weight IP-Adapter Plus; `tiny` has none and refuses them.
character_adapter = "tiny-ip-adapter-plus"

# Many steps: a job runs for seconds, long enough to press Cancel while it runs.
[engines.tinyslow]
kind = "tiny"
family = "sd"
base_width = 64
base_height = 64
size_multiple = 32
steps = 250
guidance = 5.0

# /describe's captioner (settings.caption_engine): a tiny random-weight BLIP.
[engines.tiny-caption]
kind = "tiny"
family = "caption"

# LoRAs an admin may allow per channel (/engine lora add): a random-weight one for the tiny SD engines, and
# one for a family no engine here has.
[loras.tiny-style]
model = "tiny-lora-sd"
families = ["sd"]
trigger_words = ["tnystyle"]
description = "Random-weight tiny SD LoRA."

[loras.tiny-style-xl]
model = "tiny-lora-sdxl"
families = ["sdxl"]

# Served only by the `flagging_worker`, whose safety threshold of 0 flags every image it makes.
[engines.tinyflag]
kind = "tiny"
family = "sd"
base_width = 64
base_height = 64
size_multiple = 32
steps = 4

# A tiny FLUX with a tiny FLUX Redux prior: --cref / --oref through Redux's image tokens. Served only by
# `flux_worker` (tests/bot/test_references.py), so the session's worker does not load it for every test.
[engines.tinyflux]
kind = "tiny"
family = "flux"
base_width = 64
base_height = 64
size_multiple = 16
steps = 2
guidance = 3.5
scheduler = "default"
capabilities = ["imagine", "variation", "upscale", "reroll"]
redux = "tiny-redux"
aliases = ["6"]

# In the catalogue but served by no worker: /engine marks it.
[engines.tiny3]
kind = "tiny"
family = "sd"
base_width = 64
base_height = 64
size_multiple = 32
steps = 4
"""


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Redis + catalogue + state folder for the bot tests."""
    root = tmp_path_factory.mktemp("bot-stack")
    catalogue = root / "catalogue.toml"
    catalogue.write_text(CATALOGUE)
    server = LocalRedis(port=free_port(), data_dir=root / "redis").start()
    # Tiny models are cached per engine name; the repo's state dir keeps them across test runs.
    state = Path(os.environ.get("MIDWAY_TEST_STATE_DIR", PROJECT_ROOT / ".state" / "test-bot"))
    # The port of a playground whose attachment links the worker may fetch as references (the tests of
    # tests/bot/test_references_kept.py run theirs there): chosen now, as the worker reads its allow list
    # once, at start.
    yield {"redis_url": server.url, "catalogue": str(catalogue), "state_dir": str(state),
           "reference_port": str(listening_port())}
    server.stop()


def listening_port() -> int:
    """A free port below the kernel's ephemeral range: one the system never hands an outgoing connection
    (the session's many Redis clients), so it is still free when a test listens on it minutes later."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ranges.read_text().split()[0]) if ranges.exists() else 32768  # Linux's default, and IANA's 49152 is above
    for port in random.sample(range(max(1024, low - 10000), low), 50):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


@pytest.fixture(scope="session")
def image_links() -> Iterator[ImageLinks]:
    """Image links on 127.0.0.1 (tests/image_links.py) that the session's worker may fetch from (and the bot,
    where a test allows them in its settings), as `midway up` allows its playground's address: only this
    port, so 127.0.0.1's others stay refused. Serves a 96x64 PNG as /wide.png and the hostile files."""
    with serving() as links:
        links.routes["/wide.png"] = png((96, 64))
        links.routes.update({path: body for path, (body, _) in hostile_files().items()})
        yield links


def stack_env(stack: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": stack["redis_url"], "MIDWAY_CATALOGUE": stack["catalogue"],
            "MIDWAY_STATE_DIR": stack["state_dir"], "MIDWAY_HEARTBEAT_S": "0.5",
            "MIDWAY_PROGRESS_INTERVAL_S": "0", "MIDWAY_BLOB_STORE": "redis", "MIDWAY_LOG_LEVEL": "WARNING",
            "MIDWAY_FETCH_ALLOW_HOSTS": reference_host(stack)}


def reference_host(stack: dict[str, str]) -> str:
    """MIDWAY_FETCH_ALLOW_HOSTS for the tests' stack: the reference playground's port only, as `midway up`
    allows only its playground's (cli/commands/up.py); 127.0.0.1's other ports (the Redis) stay refused."""
    return f"127.0.0.1:{stack['reference_port']}"


@pytest.fixture(scope="session")
def worker(stack: dict[str, str], image_links: ImageLinks) -> subprocess.Popen:
    # The tiny safety checker's random scores put some images above the default line of 0.5; at 1 it flags
    # none, so results are posted plainly here. The filter's tests use `flagging_worker` instead.
    env = {**stack_env(stack), "MIDWAY_SAFETY_THRESHOLD": "1",
           "MIDWAY_FETCH_ALLOW_HOSTS": f"{reference_host(stack)},{image_links.allow}"}
    with worker_subprocess(stack["redis_url"], ENGINES, env, cwd=PROJECT_ROOT) as process:
        yield process


@pytest.fixture(scope="session")
def flagging_worker(stack: dict[str, str]) -> subprocess.Popen:
    """A worker for `tinyflag` whose safety threshold of 0 flags every image (bot/safety_policy.py's tests)."""
    env = {**stack_env(stack), "MIDWAY_SAFETY_THRESHOLD": "0"}
    with worker_subprocess(stack["redis_url"], ("tinyflag",), env, cwd=PROJECT_ROOT) as process:
        yield process


@pytest.fixture(scope="session")
def flux_worker(stack: dict[str, str], image_links: ImageLinks) -> subprocess.Popen:
    """A worker for `tinyflux` (a tiny FLUX with a tiny Redux prior), fetching from the same hosts as `worker`."""
    env = {**stack_env(stack), "MIDWAY_SAFETY_THRESHOLD": "1",
           "MIDWAY_FETCH_ALLOW_HOSTS": f"{reference_host(stack)},{image_links.allow}"}
    with worker_subprocess(stack["redis_url"], ("tinyflux",), env, cwd=PROJECT_ROOT) as process:
        yield process


@pytest.fixture
def settings(stack: dict[str, str]) -> Settings:
    return Settings(redis_url=stack["redis_url"], catalogue=Path(stack["catalogue"]), default_engine="tiny",
                    state_dir=Path(stack["state_dir"]), blob_store="redis", confirm_above=4,
                    max_running_per_user=3, max_queued_per_user=10, heartbeat_s=0.5)


@contextlib.asynccontextmanager
async def playground_on(port: int = 0) -> AsyncIterator[Playground]:
    """A playground the discord.py client points at, on `port` (0: any free one)."""
    async with Playground.start(port=port, bot_token=BOT_TOKEN, ack_deadline_s=3.0, heartbeat_ms=1000) as playground:
        playground.point_client()
        yield playground
    restore_discord()


@pytest.fixture
async def pg() -> AsyncIterator[Playground]:
    async with playground_on() as playground:
        yield playground


# The emulator sends every GUILD_CREATE right after READY on a local socket; discord.py's default wait of
# 2 s after the last one would make ~2 s of every bot start (about a third of the whole suite).
GUILD_READY_TIMEOUT_S = 0.2


class BotRunner:
    """Starts the real MidwayBot against the playground; a restart is stop() then start()."""

    def __init__(self, pg: Playground, settings: Settings) -> None:
        self.pg = pg
        self.settings = settings
        # One consumer name per test, kept across restarts so un-acked entries come back to it.
        self.consumer = f"bot-test-{uuid.uuid4().hex[:8]}"
        self.clients = ClientRunner(BOT_TOKEN)

    async def start(self) -> MidwayBot:
        bot = MidwayBot(self.settings, self.settings.redis_url or "", catalogue=load_catalogue(self.settings.catalogue),
                        consumer_name=self.consumer, throttle_s=0.05, queue_poll_s=0.3,
                        guild_ready_timeout=GUILD_READY_TIMEOUT_S)
        await self.clients.start(bot)
        await self.pg.wait_until_commands_synced(names=["imagine"])
        return bot

    async def stop(self, bot: MidwayBot) -> None:
        await self.clients.stop(bot)

    async def stop_all(self) -> None:
        await self.clients.stop_all()


@pytest.fixture
async def bots(pg: Playground, settings: Settings) -> AsyncIterator[BotRunner]:
    runner = BotRunner(pg, settings)
    yield runner
    await runner.stop_all()


@pytest.fixture
async def midway(bots: BotRunner) -> MidwayBot:
    return await bots.start()
