"""Part 3: throughput and fairness. One user submits 20 jobs, then 5 users submit 1 each, against a
real redis-server and a `midway worker` subprocess serving the tiny engine. How long until each of
the 5 gets its result, with Midway's fair queue versus plain FIFO (the same JobStore with its fair
insert turned off), in the same run.
"""

from __future__ import annotations

import time
from unittest import mock

import redis

from bench.report import PartResult, Row
from bench.services import require, run_one_job, shared_redis, shared_worker
from bench.stats import ratio

HEAVY_USER = "heavy-user"
# A small tiny-engine grid: the scheduling, not the compute, is what is measured here.
JOB_SIZE, JOB_STEPS = 64, 4
ROUND_TIMEOUT_S = 300.0


def _fifo_insert(queued_users, user, costs=None) -> int:
    return len(queued_users)


def make_job(user: str, index: int):
    from midway.contract import GenerationSpec, Job, Lane, Requester

    spec = GenerationSpec(prompt=f"a lighthouse in a storm {index}", width=JOB_SIZE, height=JOB_SIZE,
                          steps=JOB_STEPS, seed=index, engine="tiny")
    return Job(spec=spec, lane=Lane.fast, requester=Requester(user_id=user, user_name=user))


def run_round(client: redis.Redis, heavy_jobs: int, light_users: int, fair: bool) -> dict:
    """Submit the load; wait for every job; the light users' waits (submit -> result) in seconds."""
    from midway.jobs import JobStore

    store = JobStore(client)
    patch = mock.patch("midway.jobs.fair_insert_index", _fifo_insert) if not fair else mock.MagicMock()
    submitted: dict[str, float] = {}
    light_ids: list[str] = []
    with patch:
        start = time.time()
        for index in range(heavy_jobs):
            job = store.submit(make_job(HEAVY_USER, index))
            submitted[job.id] = time.time()
        for user in range(light_users):
            submitted_at = time.time()
            job = store.submit(make_job(f"light-user-{user}", 1000 + user))
            submitted[job.id] = submitted_at
            light_ids.append(job.id)
    finished = wait_for(store, list(submitted))
    return {
        "light_waits_s": [round(finished[job_id] - submitted[job_id], 3) for job_id in light_ids],
        "round_s": round(max(finished.values()) - start, 3),
        "jobs": len(submitted),
    }


def wait_for(store, job_ids: list[str]) -> dict[str, float]:
    """job id -> finished_at, once all are done (RuntimeError if one failed or the round hangs)."""
    from midway.contract import JobStatus

    deadline = time.monotonic() + ROUND_TIMEOUT_S
    finished: dict[str, float] = {}
    while len(finished) < len(job_ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(finished)} of {len(job_ids)} jobs finished in {ROUND_TIMEOUT_S} s")
        for job_id in job_ids:
            job = store.get(job_id) if job_id not in finished else None
            if job is not None and job.status.finished:
                if job.status is not JobStatus.done:
                    raise RuntimeError(f"job {job_id} ended {job.status.value}: {job.error}")
                finished[job_id] = job.finished_at
        time.sleep(0.05)
    return finished


def run(quick: bool) -> PartResult:
    require("midway.jobs", "worker.main", "engines.registry")
    heavy_jobs, light_users = (8, 5) if quick else (20, 5)
    shared_worker()
    # The first job of a new size pays for the CPU kernels' set-up; keep that out of both rounds.
    run_one_job(shared_redis().url, size=JOB_SIZE)
    client = redis.Redis.from_url(shared_redis().url)
    try:
        # FIFO, fair, fair, FIFO: a drift in the shared machine's load (or a first-round cost) falls
        # on both modes alike; each mode's figures are the mean of its two rounds.
        order = (False, True, True, False)
        measured = [(fair, run_round(client, heavy_jobs, light_users, fair=fair)) for fair in order]
    finally:
        client.close()
    rounds = {"fair": mean_round([r for fair, r in measured if fair]),
              "fifo": mean_round([r for fair, r in measured if not fair])}
    return summarise(rounds, heavy_jobs, light_users)


def mean_round(rounds: list[dict]) -> dict:
    """The element-wise mean of rounds of the same load (light user i's wait, the round's length)."""
    waits = zip(*(r["light_waits_s"] for r in rounds), strict=True)
    return {"light_waits_s": [round(sum(w) / len(w), 3) for w in waits],
            "round_s": round(sum(r["round_s"] for r in rounds) / len(rounds), 3), "jobs": rounds[0]["jobs"]}


def summarise(rounds: dict[str, dict], heavy_jobs: int, light_users: int) -> PartResult:
    fair, fifo = rounds["fair"], rounds["fifo"]
    result = PartResult(name="fairness", details={"rounds": rounds, "heavy_jobs": heavy_jobs,
                                                  "light_users": light_users})
    worst_fair, worst_fifo = max(fair["light_waits_s"]), max(fifo["light_waits_s"])
    result.figures = {
        "fairness_small_user_wait_s": worst_fair,
        "fairness_small_user_wait_fifo_s": worst_fifo,
        "fairness_wait_ratio_vs_fifo": ratio(worst_fair, worst_fifo),
        "fairness_throughput_ratio_vs_fifo": ratio(fifo["round_s"], fair["round_s"]),
    }
    load = f"{heavy_jobs} jobs of one user, then {light_users} users x 1"
    for label, measured in (("fair queue", fair), ("FIFO baseline", fifo)):
        waits = ", ".join(f"{wait:.2f}" for wait in measured["light_waits_s"])
        result.rows.append(Row(f"{load}: each light user's wait, {label}", f"{waits} s"))
    result.rows.append(Row("worst light-user wait (fair queue)", f"{worst_fair:.2f} s",
                           f"x{ratio(worst_fair, worst_fifo)} vs FIFO ({worst_fifo:.2f} s)"))
    result.rows.append(Row("whole round (throughput)", f"{fair['round_s']:.2f} s for {fair['jobs']} jobs",
                           f"FIFO {fifo['round_s']:.2f} s"))
    result.notes.append(f"Jobs are tiny-engine {JOB_SIZE}² grids with {JOB_STEPS} steps on a worker"
                        " subprocess; a wait runs from the light user's submit to its job's `done`.")
    return result
