"""Assembling a worker: load the engines (once, before taking jobs), install the runner, build RQ's side."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

import redis
from rq.exceptions import StopRequested

from engines.base import Engine
from midway.blobs import FileBlobStore
from midway.contract import Lane
from midway.settings import Settings
from worker import tasks
from worker.reconcile import Reconciler
from worker.residency import GIB, ResidentEngines, memory_budget
from worker.rq_worker import MidwayWorker
from worker.runtime import JobRunner

log = logging.getLogger(__name__)


def default_name() -> str:
    # Unique per process: a restarted worker must not collide with its dead predecessor's records.
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def load_engines(names: Sequence[str], load: Callable[[str], Engine], *, settings: Settings | None = None,
                 forget: Callable[[str], None] = lambda name: None) -> ResidentEngines:
    """Load every engine up front, so the first job does not pay for it and a bad one fails fast. With a
    GPU memory budget in `settings`, each load moves the least recently used off the device as needed
    (worker/residency.py): the last engines named stay on; `load` and `forget` then reload them later."""
    budget = memory_budget(settings) if settings is not None else None
    engines = ResidentEngines({}, load=load, forget=forget, budget_bytes=budget)
    if budget is not None:
        log.info("GPU memory budget %.2f GB for the weights of %s", budget / GIB, ", ".join(names))
    for name in names:
        log.info("loading engine %s ...", name)
        started = time.perf_counter()
        engines.add(name)
        log.info("engine %s ready in %.1f s (%.1f MB of weights)", name, time.perf_counter() - started,
                 engines.sizes[name] / 2**20)
    return engines


def build_worker(client: redis.Redis, settings: Settings, engines: Mapping[str, Engine] | ResidentEngines, *,
                 lanes: Sequence[Lane] = tuple(Lane), name: str | None = None,
                 load_engine: Callable[[str], Engine] | None = None) -> MidwayWorker:
    """A worker serving `engines` (already loaded) on `lanes`; its runner becomes the RQ task's runner."""
    name = name or default_name()
    runner = JobRunner(client, settings, engines, worker_name=name, load_engine=load_engine)
    # Before taking jobs, like the engines; one that cannot load is logged and fails its jobs closed.
    runner.safety.load()
    tasks.install(runner)
    # The reconciler sweeps at most once per maintenance interval across all workers (its lock).
    reconciler = Reconciler(runner.store, interval_s=settings.heartbeat_s * 2,
                            grace_s=settings.heartbeat_s * 4)
    return MidwayWorker(client, name=name, engines=runner.engines.names, lanes=list(lanes),
                        heartbeat_s=settings.heartbeat_s,
                        on_maintenance=maintenance(purger(runner.blobs), reconciler.maybe_sweep),
                        running_cap=settings.max_running_per_user, slot_ttl_s=slot_ttl(settings),
                        hang_grace_s=settings.hang_grace_s, engine_stats=runner.engines.stats)


def slot_ttl(settings: Settings) -> int:
    """How long a user's running slots outlive their last claim: past every attempt's timeout, so a
    slot never lapses under a job that is still allowed to run."""
    return max(3600, settings.job_timeout_s * (settings.max_attempts + 1))


def purger(blobs: object, every_s: float = 600.0) -> Callable[[], None] | None:
    """For a filesystem blob store, delete expired files now and then (Redis expires keys itself)."""
    if not isinstance(blobs, FileBlobStore):
        return None
    last = [0.0]

    def purge() -> None:
        if time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            removed = blobs.purge_expired()
            if removed:
                log.info("deleted %d expired image files", removed)

    return purge


def maintenance(*tasks: Callable[[], object] | None) -> Callable[[], None]:
    """One maintenance hook running each task; one failing does not stop the others."""

    def run() -> None:
        for task in tasks:
            if task is None:
                continue
            try:
                task()
            except StopRequested:
                # RQ's SIGTERM handler raises this wherever the worker is; swallowing it here would
                # leave a worker that ignores the shutdown it was asked for.
                raise
            except Exception:
                log.warning("maintenance task %s failed", getattr(task, "__name__", task), exc_info=True)

    return run
