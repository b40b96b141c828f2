"""Worker fixtures: settings with short heartbeats, the tiny engines, and a worker factory."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import pytest
import redis
from PIL import Image

from engines.base import Engine
from midway.contract import GenerationSpec, Job, Operation, Requester
from midway.events import EventConsumer
from midway.jobs import JobStore
from midway.settings import Settings
from worker import tasks
from worker.main import build_worker
from worker.rq_worker import MidwayWorker


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def settings(redis_url: str, state_dir, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The tiny engine builds into MIDWAY_STATE_DIR (once per session); subprocess workers inherit it.
    monkeypatch.setenv("MIDWAY_STATE_DIR", str(state_dir))
    return Settings(redis_url=redis_url, state_dir=state_dir, heartbeat_s=0.5, progress_interval_s=0.0,
                    job_timeout_s=120, blob_store="redis", image_ttl_s=600)


@pytest.fixture(scope="session")
def tiny_engine(state_dir) -> Engine:
    # Session-wide: the engine is built once into this state dir and kept loaded for every test.
    os.environ["MIDWAY_STATE_DIR"] = str(state_dir)
    from engines.registry import get_engine

    return get_engine("tiny")


@pytest.fixture(scope="session")
def caption_engine(state_dir) -> Engine:
    # /describe's offline captioner (a random-weight BLIP), built and loaded once like `tiny`.
    os.environ["MIDWAY_STATE_DIR"] = str(state_dir)
    from engines.registry import get_engine

    return get_engine("tiny-caption")


@pytest.fixture
def store(redis_client: redis.Redis, settings: Settings) -> JobStore:
    return JobStore(redis_client, settings)


@pytest.fixture
def consumer(redis_client: redis.Redis) -> EventConsumer:
    return EventConsumer(redis_client, "test", "c1")


@pytest.fixture
def make_worker(redis_client: redis.Redis, settings: Settings) -> Callable[..., MidwayWorker]:
    """Factory: a MidwayWorker serving the given engines (name -> Engine), registered as the runner."""

    def make(engines: dict[str, Engine], **kwargs) -> MidwayWorker:
        worker = build_worker(redis_client, settings, engines, **kwargs)
        worker.publish_heartbeat()
        return worker

    yield make
    tasks.install(None)


def new_job(prompt: str = "a red fox", *, engine: str = "tiny", user: str = "u1", size: int = 64,
            steps: int = 2, **spec_fields) -> Job:
    spec = GenerationSpec(prompt=prompt, engine=engine, width=size, height=size, steps=steps, seed=7,
                          **spec_fields)
    return Job(spec=spec, requester=Requester(user_id=user))


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


class ScriptedEngine(Engine):
    """A test engine speaking the Engine interface: solid-colour images, and a scripted failure."""

    name = "scripted"
    capabilities = frozenset({Operation.imagine, Operation.variation})

    def __init__(self, fail_with: Exception | None = None, oom_until_batch: int | None = None) -> None:
        self.fail_with = fail_with
        # Raise EngineOutOfMemory while max_batch is None or larger than this (None: never).
        self.oom_until_batch = oom_until_batch
        self.calls: list[dict] = []

    def run(self, spec, *, init_image=None, on_progress=None, should_cancel=None, max_batch=None):
        from midway.errors import EngineOutOfMemory

        self.calls.append({"max_batch": max_batch, "init_image": init_image})
        if self.fail_with is not None:
            raise self.fail_with
        if self.oom_until_batch is not None and (max_batch is None or max_batch > self.oom_until_batch):
            raise EngineOutOfMemory("CUDA out of memory")
        if on_progress:
            on_progress(1, 2, None)
        return [Image.new("RGB", (spec.width, spec.height), (40 * i, 0, 0)) for i in range(spec.n_images)]
