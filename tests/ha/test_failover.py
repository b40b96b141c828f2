"""A Sentinel failover under load: the primary is SIGKILLed while jobs are submitted and run.

Real processes throughout: a redis-server primary, its replica, three sentinels, and a `midway worker`
that knows only the Sentinel URL. Every job whose submit returned (the bot's "(Waiting to start)")
must end done or failed with its terminal event published on the promoted replica: none may be left
queued or running for ever, and none may vanish.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from midway import keys
from midway.contract import EventKind, JobStatus
from midway.events import parse_entry
from midway.jobs import JobStore
from midway.redis_clients import sync_redis

from .conftest import new_job, settings_for, worker_env

pytestmark = pytest.mark.slow


class Submitter(threading.Thread):
    """Submits a job every `every_s` through the Sentinel URL, as the bot does, until stopped. A submit
    that raises (Redis mid-failover) is what the bot answers with an error: only the jobs whose submit
    returned count as acknowledged."""

    def __init__(self, store: JobStore, every_s: float) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.every_s = every_s
        self.acknowledged: list[str] = []
        self.refused = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.acknowledged.append(self.store.submit(new_job(steps=4, user=f"u{len(self.acknowledged) % 3}")).id)
            except redis.RedisError:
                self.refused += 1
            self.stopping.wait(self.every_s)


def terminal_kinds(client: redis.Redis) -> dict[str, list[EventKind]]:
    found: dict[str, list[EventKind]] = {}
    for _, fields in client.xrange(keys.EVENTS_STREAM):
        event = parse_entry(fields)
        if event is not None and event.kind in (EventKind.done, EventKind.failed, EventKind.cancelled):
            found.setdefault(event.job_id, []).append(event.kind)
    return found


def wait_until_finished(store: JobStore, job_ids: list[str], timeout_s: float) -> dict[str, JobStatus | None]:
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = {}
        for job_id in job_ids:
            try:
                job = store.get(job_id)
            except redis.RedisError:
                job = None
            statuses[job_id] = job.status if job is not None else None
        if all(status is not None and status.finished for status in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def test_killing_the_primary_under_load_loses_no_acknowledged_job(sentinel_set, workers, state_dir, tmp_path):
    url = sentinel_set.url
    settings = settings_for(url, state_dir)
    workers("ha-worker", ["tiny"], worker_env(url, state_dir))
    client = sync_redis(url)
    store = JobStore(client, settings)
    assert store.replicas.wanted == 1  # a Sentinel URL: submits wait for the replica
    submitter = Submitter(store, every_s=0.05)
    submitter.start()
    try:
        # Load first: jobs queued behind a running one when the primary goes.
        deadline = time.monotonic() + 60
        while len(submitter.acknowledged) < 20 or store.get(submitter.acknowledged[0]).status is not JobStatus.done:
            assert time.monotonic() < deadline, "no job finished before the failover"
            time.sleep(0.1)
        old_primary = sentinel_set.primary_port()
        sentinel_set.kill_primary()
        killed_at = time.monotonic()
        new_primary = sentinel_set.wait_for_failover()
        failover_s = time.monotonic() - killed_at
        # Submits go on after the failover, through the same client.
        acknowledged_before = len(submitter.acknowledged)
        deadline = time.monotonic() + 30
        while len(submitter.acknowledged) < acknowledged_before + 5:
            assert time.monotonic() < deadline, "no submit succeeded after the failover"
            time.sleep(0.1)
    finally:
        submitter.stopping.set()
        submitter.join()
    assert new_primary != old_primary

    statuses = wait_until_finished(store, submitter.acknowledged, timeout_s=180)
    unfinished = {job_id: status for job_id, status in statuses.items() if status is None or not status.finished}
    assert not unfinished, (f"{len(unfinished)} of {len(statuses)} acknowledged jobs never finished "
                            f"(None: record gone): {unfinished}")
    told = terminal_kinds(client)
    assert all(len(told.get(job_id, [])) == 1 for job_id in submitter.acknowledged), "a user was told twice or never"
    failed = [job_id for job_id, status in statuses.items() if status is not JobStatus.done]
    for job_id in failed:
        assert store.get(job_id).error, f"job {job_id} failed without saying why"
    print(f"failover in {failover_s:.1f} s; {len(statuses)} jobs acknowledged ({submitter.refused} submits refused "
          f"during the failover), {len(failed)} failed")
    client.close()
