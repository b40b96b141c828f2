"""Two worker processes, as on two machines, serving different engines from one password-protected Redis:
every job runs on the worker of its engine, and its images come back through the shared blob store."""

from __future__ import annotations

import pytest

from midway.blobs import RedisBlobStore
from midway.contract import JobStatus
from midway.images.imaging import image_from_bytes
from midway.jobs import JobStore
from midway.redis_clients import sync_redis

from .conftest import new_job, settings_for, wait_for_status, worker_env

pytestmark = pytest.mark.slow


def test_jobs_land_on_the_worker_of_their_engine_and_their_images_are_shared(password_redis, workers, state_dir):
    url = password_redis.url
    workers("machine-a", ["tiny"], worker_env(url, state_dir))
    workers("machine-b", ["tiny-unclip"], worker_env(url, state_dir))
    client = sync_redis(url)
    try:
        store = JobStore(client, settings_for(url, state_dir))
        assert set(store.positions.live_engines()) >= {"tiny", "tiny-unclip"}
        submitted = [store.submit(new_job(f"a fox {index}", engine=engine, size=64)).id
                     for index in range(3) for engine in ("tiny", "tiny-unclip")]
        finished = [wait_for_status(store, job_id, timeout_s=120) for job_id in submitted]
        blobs = RedisBlobStore(client, 60)
        for job in finished:
            assert job.status is JobStatus.done, job.error
            assert job.worker == {"tiny": "machine-a", "tiny-unclip": "machine-b"}[job.spec.engine]
            # Read here, not on the machine that made it: the grid and each image, from Redis.
            grid = image_from_bytes(blobs.get(job.grid))
            assert grid.size == (128, 128)
            assert [image_from_bytes(blobs.get(ref)).size for ref in job.outputs] == [(64, 64)] * 4
    finally:
        client.close()
