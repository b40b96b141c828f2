"""A Redis blip while a job runs costs its progress messages, never the job: progress and the
cancel checks are best effort; the result, written once the engine is done, is not."""

from __future__ import annotations

import pytest
import redis
from PIL import Image
from rq.timeouts import JobTimeoutException

from midway import events
from midway.contract import JobStatus
from worker import cancel_watch
from worker.progress import ProgressReporter
from worker.runtime import JobRunner

from .conftest import new_job


def test_a_job_survives_redis_errors_in_its_progress_and_cancel_checks(redis_client, settings, store,
                                                                        tiny_engine, monkeypatch):
    runner = JobRunner(redis_client, settings.model_copy(update={"progress_interval_s": 0.0}),
                       {"tiny": tiny_engine}, worker_name="w1")
    monkeypatch.setattr(cancel_watch, "CANCEL_POLL_S", 0.001)  # several checks within this short job
    job = store.submit(new_job(size=64, steps=4, n_images=2))
    failures = {"publish": 0, "cancel": 0}
    claimed = {"yes": False}
    publish, cancel_requested, start = events.publish, store.cancel_requested, runner.store.start

    def starts(job_id, worker):
        claimed["yes"] = True
        return start(job_id, worker)

    def progress_blip(client, event):
        if event.kind.value == "progress":
            failures["publish"] += 1
            raise redis.ConnectionError("Connection reset by peer")
        return publish(client, event)

    def cancel_blip(job_id):
        if claimed["yes"]:  # the checks while the job runs
            failures["cancel"] += 1
            raise redis.ConnectionError("Connection reset by peer")
        return cancel_requested(job_id)

    monkeypatch.setattr(runner.store, "start", starts)
    monkeypatch.setattr(events, "publish", progress_blip)
    monkeypatch.setattr(runner.store, "cancel_requested", cancel_blip)
    assert runner.run(job.id) == "done"
    assert store.get(job.id).status is JobStatus.done and len(store.get(job.id).outputs) == 2
    assert failures["publish"] >= 1 and failures["cancel"] >= 1


def test_a_progress_event_that_cannot_be_published_is_skipped():
    def redis_down(event):
        raise redis.ConnectionError("Error 111 connecting. Connection refused.")

    reporter = ProgressReporter("job", publish=redis_down, put_preview=lambda data: "ref", interval_s=0.0)
    reporter(1, 4, None)
    reporter(2, 4, None)
    assert reporter.published == 0


def test_a_timeout_raised_while_a_preview_is_stored_is_not_swallowed():
    # RQ's job timeout is an exception raised wherever the worker is when the alarm rings.
    def alarm_rings(data):
        raise JobTimeoutException("Task exceeded maximum timeout value (1 seconds)")

    reporter = ProgressReporter("job", publish=lambda event: None, put_preview=alarm_rings, interval_s=0.0)
    with pytest.raises(JobTimeoutException):
        reporter(1, 4, Image.new("RGB", (16, 16)))
