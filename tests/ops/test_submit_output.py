"""`midway submit -o PATH`: missing folders are created; a path that cannot be written is refused
before anything is submitted. A stand-in worker speaks the event protocol so no engine loads."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from midway import events
from midway.blobs import RedisBlobStore
from midway.contract import Event, EventKind


def start_submit(tmp_path: Path, redis_url: str, *args: str) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("MIDWAY_") and name not in ("REDIS_URL", "DISCORD_TOKEN")}
    env.update({"REDIS_URL": redis_url, "MIDWAY_STATE_DIR": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen([sys.executable, "-m", "cli", "submit", "a red fox", "--engine", "tiny", *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_output_into_missing_folders_creates_them(tmp_path, redis_url, redis_client):
    output = tmp_path / "new" / "folders" / "fox.png"
    submit = start_submit(tmp_path, redis_url, "-o", str(output), "--timeout", "60")
    try:
        first = submit.stdout.readline()
        assert first.startswith("job "), first + submit.stderr.read()
        job_id = first.split()[1]
        grid = RedisBlobStore(redis_client, 600).put(png_bytes())
        events.publish(redis_client, Event(job_id=job_id, kind=EventKind.done, grid=grid, outputs=[grid]))
        out, err = submit.communicate(timeout=60)
    finally:
        if submit.poll() is None:
            submit.kill()
            submit.wait()
    assert submit.returncode == 0, err
    assert "Traceback" not in err
    assert output.read_bytes() == png_bytes() and f"wrote {output}" in out


@pytest.mark.parametrize("where", ["parent is a file", "is a folder"])
def test_an_output_that_cannot_be_written_is_refused_before_submitting(where, tmp_path, redis_url, redis_client):
    (tmp_path / "notes.txt").write_text("not a folder")
    (tmp_path / "folder").mkdir()
    output = tmp_path / "notes.txt" / "fox.png" if where == "parent is a file" else tmp_path / "folder"
    submit = start_submit(tmp_path, redis_url, "-o", str(output), "--timeout", "5")
    try:
        out, err = submit.communicate(timeout=60)
    finally:
        if submit.poll() is None:
            submit.kill()
            submit.wait()
    assert submit.returncode == 2, out + err
    assert "Traceback" not in err and str(output) in err
    assert "job " not in out and redis_client.dbsize() == 0
