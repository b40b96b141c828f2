"""What a failed job tells its user and the metrics: the engine's own reason, the timeout it really ran
under, and a failure label per cause. Bad requests fail only their job; the worker keeps serving."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from midway.contract import JobStatus
from midway.jobs import JobStore
from ops.metrics import REGISTRY
from worker.rq_worker import serve

from .conftest import ScriptedEngine, new_job


def failures(engine: str, reason: str) -> float:
    prefix = f'midway_job_failures_total{{engine="{engine}",reason="{reason}"}} '
    lines = [line for line in generate_latest(REGISTRY).decode().splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def test_a_refused_spec_fails_its_job_with_the_engines_words_and_the_worker_serves_on(store, make_worker):
    refused = ValueError("`height` and `width` have to be divisible by 8 but are 100 and 100.\nmore detail")
    engine = ScriptedEngine(fail_with=refused)
    worker = make_worker({"scripted": engine})  # settings.max_errors_in_a_row: 3
    before = failures("scripted", "unexpected")
    jobs = [store.submit(new_job(engine="scripted", user=f"u{index}")) for index in range(4)]

    serve(worker, burst=True)
    records = [store.get(job.id) for job in jobs]
    assert len(engine.calls) == 4 and worker.restart_reason is None
    assert [record.status for record in records] == [JobStatus.failed] * 4
    assert records[0].error == ("The engine refused the request: `height` and `width` have to be divisible by 8 "
                                "but are 100 and 100.")
    assert failures("scripted", "unexpected") == before + 4


def test_credentials_in_an_engines_error_do_not_reach_the_user(store, make_worker):
    engine = ScriptedEngine(fail_with=ValueError("bad LoRA https://bob:hunter2@models.example/x.safetensors"))
    job = store.submit(new_job(engine="scripted"))
    serve(make_worker({"scripted": engine}), burst=True)
    error = store.get(job.id).error
    assert "hunter2" not in error and "https://***@models.example/x.safetensors" in error


class SlowEngine(ScriptedEngine):
    def run(self, spec, **kwargs):
        time.sleep(3)
        return super().run(spec, **kwargs)


def test_a_timeout_names_the_limit_the_job_was_submitted_with(redis_client, settings, make_worker):
    # The worker's own setting is 120 s (conftest); the submitter's is 1 s, and RQ enforces that one.
    submitter = JobStore(redis_client, settings.model_copy(update={"job_timeout_s": 1}))
    before = failures("scripted", "timeout")
    job = submitter.submit(new_job(engine="scripted"))
    serve(make_worker({"scripted": SlowEngine()}), burst=True)
    record = submitter.get(job.id)
    assert (record.status, record.error) == (JobStatus.failed, "The job took longer than 1 s and was stopped.")
    assert failures("scripted", "timeout") == before + 1
