"""The real moving parts a benchmark needs, started and stopped by it: a redis-server and a worker
subprocess serving the tiny engine. Nothing is left running: every helper is a context manager."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from bench.report import PartUnavailable
from midway.settings import PROJECT_ROOT
from ops.redis_server import LocalRedis, RedisUnavailable, free_port
from ops.supervisor import worker_subprocess

WORKER_READY_TIMEOUT_S = 120.0
ENGINE_THREADS = 1
# The services of the current bench run, started on first use and shared by the parts (a worker
# takes ~5 s to import torch and load its engine); closed when the run ends.
_session: contextlib.ExitStack | None = None
_shared: dict[str, object] = {}


@contextlib.contextmanager
def session() -> Iterator[None]:
    global _session
    with contextlib.ExitStack() as stack:
        _session = stack
        try:
            yield
        finally:
            _session = None
            _shared.clear()


def shared(name: str, factory):
    """The running service `name`, entering `factory()` (a context manager) in the session first."""
    if _session is None:
        raise RuntimeError("bench services need an active bench.services.session()")
    if name not in _shared:
        _shared[name] = _session.enter_context(factory())
    return _shared[name]


def shared_redis() -> LocalRedis:
    return shared("redis", local_redis)


def shared_worker() -> subprocess.Popen:
    """A tiny-engine worker on the shared Redis, warmed up by one job (first-call costs excluded)."""
    url = shared_redis().url
    return shared("worker", lambda: warmed(worker_process(url), url))


@contextlib.contextmanager
def warmed(worker, redis_url: str):
    with worker as process:
        run_one_job(redis_url)
        yield process


def run_one_job(redis_url: str, user: str = "warm-up", size: int = 128) -> None:
    from midway.contract import GenerationSpec, Job, Requester
    from midway.jobs import JobStore

    client = redis.Redis.from_url(redis_url)
    try:
        store = JobStore(client)
        job = store.submit(Job(spec=GenerationSpec(prompt="warm up", width=size, height=size, steps=2,
                                                   engine="tiny"), requester=Requester(user_id=user)))
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        while not (store.get(job.id) or job).status.finished:
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up job did not finish")
            time.sleep(0.02)
    finally:
        client.close()


@contextlib.contextmanager
def local_redis() -> Iterator[LocalRedis]:
    with tempfile.TemporaryDirectory(prefix="midway-bench-redis-") as data_dir:
        try:
            server = LocalRedis(port=free_port(), data_dir=Path(data_dir)).start()
        except RedisUnavailable as error:
            raise PartUnavailable(str(error)) from error
        try:
            yield server
        finally:
            server.stop()


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a Midway child process pointed at the bench's Redis."""
    # One torch thread: on a small shared CPU, OpenMP threads that spin while the bot and emulator
    # also want a core slow the tiny engine down several-fold (measured: 10.7 s vs 1.5 s alone).
    env = dict(os.environ, REDIS_URL=redis_url, MIDWAY_LOG_LEVEL="WARNING", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS=str(ENGINE_THREADS))
    env.update(extra)
    return env


@contextlib.contextmanager
def worker_process(redis_url: str, engine: str = "tiny", lanes: str = "fast,relax",
                   log_path: Path | None = None) -> Iterator[subprocess.Popen]:
    """`midway worker` in a subprocess (engines resident, as in production), ready when its heartbeat
    shows: the engine load is not part of any measurement."""
    with open(log_path or os.devnull, "wb") as log, worker_subprocess(
            redis_url, [engine], service_env(redis_url), args=["--lanes", lanes], stdout=log,
            timeout_s=WORKER_READY_TIMEOUT_S, cwd=PROJECT_ROOT) as process:
        yield process


def require(*modules: str) -> None:
    """PartUnavailable naming the first component that is not importable (not built yet, or not
    installed on this machine), so the part skips with a reason instead of failing."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise PartUnavailable(f"{module} is not available ({error})") from error
