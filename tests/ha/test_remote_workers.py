"""A worker on another machine: it knows only REDIS_URL, with a password (AUTH) and, where the Redis has
it, TLS (rediss://). The images it makes reach the submitter through the shared blob store (Redis)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from midway.blobs import RedisBlobStore
from midway.contract import JobStatus
from midway.jobs import JobStore
from midway.redis_clients import sync_redis

from .conftest import PASSWORD, ROOT, new_job, settings_for, wait_for_status, worker_env

pytestmark = pytest.mark.slow


def serve_one_job(url: str, workers, state_dir, tmp_path, name: str) -> None:
    workers(name, ["tiny"], worker_env(url, state_dir))
    client = sync_redis(url)
    try:
        store = JobStore(client, settings_for(url, state_dir))
        job = wait_for_status(store, store.submit(new_job(size=64)).id)
        assert (job.status, job.worker) == (JobStatus.done, name)
        grid = RedisBlobStore(client, 60).get(job.grid)
        assert grid is not None and grid.startswith(b"\x89PNG")
    finally:
        client.close()
    assert PASSWORD not in (tmp_path / f"{name}.log").read_text()


def test_a_worker_with_the_password_in_redis_url_serves_a_job(password_redis, workers, state_dir, tmp_path):
    serve_one_job(password_redis.url, workers, state_dir, tmp_path, "remote-auth")


def test_a_worker_over_tls_serves_a_job(tls_redis_url, workers, state_dir, tmp_path):
    assert tls_redis_url.startswith("rediss://")
    serve_one_job(tls_redis_url, workers, state_dir, tmp_path, "remote-tls")


@pytest.mark.parametrize("auth", ["wrong-password-5e2a", None], ids=["wrong password", "no password"])
def test_a_worker_refused_by_redis_says_so_in_one_line(password_redis, state_dir, auth):
    url = f"redis://{f':{auth}@' if auth else ''}127.0.0.1:{password_redis.port}/0"
    result = subprocess.run([sys.executable, "-m", "cli", "worker", "--engines", "tiny"], cwd=ROOT,
                            env=worker_env(url, state_dir), capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and PASSWORD not in output and (auth is None or auth not in output)
    (line,) = [line for line in output.splitlines() if line.startswith("midway worker:")]
    assert f"127.0.0.1:{password_redis.port}" in line
    assert ("refused the password in REDIS_URL" if auth else "requires a password, and REDIS_URL has none") in line
