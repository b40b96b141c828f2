"""A worker takes waiting jobs lane by lane: turbo, then fast, then relax, whatever order they queued in.

Users notice this as /fast (and turbo) jobs overtaking relaxed ones already waiting (worker/rq_worker.py).
"""

from __future__ import annotations

from midway.contract import Job, JobStatus, Lane
from worker.rq_worker import serve

from .conftest import ScriptedEngine, new_job


def in_lane(lane: Lane, user: str) -> Job:
    job = new_job(f"a {lane.value} kite", user=user)
    job.lane = job.spec.lane = lane
    return job


def test_fast_and_turbo_jobs_overtake_relax_jobs_queued_before_them(store, make_worker):
    worker = make_worker({"tiny": ScriptedEngine()})
    # Queued oldest first, in the opposite order to the one the worker must take them in; each from its
    # own user so per-user fairness has nothing to reorder.
    relaxed = store.submit(in_lane(Lane.relax, "u1"))
    fast = store.submit(in_lane(Lane.fast, "u2"))
    turbo = store.submit(in_lane(Lane.turbo, "u3"))
    serve(worker, burst=True)

    records = [store.get(job.id) for job in (turbo, fast, relaxed)]
    assert [record.status for record in records] == [JobStatus.done] * 3
    started = [record.started_at for record in records]
    assert started == sorted(started) and len(set(started)) == 3, \
        f"started turbo, fast, relax at {started}; the worker should take them in that order"
