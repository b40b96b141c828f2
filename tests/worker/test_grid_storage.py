"""A job with a grid stores one blob (the grid); its outputs are cell refs that read back as its images."""

from __future__ import annotations

import pytest

from midway import keys
from midway.blobs import blob_store, parse_cell_ref
from midway.contract import JobStatus
from worker.runtime import JobRunner

from .conftest import decode, new_job


@pytest.fixture(params=["redis", "fs"])
def quiet_settings(request, settings, tmp_path):
    return settings.model_copy(update={"blob_store": request.param, "blob_dir": tmp_path / "blobs"})


def stored_refs(redis_client, settings) -> list[str]:
    """The job's stored images, leaving out its progress previews (small WebPs, worker/progress.py)."""
    if settings.blob_store == "fs":
        refs = [path.name for path in settings.blob_dir.iterdir()]
    else:
        prefix = keys.blob_key("")
        refs = [key.decode()[len(prefix):] for key in redis_client.scan_iter(keys.blob_key("*"))]
    return sorted(ref for ref in refs if not ref.endswith(".webp"))


def run_job(redis_client, settings, store, engine, **spec_fields):
    runner = JobRunner(redis_client, settings, {"tiny": engine}, worker_name="w1")
    job = store.submit(new_job(**spec_fields))
    assert runner.run(job.id) == "done"
    return store.get(job.id), blob_store(settings, redis_client)


@pytest.mark.parametrize("n_images", [4, 2])
def test_a_grid_job_stores_only_its_grid(redis_client, quiet_settings, store, tiny_engine, n_images):
    done, blobs = run_job(redis_client, quiet_settings, store, tiny_engine, size=64, steps=2, n_images=n_images)

    assert done.status is JobStatus.done and len(done.outputs) == n_images
    assert stored_refs(redis_client, quiet_settings) == [done.grid]
    assert [parse_cell_ref(ref) for ref in done.outputs] == [(done.grid, index) for index in range(n_images)]
    # The same seeded spec run here makes the same images: each output is exactly its image.
    expected = tiny_engine.run(done.spec)
    got = [decode(blobs.get(ref)) for ref in done.outputs]
    assert [image.size for image in got] == [(64, 64)] * n_images
    assert [image.convert("RGB").tobytes() for image in got] == [image.convert("RGB").tobytes()
                                                                for image in expected]
    assert len({image.tobytes() for image in got}) == n_images


def test_a_single_image_job_stores_that_image(redis_client, quiet_settings, store, tiny_engine):
    done, blobs = run_job(redis_client, quiet_settings, store, tiny_engine, size=64, steps=2, n_images=1)

    assert done.grid is None and stored_refs(redis_client, quiet_settings) == done.outputs
    assert parse_cell_ref(done.outputs[0]) is None
    assert decode(blobs.get(done.outputs[0])).size == (64, 64)
