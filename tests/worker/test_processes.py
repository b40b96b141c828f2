"""Workers as real processes: SIGKILL mid-job, SIGTERM mid-job, and `midway submit --wait` (with reference
links fetched from a local web server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from PIL import ImageChops

from cli.main import main as midway_main
from midway import keys
from midway.blobs import RedisBlobStore
from midway.contract import EventKind, JobStatus
from midway.events import EventConsumer, follow, last_id
from midway.settings import get_settings
from tests.image_links import serving
from worker.rq_worker import serve

from .conftest import decode, new_job
from .test_prompt_images import png

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn_worker(redis_url, state_dir, tmp_path, store):
    """Start `midway worker --engines tiny` as a subprocess and wait until its heartbeat is live."""
    started: list[subprocess.Popen] = []

    def spawn(name: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        env = {**os.environ, "REDIS_URL": redis_url, "MIDWAY_STATE_DIR": str(state_dir),
               "MIDWAY_HEARTBEAT_S": "0.5", "MIDWAY_PROGRESS_INTERVAL_S": "0.05", "OMP_NUM_THREADS": "1",
               **(extra_env or {})}
        log = open(tmp_path / f"{name}.log", "wb")  # closed in the teardown below
        process = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--engines", "tiny", "--name", name],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        process.log_file = log
        started.append(process)
        deadline = time.monotonic() + 120
        while name not in store.positions.live_engines().get("tiny", []):
            assert process.poll() is None, (tmp_path / f"{name}.log").read_text()
            assert time.monotonic() < deadline, "worker did not come up"
            time.sleep(0.1)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.log_file.close()


def wait_for_progress(client, job_id: str, after: str) -> None:
    for event in follow(client, job_id, after=after, block_ms=100, timeout_s=120):
        if event.kind is EventKind.progress:
            return
        assert event.kind not in (EventKind.done, EventKind.failed), f"job ended before it could be killed: {event}"
    raise AssertionError("no progress event")


def test_sigkill_mid_job_another_worker_completes_it(spawn_worker, store, redis_client, make_worker,
                                                       tiny_engine):
    consumer = EventConsumer(redis_client, "bot", "bot-1")
    doomed = spawn_worker("doomed")
    after = last_id(redis_client)
    job = store.submit(new_job(size=128, steps=40))
    wait_for_progress(redis_client, job.id, after)
    doomed.kill()
    doomed.wait()
    assert store.get(job.id).status is JobStatus.running

    rescuer = make_worker({"tiny": tiny_engine})
    serve(rescuer, max_jobs=1, max_idle_s=60)

    finals: dict[str, list] = {}
    for entry_id, event in consumer.read(block_ms=10, count=10_000):
        if event.kind in (EventKind.done, EventKind.failed, EventKind.cancelled):
            finals.setdefault(event.job_id, []).append(event)
        consumer.ack(entry_id)
    assert [event.kind for event in finals[job.id]] == [EventKind.done]
    record = store.get(job.id)
    assert record.status is JobStatus.done and record.attempts == 2 and record.worker == rescuer.name
    blobs = RedisBlobStore(redis_client, 60)
    assert [decode(blobs.get(ref)).size for ref in record.outputs] == [(128, 128)] * 4


def test_sigterm_finishes_the_current_job_then_exits(spawn_worker, store, redis_client):
    worker = spawn_worker("polite")
    after = last_id(redis_client)
    job = store.submit(new_job(size=128, steps=30))
    wait_for_progress(redis_client, job.id, after)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    assert store.get(job.id).status is JobStatus.done
    assert not redis_client.exists(keys.worker_heartbeat_key("polite"))


def test_submit_wait_writes_the_grid(spawn_worker, redis_url, state_dir, tmp_path, monkeypatch, capsys):
    worker = spawn_worker("cli")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("MIDWAY_STATE_DIR", str(state_dir))
    get_settings.cache_clear()
    output = tmp_path / "grid.png"
    try:
        code = midway_main(["submit", "a lighthouse at dusk --ar 2:1", "--engine", "tiny", "--wait",
                            "-o", str(output)])
        bad = midway_main(["submit", "a lighthouse --ar 1.5:1", "--engine", "tiny", "--wait"])
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr()
    assert code == 0, printed
    lines = printed.out.splitlines()
    assert "queued (position 1)" in lines and "started" in lines and "done" in lines
    assert any(line.endswith("%") for line in lines)
    grid = decode(output.read_bytes())
    assert grid.width > grid.height and grid.width % 2 == 0
    assert bad == 2 and "1.5:1" in printed.err
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert redis.Redis.from_url(redis_url).exists(keys.worker_heartbeat_key("cli")) == 0


def minor_faults(pid: int) -> int:
    """Pages the process has faulted in so far (/proc/PID/stat field 10)."""
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_workers_later_jobs_reuse_its_memory_instead_of_faulting_it_in(spawn_worker, store):
    """ops/heap_tuning.py: with glibc's defaults each 256² job faults ~175,000 pages in afresh (a fifth
    of the tiny engine's time); a `midway worker` keeps freed memory and reuses it."""
    worker = spawn_worker("steady")

    def run_job() -> None:
        job = store.submit(new_job(size=256, steps=2))
        deadline = time.monotonic() + 120
        while not store.get(job.id).status.finished:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert store.get(job.id).status is JobStatus.done

    run_job()  # the first job reaches the high-water mark
    before = minor_faults(worker.pid)
    run_job()
    run_job()
    # Untuned, two jobs fault ~350,000 pages in; tuned, 10,000-25,000 were measured (Python's own
    # arenas, the heartbeat and event threads): the bound sits far from both.
    assert minor_faults(worker.pid) - before < 70_000



@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """A local web server with /red.png and /blue.png: its base URL and the paths requested."""
    with serving() as links:
        links.routes.update({"/red.png": png((200, 0, 0)), "/blue.png": png((0, 0, 200))})
        yield links.url(""), links.hits


def test_submit_with_reference_links_runs_them_on_a_worker(spawn_worker, site, redis_url, state_dir, redis_client,
                                                           tmp_path, monkeypatch, capsys):
    base, requested = site
    host = base.removeprefix("http://")
    spawn_worker("refs", {"MIDWAY_FETCH_ALLOW_HOSTS": host})
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("MIDWAY_STATE_DIR", str(state_dir))
    monkeypatch.setenv("MIDWAY_FETCH_ALLOW_HOSTS", host)
    with_refs, plain = tmp_path / "refs.png", tmp_path / "plain.png"

    def submit(*args: str) -> tuple[int, str, str]:
        get_settings.cache_clear()
        try:
            code = midway_main(["submit", *args])
        finally:
            get_settings.cache_clear()
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    code, out, err = submit(f"a lighthouse --seed 7 --sref {base}/red.png --sw 300 --cref {base}/blue.png",
                            "--engine", "tiny", "-o", str(with_refs))
    assert code == 0, out + err
    refs_job = out.split()[1]
    code, out, err = submit("a lighthouse --seed 7", "--engine", "tiny", "-o", str(plain))
    assert code == 0, out + err
    # Each link fetched once, by the worker, and kept with the job; and the references change the pixels.
    assert sorted(requested) == ["/blue.png", "/red.png"]
    assert redis_client.hlen(keys.fetched_key(refs_job)) == 2
    assert ImageChops.difference(decode(with_refs.read_bytes()).convert("RGB"),
                                 decode(plain.read_bytes()).convert("RGB")).getbbox() is not None

    # Refused before anything is submitted, as the bot refuses them: an engine without the adapters, and
    # (without the allow list) a link to a local address.
    assert submit(f"a lighthouse --sref {base}/red.png", "--engine", "tiny-unclip") == \
        (2, "", "`--sref` needs an engine with a style adapter, and `tiny-unclip` has none. Leave it out, or pick "
                "another engine with `--v` (`/engine list` shows which serve it).\n")
    monkeypatch.delenv("MIDWAY_FETCH_ALLOW_HOSTS")
    code, out, err = submit(f"a lighthouse --cref {base}/blue.png", "--engine", "tiny")
    assert (code, out) == (2, "") and "private or local address" in err
