"""`midway up` end to end: starts, the page's API runs /imagine to a grid, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from ops.redis_server import free_port
from tests.ops.processes import processes_with

pytestmark = pytest.mark.slow




def _api(port: int, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class _Output:
    """Collects a child's output lines in a thread so the pipe never fills up."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, ""):
            self.lines.append(line)

    def wait_for(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            time.sleep(0.2)
        raise AssertionError(f"no {text!r} within {timeout_s}s; output:\n{''.join(self.lines[-60:])}")


def _grid_message(port: int) -> dict | None:
    for message in _api(port, "/_playground/messages?channel=general&user=alice"):
        labels = [button.get("label") for row in message["components"] for button in row]
        if message["attachments"] and "U1" in labels and "V4" in labels:
            return message
    return None


def _start_up(tmp_path: Path, port: int) -> tuple[subprocess.Popen, _Output, dict]:
    env = {**os.environ, "MIDWAY_STATE_DIR": str(tmp_path / "state"), "MIDWAY_EMBEDDED_REDIS_PORT": str(free_port())}
    for name in ("REDIS_URL", "DISCORD_TOKEN"):
        env.pop(name, None)
    up = subprocess.Popen([sys.executable, "-m", "cli", "up", "--port", str(port)], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return up, _Output(up.stdout), env


def test_up_serves_imagine_and_ctrl_c_stops_every_child(tmp_path):
    port = free_port()
    up, output, env = _start_up(tmp_path, port)
    try:
        assert f"http://127.0.0.1:{port}/" in output.wait_for("Midway is up", timeout_s=240)
        second = subprocess.run([sys.executable, "-m", "cli", "up", "--port", str(free_port())], env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "already running" in second.stdout

        _api(port, "/_playground/slash", {"user": "alice", "channel": "general", "command": "imagine",
                                          "options": {"prompt": "a red fox --ar 3:2"}})
        deadline = time.monotonic() + 120
        while (grid := _grid_message(port)) is None:
            assert time.monotonic() < deadline, "no grid message:\n" + "".join(output.lines[-40:])
            time.sleep(0.5)
        assert grid["content"].startswith("**a red fox")
        image = urllib.request.urlopen(grid["attachments"][0]["url"], timeout=10).read()
        assert image[:4] in (b"\x89PNG", b"RIFF")
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    assert up.returncode in (0, 130)
    time.sleep(0.5)
    assert processes_with(str(tmp_path / "state")) == []


def test_sigterm_stops_every_child_too(tmp_path):
    up, output, _ = _start_up(tmp_path, free_port())
    try:
        output.wait_for("Midway is up", timeout_s=240)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
    time.sleep(0.5)
    assert processes_with(str(tmp_path / "state")) == []


def test_the_bots_default_engine_is_one_the_worker_serves(monkeypatch):
    from cli.commands.up import default_engine
    from midway.settings import Settings

    monkeypatch.delenv("MIDWAY_DEFAULT_ENGINE", raising=False)
    unset = Settings(_env_file=None)
    # A GPU machine with SDXL weights: `tiny`, the built-in default, is not served, so SDXL is.
    assert default_engine(unset, "sdxl,sd15") == "sdxl"
    assert default_engine(unset, "tiny,tiny-unclip") == "tiny"
    # One an operator chose is kept, served or not (a worker elsewhere may serve it).
    assert default_engine(Settings(_env_file=None, default_engine="flux-schnell"), "sdxl") == "flux-schnell"


def test_the_worker_may_fetch_the_playgrounds_attachments_and_nothing_else_local():
    from cli.commands.up import fetch_allow_hosts
    from midway.fetch import policy_from_text

    allowed = policy_from_text(fetch_allow_hosts("cdn.lan", "127.0.0.1", 8765))
    assert allowed.allows("127.0.0.1", 8765) and allowed.allows("localhost", 8765) and allowed.allows("cdn.lan", 80)
    # Only the playground's port: the Redis beside it (6390) stays out of reach of a user's link.
    assert not allowed.allows("127.0.0.1", 6390) and not allowed.allows("localhost", 6390)
    assert fetch_allow_hosts("127.0.0.1:8765", "127.0.0.1", 8765) == "127.0.0.1:8765,localhost:8765"
