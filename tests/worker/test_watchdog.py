"""A worker that cannot go on exits so that it is restarted, and its job runs elsewhere: a job stuck in
native code past its timeout, and an engine that fails every job (a sticky CUDA error). `midway up`
starts such a worker again instead of stopping everything."""

from __future__ import annotations

import ctypes
import io
import logging
import subprocess
import sys
import time
from pathlib import Path

import redis

from midway.contract import JobStatus
from midway.jobs import JobStore
from midway.settings import Settings
from ops.supervisor import Child, Supervisor
from worker.main import build_worker
from worker.rq_worker import RESTART_EXIT_CODE, serve

from .conftest import ScriptedEngine, new_job

ROOT = Path(__file__).resolve().parents[2]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def block_in_native_code(seconds: float) -> None:
    """Block in C where no signal cuts the call short, as a wedged CUDA sync does: pthread_mutex_timedlock
    never fails with EINTR (POSIX), so RQ's SIGALRM timeout surfaces only once it returns. ctypes
    releases the GIL meanwhile, so the worker's heartbeat thread keeps running."""
    process = ctypes.CDLL(None)  # every loaded library: pthread is in libc or in libpthread
    mutex = ctypes.create_string_buffer(64)  # zeroed is PTHREAD_MUTEX_INITIALIZER (40 bytes on glibc x86-64)
    process.pthread_mutex_lock(mutex)
    until = _Timespec(int(time.time() + seconds), 0)
    process.pthread_mutex_timedlock(mutex, ctypes.byref(until))


class HungEngine(ScriptedEngine):
    def run(self, spec, **kwargs):
        block_in_native_code(30.0)
        return super().run(spec, **kwargs)


def serve_with_a_hung_engine() -> None:
    """The hung worker's process: its watchdog ends it with os._exit, which must not end pytest's."""
    redis_url, state_dir = sys.argv[1:3]
    logging.basicConfig(level=logging.INFO)
    settings = Settings(redis_url=redis_url, state_dir=Path(state_dir), heartbeat_s=0.5, progress_interval_s=0.0,
                        blob_store="redis", job_timeout_s=1, hang_grace_s=0.5)
    worker = build_worker(redis.Redis.from_url(redis_url), settings, {"scripted": HungEngine()}, name="hung")
    worker.publish_heartbeat()
    serve(worker, max_jobs=1)


def test_a_job_stuck_in_native_code_past_its_timeout_ends_its_worker_and_runs_elsewhere(
        redis_client, redis_url, settings, state_dir, make_worker, tmp_path):
    # RQ's job timeout is the one the submitter enqueued with.
    store = JobStore(redis_client, settings.model_copy(update={"job_timeout_s": 1}))
    job = store.submit(new_job(engine="scripted"))
    log = tmp_path / "hung.log"
    with open(log, "wb") as output:
        hung = subprocess.Popen([sys.executable, "-c", "from tests.worker.test_watchdog import "
                                 "serve_with_a_hung_engine as main; main()", redis_url, str(state_dir)],
                                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        try:
            # Without the watchdog it heartbeats on until the native call returns (30 s).
            code = hung.wait(timeout=20)
        finally:
            if hung.poll() is None:
                hung.kill()
                hung.wait()
    assert code == RESTART_EXIT_CODE, log.read_text()
    assert "past its 1 s timeout" in log.read_text()
    assert (store.get(job.id).status, store.get(job.id).attempts) == (JobStatus.running, 1)

    rescuer = make_worker({"scripted": ScriptedEngine()})
    serve(rescuer, max_jobs=1, max_idle_s=20)
    record = store.get(job.id)
    assert (record.status, record.attempts, record.worker) == (JobStatus.done, 2, rescuer.name)


def test_a_worker_whose_every_job_fails_puts_the_third_back_and_stops_to_be_restarted(store, make_worker):
    broken = ScriptedEngine(fail_with=RuntimeError("CUDA error: an illegal memory access was encountered"))
    worker = make_worker({"scripted": broken})  # settings.max_errors_in_a_row: 3
    jobs = [store.submit(new_job(engine="scripted", user=f"u{index}")) for index in range(4)]

    serve(worker, burst=True)
    assert len(broken.calls) == 3 and worker.restart_reason
    records = [store.get(job.id) for job in jobs]
    assert [record.status for record in records] == [JobStatus.failed, JobStatus.failed, JobStatus.running,
                                                     JobStatus.queued]

    healthy = make_worker({"scripted": ScriptedEngine()})
    serve(healthy, burst=True)
    records = [store.get(job.id) for job in jobs]
    assert [record.status for record in records[2:]] == [JobStatus.done, JobStatus.done]
    assert records[2].attempts == 2 and healthy.restart_reason is None


def test_midway_up_starts_an_exited_worker_again_but_gives_up_on_a_crash_loop():
    supervisor = Supervisor(out=io.StringIO(), max_restarts=2, restart_window_s=60)
    command = [sys.executable, "-c", f"raise SystemExit({RESTART_EXIT_CODE})"]
    worker = supervisor.start(Child("worker", command, restart=True))
    steady = supervisor.start(Child("bot", [sys.executable, "-c", "import time; time.sleep(30)"]))
    codes: list[int | None] = []
    try:
        dead = supervisor.wait_for_exit(poll_s=0.02, on_restart=lambda child: codes.append(child.process.returncode))
        assert dead is worker and codes == [RESTART_EXIT_CODE] * 2 and steady.alive
    finally:
        supervisor.stop_all(grace_s=5)


def test_midway_up_stops_when_a_child_that_may_not_restart_exits():
    supervisor = Supervisor(out=io.StringIO())
    bot = supervisor.start(Child("bot", [sys.executable, "-c", "raise SystemExit(1)"]))
    try:
        assert supervisor.wait_for_exit(poll_s=0.02) is bot
    finally:
        supervisor.stop_all(grace_s=5)
