"""The safety filter on the worker: every image job's outputs scored by the tiny random-weight checker
(loaded with `from_pretrained`, like the CompVis one), the verdict on the record and the done event."""

from __future__ import annotations

import json

import pytest

from engines.safety import COMPVIS_SAFETY_CHECKER
from engines.tiny.cache import TINY_SAFETY_CHECKER
from midway.contract import EventKind, Job, JobStatus, Operation
from midway.settings import Settings
from worker.rq_worker import serve
from worker.safety import checker_source

from .conftest import new_job


def done_event(consumer, job_id: str):
    return next(event for _, event in consumer.read(block_ms=10, count=1000)
                if event.job_id == job_id and event.kind is EventKind.done)


def test_every_image_of_a_grid_is_scored_once_and_recorded_on_the_job_and_its_event(
        store, make_worker, tiny_engine, consumer, settings):
    worker = make_worker({"tiny": tiny_engine})
    job = store.submit(new_job(size=64, steps=2))
    serve(worker, burst=True)

    record, event = store.get(job.id), done_event(consumer, job.id)
    assert record.status is JobStatus.done and len(record.outputs) == 4
    assert len(record.safety_scores) == 4 and all(0.0 < score < 1.0 for score in record.safety_scores)
    assert record.safety_flagged == [score > settings.safety_threshold for score in record.safety_scores]
    assert not record.safety_failed
    assert (event.safety_scores, event.safety_flagged) == (record.safety_scores, record.safety_flagged)
    # Four different images: the checker tells them apart (its scores are not a constant).
    assert len(set(record.safety_scores)) > 1


@pytest.mark.parametrize(("threshold", "flagged"), [(0.0, True), (1.0, False)])
def test_the_threshold_setting_flags_every_image_or_none(store, make_worker, tiny_engine, settings,
                                                        threshold, flagged):
    settings.safety_threshold = threshold
    worker = make_worker({"tiny": tiny_engine})
    grid = store.submit(new_job(size=64, steps=2))
    single = store.submit(new_job(size=64, steps=2, user="u2", n_images=1))
    serve(worker, burst=True)
    assert store.get(grid.id).safety_flagged == [flagged] * 4
    assert store.get(single.id).safety_flagged == [flagged]
    assert len(store.get(single.id).safety_scores) == 1


def test_a_variation_is_scored_too(store, make_worker, tiny_engine, settings):
    settings.safety_threshold = 0.0
    worker = make_worker({"tiny": tiny_engine})
    parent = store.submit(new_job(size=64, steps=2))
    serve(worker, burst=True)
    source = store.get(parent.id).outputs[0]
    child = store.submit(new_job(size=64, steps=2, operation=Operation.variation, init_image=source, strength=0.6))
    serve(worker, burst=True)
    assert store.get(child.id).safety_flagged == [True] * 4


def test_a_checker_that_cannot_load_fails_closed_and_the_job_is_still_delivered(
        store, make_worker, tiny_engine, consumer, settings, tmp_path):
    settings.safety_checker = str(tmp_path / "no-such-checker")
    worker = make_worker({"tiny": tiny_engine})
    job = store.submit(new_job(size=64, steps=2))
    serve(worker, burst=True)
    record = store.get(job.id)
    assert record.status is JobStatus.done and len(record.outputs) == 4
    assert record.safety_failed and record.safety_flagged == [True] * 4 and record.safety_scores == []
    assert done_event(consumer, job.id).safety_failed


def test_the_filter_off_records_no_verdict(store, make_worker, tiny_engine, settings):
    settings.safety_checker = "off"
    worker = make_worker({"tiny": tiny_engine})
    job = store.submit(new_job(size=64, steps=2))
    serve(worker, burst=True)
    record = store.get(job.id)
    assert record.status is JobStatus.done
    assert (record.safety_scores, record.safety_flagged, record.safety_failed) == ([], [], False)


def test_auto_picks_the_real_checker_for_real_engines_and_the_tiny_one_offline() -> None:
    settings = Settings()
    assert checker_source(settings, ["tiny", "tiny-unclip", "tiny-caption"]) == TINY_SAFETY_CHECKER
    assert checker_source(settings, ["tiny", "sdxl"]) == COMPVIS_SAFETY_CHECKER
    assert checker_source(Settings(safety_checker="off"), ["sdxl"]) is None
    assert checker_source(Settings(safety_checker="/models/checker"), ["tiny"]) == "/models/checker"


def test_a_threshold_outside_the_unit_interval_is_refused_by_name() -> None:
    from midway.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="MIDWAY_SAFETY_THRESHOLD"):
        load_settings(safety_threshold=1.5)


def test_records_from_before_the_filter_read_as_unchecked() -> None:
    old = json.loads(new_job().model_dump_json())
    for name in ("safety_scores", "safety_flagged", "safety_failed"):
        del old[name]
    job = Job.from_record(json.dumps(old))
    assert (job.safety_scores, job.safety_flagged, job.safety_failed) == ([], [], False)
