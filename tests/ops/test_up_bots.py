"""`midway up --bots 2`: two bot processes split the shards; /imagine works in a guild on each shard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.bot_fleet import bot_arguments
from ops.redis_server import free_port
from tests.ops.processes import processes_with
from tests.ops.test_up import _api, _Output

pytestmark = pytest.mark.slow


def _grid_in(port: int, channel: str) -> dict | None:
    for message in _api(port, f"/_playground/messages?channel={channel}&user=alice"):
        labels = [button.get("label") for row in message["components"] for button in row]
        if message["attachments"] and "U1" in labels:
            return message
    return None


def test_bots_split_the_shards_round_robin() -> None:
    assert bot_arguments(1, 4) == [[]]  # one process: unsharded, as before
    assert bot_arguments(2, 1) == [["--shards", "2", "--shard-ids", "0"], ["--shards", "2", "--shard-ids", "1"]]
    assert bot_arguments(2, 5)[1] == ["--shards", "5", "--shard-ids", "1,3"]
    with pytest.raises(ValueError, match="--bots 0"):
        bot_arguments(0, 1)


def test_up_with_two_bots_serves_a_guild_on_each_shard(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MIDWAY_STATE_DIR": str(tmp_path / "state"), "MIDWAY_EMBEDDED_REDIS_PORT": str(free_port())}
    for name in ("REDIS_URL", "DISCORD_TOKEN"):
        env.pop(name, None)
    up = subprocess.Popen([sys.executable, "-m", "cli", "up", "--port", str(port), "--bots", "2", "--guilds", "2"],
                          env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = _Output(up.stdout)
    try:
        output.wait_for("Midway is up", timeout_s=240)
        assert "starting bot 1 of 2 (--shards 2 --shard-ids 0)" in output.wait_for("bot 1 of 2", 1)
        assert "--shards 2 --shard-ids 1" in output.wait_for("bot 2 of 2", 1)
        # The process without shard 0 leaves the slash commands to the one with it.
        assert output.wait_for("not syncing slash commands", 30).startswith("[bot-2]")
        for channel in ("general", "general-2"):
            _api(port, "/_playground/slash", {"user": "alice", "channel": channel, "command": "imagine",
                                              "options": {"prompt": f"a fox in {channel}"}})
        deadline = time.monotonic() + 120
        while _grid_in(port, "general") is None or _grid_in(port, "general-2") is None:
            assert time.monotonic() < deadline, "no grids:\n" + "".join(output.lines[-40:])
            time.sleep(0.5)
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    assert up.returncode in (0, 130)
    time.sleep(0.5)
    assert processes_with(str(tmp_path / "state")) == []
