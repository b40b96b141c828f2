"""`midway up` never silently uses or reports servers that are not its own: a foreign Redis on the embedded
port, something else on the playground port, children left behind by a run that was killed outright."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops import redis_server as redis_server_module
from ops.redis_server import LocalRedis, PortInUse, port_in_use
from ops.supervisor import Child, PidFile, Supervisor, stop_stale
from tests.ops.processes import alive, processes_with

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _free_in(ports: range) -> int:
    for port in ports:
        if not port_in_use(port):
            return port
    pytest.skip(f"no free port in {ports}")


def _redis_port() -> int:
    return _free_in(range(6420, 6430))


def _web_port() -> int:
    return _free_in(range(8820, 8830))




@pytest.fixture
def foreign_redis(tmp_path):
    """A redis-server that is not ours, on a port from the test range."""
    port = _redis_port()
    data = tmp_path / "foreign"
    data.mkdir()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not port_in_use(port):
        assert time.monotonic() < deadline and process.poll() is None, "the foreign redis did not start"
        time.sleep(0.02)
    yield port, process
    process.terminate()
    process.wait(timeout=10)


def _up_env(tmp_path: Path, redis_port: int) -> dict[str, str]:
    env = {**os.environ, "MIDWAY_STATE_DIR": str(tmp_path / "state"), "MIDWAY_EMBEDDED_REDIS_PORT": str(redis_port),
           "MIDWAY_ENGINES": "tiny"}
    for name in ("REDIS_URL", "DISCORD_TOKEN"):
        env.pop(name, None)
    return env


# --- LocalRedis -------------------------------------------------------------------------------------------


@needs_redis
def test_local_redis_refuses_a_port_another_redis_holds(tmp_path, foreign_redis):
    port, foreign = foreign_redis
    server = LocalRedis(port=port, data_dir=tmp_path / "ours")
    with pytest.raises(PortInUse, match=str(port)):
        server.start(persist=True)
    assert server.process is None
    assert foreign.poll() is None


@needs_redis
def test_a_ping_from_another_redis_is_not_taken_for_ours(tmp_path, foreign_redis, monkeypatch):
    # Past the bind test (a race: the other server takes the port just after it), our redis-server dies
    # with "Address already in use" while the other one answers: its pid gives it away.
    monkeypatch.setattr(redis_server_module, "port_in_use", lambda *args, **kwargs: False, raising=False)
    port, foreign = foreign_redis
    server = LocalRedis(port=port, data_dir=tmp_path / "ours")
    with pytest.raises(PortInUse, match=f"port {port}.*another Redis \\(pid {foreign.pid}\\)"):
        server.start()
    assert server.process is None
    assert foreign.poll() is None


@needs_redis
def test_local_redis_still_starts_and_restarts_on_a_free_port(tmp_path):
    server = LocalRedis(port=_redis_port(), data_dir=tmp_path / "redis").start()
    try:
        pid = server.process.pid
        server.stop()
        server.start()
        assert server.process.pid != pid
    finally:
        server.stop()


# --- stale children and the parent's death ----------------------------------------------------------------


def _sleeper(*extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *extra], start_new_session=True)


def test_stop_stale_stops_recorded_children_and_spares_everything_else(tmp_path):
    ours, reused, unrelated = _sleeper("midway"), _sleeper("midway"), _sleeper("something-else")
    try:
        pids = PidFile(tmp_path / "up.pids")
        pids.record("playground", ours, "midway")
        pids.record("worker", reused, "midway")
        pids.record("bot", unrelated, "midway")
        entries = json.loads((tmp_path / "up.pids").read_text())
        entries["worker"]["start"] = str(int(entries["worker"]["start"]) - 1)  # the pid was reused since
        entries["ghost"] = {"pid": 999_999_999, "start": "1", "marker": "midway"}
        (tmp_path / "up.pids").write_text(json.dumps(entries))

        assert stop_stale(tmp_path / "up.pids", grace_s=5) == ["playground"]
        assert ours.wait(timeout=5) == -signal.SIGTERM
        assert reused.poll() is None and unrelated.poll() is None
        assert not (tmp_path / "up.pids").exists()
        assert stop_stale(tmp_path / "up.pids") == []
    finally:
        for process in (ours, reused, unrelated):
            process.kill()
            process.wait()


def test_supervisor_records_its_children_and_they_die_with_a_killed_parent(tmp_path):
    pid_file = tmp_path / "up.pids"
    parent_code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from ops.supervisor import Child, PidFile, Supervisor\n"
        f"supervisor = Supervisor(pid_file=PidFile(Path({str(pid_file)!r})))\n"
        "supervisor.start(Child('sleeper', [sys.executable, '-c', 'import time; time.sleep(60)', 'midway']))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "started"
        child_pid = json.loads(pid_file.read_text())["sleeper"]["pid"]
        assert alive(child_pid)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(child_pid):
            assert time.monotonic() < deadline, "the child outlived its SIGKILLed parent"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
        stop_stale(pid_file, grace_s=2)


def test_a_restarted_child_is_recorded_again(tmp_path):
    pids = PidFile(tmp_path / "up.pids")
    supervisor = Supervisor(pid_file=pids, max_restarts=1)
    child = supervisor.start(Child("quick", [sys.executable, "-c", "pass"], restart=True))
    first = child.process.pid
    try:
        supervisor.wait_for_exit(poll_s=0.05)
        assert json.loads((tmp_path / "up.pids").read_text())["quick"]["pid"] == child.process.pid != first
    finally:
        supervisor.stop_all(grace_s=2)


# --- midway up --------------------------------------------------------------------------------------------


def _run_up(env: dict[str, str], web_port: int, ready_s: float = 20, timeout_s: float = 120) -> tuple[int, str]:
    """`midway up` to its end (SIGTERM after `timeout_s`); `--ready-timeout` bounds each wait in it."""
    up = subprocess.Popen([sys.executable, "-m", "cli", "up", "--port", str(web_port), "--ready-timeout",
                           str(ready_s)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = up.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    return up.returncode, output


@pytest.fixture
def no_leftovers(tmp_path):
    """Fails a test whose `midway up` leaves a process running, and kills those processes (its children
    lead their own sessions, so they are found by the state folder in their environment)."""
    state = str(tmp_path / "state")
    yield
    time.sleep(0.3)
    left = processes_with(state)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert left == [], "processes left running"


@pytest.mark.slow
@needs_redis
def test_up_refuses_a_foreign_redis_on_its_port_and_leaves_nothing_running(tmp_path, foreign_redis, no_leftovers):
    port, foreign = foreign_redis
    code, output = _run_up(_up_env(tmp_path, port), _web_port())
    assert code == 1, output
    assert f"port {port}" in output and "MIDWAY_EMBEDDED_REDIS_PORT" in output, output
    assert "Midway is up" not in output and "starting the playground" not in output
    assert foreign.poll() is None


@pytest.mark.slow
@needs_redis
def test_up_refuses_a_busy_playground_port_and_stops_its_redis(tmp_path, no_leftovers):
    web_port = _web_port()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", web_port))
        squatter.listen()
        code, output = _run_up(_up_env(tmp_path, _redis_port()), web_port)
    assert code == 1, output
    assert f"port {web_port} is already in use" in output, output
    assert "Midway is up" not in output and "starting a worker" not in output
    assert not (tmp_path / "state" / "up.pids").exists()


@pytest.mark.slow
@needs_redis
def test_up_stops_what_a_killed_run_left_behind(tmp_path, no_leftovers):
    # A leftover of a SIGKILLed run (say, from before children died with their parent): it holds the
    # playground port and would answer the readiness check in place of our playground.
    web_port = _web_port()
    env = _up_env(tmp_path, _redis_port())
    state = tmp_path / "state"
    state.mkdir()
    code = ("import socket, sys, time; s = socket.socket(); "
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('ok', flush=True); time.sleep(120)")
    leftover = subprocess.Popen([sys.executable, "-c", code, str(web_port), "midway", "playground"],
                                start_new_session=True, stdout=subprocess.PIPE, text=True)
    try:
        assert leftover.stdout.readline().strip() == "ok"
        PidFile(state / "up.pids").record("playground", leftover, "midway")
        _, output = _run_up(env, web_port, ready_s=5)
        assert "stopped what a previous midway up left running: playground" in output, output
        assert leftover.wait(timeout=5) == -signal.SIGTERM
        assert "already in use" not in output, output
        assert "starting the playground" in output, output
    finally:
        leftover.kill()
        leftover.wait()
