"""A Redis restart while a job runs delays the job; it never fails it nor stops the worker.

Each test runs its own redis-server with AOF (as docker compose does), stopped and started again on
the same port while the job stores its images: a real outage, not a patched client.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from midway import keys
from midway.blobs import RedisBlobStore
from midway.contract import EventKind, JobStatus
from midway.events import parse_entry
from midway.jobs import JobStore
from midway.settings import Settings
from ops.redis_server import LocalRedis, free_port
from worker import tasks
from worker.main import build_worker
from worker.rq_worker import serve

from .conftest import ScriptedEngine, decode, new_job


class Outage:
    """Stops a redis-server now and starts it again on the same port `down_s` later."""

    def __init__(self, server: LocalRedis) -> None:
        self.server = server
        self.restarts: list[threading.Thread] = []

    def begin(self, down_s: float) -> None:
        self.server.stop()
        restart = threading.Thread(target=self._restart, args=(down_s,), daemon=True)
        self.restarts.append(restart)
        restart.start()

    def _restart(self, down_s: float) -> None:
        time.sleep(down_s)
        self.server.start(persist=True)

    def wait(self) -> None:
        for restart in self.restarts:
            restart.join()


@pytest.fixture
def outage(tmp_path):
    server = LocalRedis(port=free_port(), data_dir=tmp_path / "redis").start(persist=True)
    outage = Outage(server)
    yield outage
    outage.wait()  # even when the test failed: no redis-server may outlive it
    server.stop()
    tasks.install(None)


@pytest.fixture
def client(outage):
    client = redis.Redis.from_url(outage.server.url)
    yield client
    client.close()


def settings_for(outage: Outage, state_dir, **changes) -> Settings:
    return Settings(redis_url=outage.server.url, state_dir=state_dir, heartbeat_s=0.5, progress_interval_s=0.0,
                    job_timeout_s=120, blob_store="redis", image_ttl_s=600, **changes)


class RestartsRedis(ScriptedEngine):
    """Its first run stops Redis just before returning its images, and starts it again `down_s` later:
    the job then stores its images and records its result while Redis is away."""

    def __init__(self, outage: Outage, down_s: float) -> None:
        super().__init__()
        self.outage = outage
        self.down_s = down_s

    def run(self, spec, **kwargs):
        images = super().run(spec, **kwargs)
        if len(self.calls) == 1:
            self.outage.begin(self.down_s)
        return images


def terminal_events(client: redis.Redis, job_id: str) -> list[EventKind]:
    kinds = []
    for _, fields in client.xrange(keys.EVENTS_STREAM):
        event = parse_entry(fields)
        if event is not None and event.job_id == job_id and event.kind in (
                EventKind.done, EventKind.failed, EventKind.cancelled):
            kinds.append(event.kind)
    return kinds


def test_a_redis_restart_while_a_job_stores_its_images_delays_it_instead_of_failing_it(outage, client, state_dir):
    engine = RestartsRedis(outage, down_s=1.0)
    worker = build_worker(client, settings_for(outage, state_dir), {"scripted": engine})
    worker.publish_heartbeat()
    store = JobStore(client, settings_for(outage, state_dir))
    job = store.submit(new_job(engine="scripted"))

    serve(worker, burst=True)
    outage.wait()

    record = store.get(job.id)
    assert (record.status, record.error, record.attempts, len(engine.calls)) == (JobStatus.done, None, 1, 1)
    assert terminal_events(client, job.id) == [EventKind.done]
    grid = decode(RedisBlobStore(client, 60).get(record.grid))
    assert grid.size == (128, 128) and len(record.outputs) == 4


def test_a_worker_outlives_an_outage_longer_than_its_retries_and_runs_the_job_again(outage, client, state_dir):
    # The result cannot be stored within redis_retry_s: the worker leaves the job to RQ and carries on;
    # once Redis is back the job's lease lapses and RQ's retry runs it again (a second attempt).
    settings = settings_for(outage, state_dir, redis_retry_s=0.2)
    engine = RestartsRedis(outage, down_s=2.0)
    worker = build_worker(client, settings, {"scripted": engine})
    worker.publish_heartbeat()
    store = JobStore(client, settings)
    job = store.submit(new_job(engine="scripted"))

    started = time.monotonic()
    serve(worker, max_jobs=2, max_idle_s=30)  # raised ConnectionError and quit before
    outage.wait()

    record = store.get(job.id)
    assert (record.status, record.attempts, len(engine.calls)) == (JobStatus.done, 2, 2)
    assert terminal_events(client, job.id) == [EventKind.done]
    assert time.monotonic() - started < 20
