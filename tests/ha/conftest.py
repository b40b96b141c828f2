"""Redis high availability with real processes: a primary, its replica and three sentinels
(ops/redis_ha.py), and `midway worker` processes that reach them through REDIS_URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest

from midway.contract import GenerationSpec, Job, Requester
from midway.jobs import JobStore
from midway.redis_clients import redis_problem
from midway.settings import Settings
from ops.redis_ha import SentinelSet
from ops.redis_server import LocalRedis, free_port
from ops.supervisor import worker_subprocess

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "not-for-logs-4f1c"


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The tiny engines build here once per session; every worker process of the session loads them.
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    servers = SentinelSet(tmp_path / "ha").start()
    yield servers
    servers.stop()


def settings_for(redis_url: str, state_dir: Path, **changes) -> Settings:
    return Settings(redis_url=redis_url, state_dir=state_dir, heartbeat_s=0.5, progress_interval_s=0.0,
                    job_timeout_s=120, blob_store="redis", image_ttl_s=600, **changes)


def worker_env(redis_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """A worker's environment as on another machine: REDIS_URL and its own settings, nothing else of ours."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("MIDWAY_") and name not in ("REDIS_URL", "DISCORD_TOKEN")}
    return {**env, "REDIS_URL": redis_url, "MIDWAY_STATE_DIR": str(state_dir), "MIDWAY_HEARTBEAT_S": "0.5",
            "MIDWAY_PROGRESS_INTERVAL_S": "0.2", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture
def workers(tmp_path: Path) -> Iterator:
    """Factory: `midway worker --engines ...` processes, each serving once started, all stopped at the end.
    Each writes its output to <tmp_path>/<name>.log."""
    with ExitStack() as stack:

        def start(name: str, engines: Sequence[str], env: dict[str, str]):
            log = stack.enter_context(open(tmp_path / f"{name}.log", "wb"))
            return stack.enter_context(worker_subprocess(
                env["REDIS_URL"], engines, env, args=["--name", name], stdout=log, cwd=ROOT, timeout_s=180))

        yield start


def new_job(prompt: str = "a red fox", *, engine: str = "tiny", user: str = "u1", size: int = 64,
            steps: int = 2) -> Job:
    spec = GenerationSpec(prompt=prompt, engine=engine, width=size, height=size, steps=steps, seed=7)
    return Job(spec=spec, requester=Requester(user_id=user))



@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A redis-server that requires a password (`requirepass`), as one reachable from other machines must."""
    server = LocalRedis(port=free_port(), data_dir=tmp_path / "redis", password=PASSWORD)
    server.start(persist=True, extra_args=["--requirepass", PASSWORD])
    yield server
    server.stop()


@pytest.fixture
def tls_redis_url(tmp_path: Path) -> Iterator[str]:
    """REDIS_URL (rediss://, with a password) of a redis-server speaking only TLS, its certificate signed by
    a CA made here (openssl) that the URL names in ssl_ca_certs."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path / "tls"
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=midway-test-ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "1", "-extfile", "san.cnf")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--tls-cert-file", "server.crt", "--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.crt",
         "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--save", "", "--appendonly", "no"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={folder / 'ca.crt'}"
    try:
        deadline = time.monotonic() + 10
        while redis_problem(url, timeout_s=0.5) is not None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start with TLS (is it built with TLS support?)")
            time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait()


def wait_for_status(store: JobStore, job_id: str, timeout_s: float = 60) -> Job:
    """The job's record once it has finished (AssertionError when it has not within timeout_s)."""
    deadline = time.monotonic() + timeout_s
    while (job := store.get(job_id)) is None or not job.status.finished:
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
        time.sleep(0.1)
    return job
