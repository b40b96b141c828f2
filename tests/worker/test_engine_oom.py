"""A real out-of-memory error inside the tiny engine's UNet: the worker retries one image at a time."""

from __future__ import annotations

import numpy as np

from midway.blobs import blob_store
from midway.contract import JobStatus
from tests.engines.test_tiny_oom import out_of_memory_above
from worker.runtime import JobRunner

from .conftest import decode, new_job


def run_out_of_memory_above(redis_client, settings, store, engine, batch: int):
    runner = JobRunner(redis_client, settings, {"tiny": engine}, worker_name="w1")
    job = store.submit(new_job(size=64, steps=2))
    batches: list[int] = []
    handle = out_of_memory_above(engine, batch, batches)
    try:
        status = runner.run(job.id)
    finally:
        handle.remove()
    return status, store.get(job.id), batches


def test_a_grid_out_of_memory_is_made_one_image_at_a_time_with_the_same_pixels(redis_client, settings, store,
                                                                               tiny_engine):
    status, done, batches = run_out_of_memory_above(redis_client, settings, store, tiny_engine, batch=2)
    assert status == "done" and done.status is JobStatus.done
    # The whole grid (4 images and their unconditional twins) failed at once; then 4 chunks of 2 steps.
    assert batches == [8] + [2] * 8
    blobs = blob_store(settings, redis_client)
    got = np.stack([np.asarray(decode(blobs.get(ref)).convert("RGB"), dtype=np.float64) for ref in done.outputs])
    expected = np.stack([np.asarray(image, dtype=np.float64) for image in tiny_engine.run(done.spec)])
    assert np.abs(got - expected).max() <= 2


def test_out_of_memory_even_one_image_at_a_time_fails_with_a_reason_and_the_engine_recovers(
        redis_client, settings, store, tiny_engine):
    status, failed, batches = run_out_of_memory_above(redis_client, settings, store, tiny_engine, batch=0)
    assert status == "failed" and failed.status is JobStatus.failed
    assert batches == [8, 2]  # tried once whole, once one image at a time, then gave up
    assert "memory" in failed.error and "64x64" in failed.error and "Traceback" not in failed.error
    assert len(tiny_engine.run(failed.spec.model_copy(update={"n_images": 1}))) == 1
