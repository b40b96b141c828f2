"""Redis high availability with real processes: a primary, its replica and three sentinels
(ops/redis_ha.py), and `midway worker` processes that reach them through REDIS_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest

from midway.contract import GenerationSpec, Job, Requester
from midway.settings import Settings
from ops.redis_ha import SentinelSet
from ops.supervisor import worker_subprocess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The tiny engines build here once per session; every worker process of the session loads them.
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    servers = SentinelSet(tmp_path / "ha").start()
    yield servers
    servers.stop()


def settings_for(redis_url: str, state_dir: Path, **changes) -> Settings:
    return Settings(redis_url=redis_url, state_dir=state_dir, heartbeat_s=0.5, progress_interval_s=0.0,
                    job_timeout_s=120, blob_store="redis", image_ttl_s=600, **changes)


def worker_env(redis_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """A worker's environment as on another machine: REDIS_URL and its own settings, nothing else of ours."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("MIDWAY_") and name not in ("REDIS_URL", "DISCORD_TOKEN")}
    return {**env, "REDIS_URL": redis_url, "MIDWAY_STATE_DIR": str(state_dir), "MIDWAY_HEARTBEAT_S": "0.5",
            "MIDWAY_PROGRESS_INTERVAL_S": "0.2", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture
def workers(tmp_path: Path) -> Iterator:
    """Factory: `midway worker --engines ...` processes, each serving once started, all stopped at the end.
    Each writes its output to <tmp_path>/<name>.log."""
    with ExitStack() as stack:

        def start(name: str, engines: Sequence[str], env: dict[str, str]):
            log = stack.enter_context(open(tmp_path / f"{name}.log", "wb"))
            return stack.enter_context(worker_subprocess(
                env["REDIS_URL"], engines, env, args=["--name", name], stdout=log, cwd=ROOT, timeout_s=180))

        yield start


def new_job(prompt: str = "a red fox", *, engine: str = "tiny", user: str = "u1", size: int = 64,
            steps: int = 2) -> Job:
    spec = GenerationSpec(prompt=prompt, engine=engine, width=size, height=size, steps=steps, seed=7)
    return Job(spec=spec, requester=Requester(user_id=user))

