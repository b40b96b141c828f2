"""Soak: ~30 mixed jobs (imagine, variations that re-derive their source, cancels, failing inputs) through
two real worker processes, one of them SIGKILLed mid-job, under a per-user running cap of 2. Every job
must end in a terminal state with exactly one terminal event, and no user may keep a running slot."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from midway import keys
from midway.contract import EventKind, Job, JobStatus, Operation
from midway.events import TERMINAL_KINDS, parse_entry
from midway.jobs import JobStore, rq_queue

from .conftest import new_job

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
USERS = ("ann", "bob", "cy", "dee")
MISSING_REF = "0" * 32 + ".png"  # a blob ref whose image has expired (never stored)


@pytest.fixture
def workers(redis_url, state_dir, tmp_path, store, tiny_engine):
    """Two `midway worker --engines tiny` processes (the tiny engine is built before they start)."""
    env = {**os.environ, "REDIS_URL": redis_url, "MIDWAY_STATE_DIR": str(state_dir), "MIDWAY_HEARTBEAT_S": "0.5",
           "MIDWAY_PROGRESS_INTERVAL_S": "0.05", "MIDWAY_MAX_RUNNING_PER_USER": "2", "OMP_NUM_THREADS": "1",
           "MIDWAY_LOG_LEVEL": "WARNING"}
    processes = {}
    for name in ("soak-1", "soak-2"):
        log = open(tmp_path / f"{name}.log", "wb")  # closed in the teardown below
        processes[name] = (subprocess.Popen([sys.executable, "-m", "cli", "worker", "--engines", "tiny",
                                             "--name", name], cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT), log)
    deadline = time.monotonic() + 90
    while set(store.positions.live_engines().get("tiny", [])) != set(processes):
        assert all(process.poll() is None for process, _ in processes.values()), "a worker exited at start-up"
        assert time.monotonic() < deadline, "the workers did not come up"
        time.sleep(0.1)
    yield {name: process for name, (process, _) in processes.items()}
    for process, log in processes.values():
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def mixed_jobs(store: JobStore) -> list[tuple[Job, str]]:
    """Submit 30 jobs; each with what should become of it: done, failed or cancelled-ish ("cancel")."""
    plan: list[tuple[Job, str]] = []
    parents: list[Job] = []
    for number in range(30):
        user = USERS[number % len(USERS)]
        kind = number % 6
        if number < 4:
            # Long enough (a second or so) for a worker to be caught mid-job and killed.
            job, expect = new_job(f"long {number}", user=user, size=128, steps=40), "done"
        elif kind in (0, 1):
            job, expect = new_job(f"fox {number}", user=user, steps=2 + number % 3), "done"
        elif kind == 2 and parents:
            # The source expired: the worker re-derives it from the parent's spec and seed.
            parent = parents[number % len(parents)]
            job = new_job(f"vary {number}", user=user, operation=Operation.variation, init_image=MISSING_REF,
                          strength=0.6)
            job.parent_job_id, job.parent_index = parent.id, number % 4
            expect = "done"
        elif kind == 3:
            # Expired source and no parent, or an expired /blend upload: the engine path must fail cleanly.
            job = (new_job(f"orphan {number}", user=user, operation=Operation.variation, init_image=MISSING_REF,
                           strength=0.6) if number % 2 else
                   new_job(f"blend {number}", user=user, operation=Operation.blend, image_urls=[MISSING_REF] * 2))
            expect = "failed"
        else:
            job, expect = new_job(f"cancel {number}", user=user, size=64, steps=30), "cancel"
        job = store.submit(job)
        if kind in (0, 1):
            parents.append(job)
        plan.append((job, expect))
        if expect == "cancel" and number % 2:
            store.cancel(job.id)  # at once: most likely still queued
    return plan


def kill_mid_job(store: JobStore, process: subprocess.Popen, name: str, ids: list[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for job_id in ids:
            job = store.get(job_id)
            if job.status is JobStatus.running and job.worker == name:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return job_id
        time.sleep(0.02)
    raise AssertionError(f"{name} never ran a job")


def test_mixed_jobs_through_two_workers_one_killed_all_end_once(workers, store, redis_client):
    started = time.monotonic()
    plan = mixed_jobs(store)
    ids = [job.id for job, _ in plan]
    killed_job = kill_mid_job(store, workers["soak-1"], "soak-1", ids)
    for job, expect in plan:
        if expect == "cancel":
            store.cancel(job.id)  # the rest: queued or running by now

    deadline = time.monotonic() + 50
    while not all(store.get(job_id).status.finished for job_id in ids):
        assert time.monotonic() < deadline, [(job_id, store.get(job_id).status) for job_id in ids]
        time.sleep(0.1)

    terminal = collections.defaultdict(list)
    for _, fields in redis_client.xrange(keys.EVENTS_STREAM):
        event = parse_entry(fields)
        if event is not None and event.kind in TERMINAL_KINDS:
            terminal[event.job_id].append(event.kind)
    for job, expect in plan:
        record = store.get(job.id)
        assert terminal[job.id] == [EventKind(record.status.value)], (job.spec.prompt, terminal[job.id])
        wanted = {"done": {JobStatus.done}, "failed": {JobStatus.failed},
                  "cancel": {JobStatus.cancelled, JobStatus.done}}[expect]
        assert record.status in wanted, (job.spec.prompt, record.status, record.error)
    killed = store.get(killed_job)
    assert killed.status is JobStatus.done and killed.attempts == 2 and killed.worker == "soak-2"
    assert sum(store.get(job.id).status is JobStatus.cancelled for job, _ in plan) >= 3
    # No leaked running slot (it would block its user for good under the cap), and nothing left queued.
    assert {user: redis_client.smembers(keys.user_running_key(user)) for user in USERS} == {u: set() for u in USERS}
    assert redis_client.llen(rq_queue(redis_client, "tiny", "fast").key) == 0
    assert time.monotonic() - started < 60
