"""Every Redis command, pointed at a port where nothing listens: one clear line, exit 2, no traceback.

The line names the Redis URL with its password replaced by ***; the password itself never appears.
`midway worker` says so before it loads any engine (minutes for real models).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from midway.redis_clients import redacted_url
from ops.redis_server import free_port

PASSWORD = "hunter2-not-for-logs"


def run_midway(args: list[str], tmp_path: Path, **env_vars: str) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m cli ARGS` in an empty folder (no .env), with only these Midway settings."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("MIDWAY_") and name not in ("REDIS_URL", "DISCORD_TOKEN")}
    env.update({"MIDWAY_STATE_DIR": str(tmp_path / "state"), **env_vars})
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "cli", *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    return result, time.monotonic() - started


@pytest.mark.parametrize("args", [
    ["submit", "a red fox --ar 3:2", "--wait"],
    ["worker", "--engines", "tiny"],
    ["bot"],
    ["up", "--port", "{free port}", "--ready-timeout", "1"],
], ids=lambda args: args[0])
def test_unreachable_redis_is_one_clear_line_and_exit_2(args, tmp_path):
    port = free_port()
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    args = [str(free_port()) if arg == "{free port}" else arg for arg in args]
    result, elapsed = run_midway(args, tmp_path, REDIS_URL=url)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    shown = f"redis://:***@127.0.0.1:{port}/0"
    assert len([line for line in output.splitlines() if "cannot reach Redis at " + shown in line]) == 1, output
    assert PASSWORD not in output
    if args[0] == "worker":
        # Fails before loading engines: no loading line, and well under the seconds torch alone takes.
        assert "loading engine" not in output
        assert elapsed < 10, f"took {elapsed:.1f}s"


def test_the_password_in_redis_url_never_reaches_the_output(tmp_path):
    port = free_port()
    url = f"redis://midway:{PASSWORD}@127.0.0.1:{port}/0?password={PASSWORD}"
    for args in (["submit", "a red fox"], ["worker"], ["bot"], ["up", "--port", str(free_port()),
                                                               "--ready-timeout", "1"]):
        result, _ = run_midway(args, tmp_path, REDIS_URL=url)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert PASSWORD not in output
        assert f"redis://midway:***@127.0.0.1:{port}/0?password=***" in output


def test_a_malformed_redis_url_is_a_clear_error_too(tmp_path):
    # The scheme forgotten: nothing marks the password as one, so the URL is not echoed at all.
    result, _ = run_midway(["submit", "a red fox"], tmp_path, REDIS_URL=f":{PASSWORD}@127.0.0.1:6379/0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "REDIS_URL" in result.stderr and PASSWORD not in result.stderr


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
    ("rediss://user:pw@host/1", "rediss://user:***@host/1"),
    ("redis://pw@host", "redis://***@host"),
    ("redis://host/0?password=pw&db=2", "redis://host/0?password=***&db=2"),
    ("unix://:pw@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
    ("redis://:pw@[::1/0", "redis://:***@[::1/0"),
    ("redis://:pa/ss@host/0", "redis://:***@host/0"),
])
def test_redacted_url_hides_only_the_password(url, shown):
    assert redacted_url(url) == shown


def test_bot_without_a_token_or_a_playground_says_discord_token_is_missing(tmp_path, redis_url):
    playground_port = free_port()
    result, _ = run_midway(["bot"], tmp_path, REDIS_URL=redis_url, MIDWAY_PLAYGROUND_PORT=str(playground_port))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert "DISCORD_TOKEN is not set" in output and f"127.0.0.1:{playground_port}" in output
    assert "midway playground" in output


def test_a_worker_of_no_engine_is_refused_before_anything_else(tmp_path):
    result, _ = run_midway(["worker", "--engines", " , ", "--burst"], tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "midway worker: name at least one engine (--engines tiny,sdxl or MIDWAY_ENGINES)"
