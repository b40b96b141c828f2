"""`midway describe` and `midway shorten` as a user runs them, with no Redis to reach: one describe in a real
subprocess, the rest in-process through the same `cli.main.main` (tests/cli_run.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from PIL import Image

from tests.cli_run import run_cli
from tests.image_links import png, png_bomb

# No Redis: nothing listens on this port, so a command that needed one would fail.
NO_REDIS = "redis://127.0.0.1:9/0"


def midway(state_dir, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, env={"MIDWAY_STATE_DIR": str(state_dir), "HF_HUB_OFFLINE": "1", "REDIS_URL": NO_REDIS})


def midway_process(state_dir, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MIDWAY_STATE_DIR=str(state_dir), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               REDIS_URL=NO_REDIS)
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env,
                          timeout=240)


def test_describe_prints_four_numbered_prompts_with_the_images_aspect_ratio(state_dir, tmp_path) -> None:
    image = tmp_path / "wide.png"
    Image.new("RGB", (320, 180), (30, 90, 200)).save(image)
    result = midway_process(state_dir, "describe", str(image), "--seed", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line[:3] for line in lines] == ["1. ", "2. ", "3. ", "4. "]
    assert all(line.endswith("--ar 16:9") for line in lines)
    # The same image and seed give the same prompts, in another process too.
    assert midway(state_dir, "describe", str(image), "--seed", "3").stdout == result.stdout


def test_describe_refuses_what_is_not_an_image(state_dir, tmp_path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    (tmp_path / "cut.png").write_bytes(png()[:60])
    (tmp_path / "bomb.png").write_bytes(png_bomb())
    for args, says in ((str(text), "not an image"), (str(tmp_path / "missing.png"), "image not found"),
                       (str(tmp_path / "cut.png"), "cut short"), (str(tmp_path / "bomb.png"), "too many pixels"),
                       ("http://127.0.0.1:9/fox.png", "private or local address"),
                       ("file:///etc/passwd", "Only http")):
        result = midway(state_dir, "describe", args)
        assert result.returncode == 2 and says in result.stderr, (args, result.stderr)
    image = tmp_path / "fox.png"
    Image.new("RGB", (64, 64)).save(image)
    result = midway(state_dir, "describe", "--engine", "tiny", str(image))
    assert result.returncode == 2 and "does not describe images" in result.stderr


def test_shorten_ranks_the_words_and_prints_five_prompts_that_keep_the_parameters(state_dir) -> None:
    result = midway(state_dir, "shorten", "a very beautiful red fox in a misty forest --ar 3:2 --chaos 20")
    assert result.returncode == 0, result.stderr
    ranked, prompts = result.stdout.strip().split("\n\n")
    rows = [re.fullmatch(r"(\d\.\d{4})  (\S+)", line) for line in ranked.splitlines()]
    assert all(rows) and len(rows) == 9
    scores = [float(row[1]) for row in rows if row]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 0.01
    lines = prompts.splitlines()
    assert [line[:3] for line in lines] == ["1. ", "2. ", "3. ", "4. ", "5. "]
    assert all(line.endswith("--ar 3:2 --chaos 20") for line in lines)


def test_shorten_refuses_a_bad_parameter_and_a_captioner(state_dir) -> None:
    result = midway(state_dir, "shorten", "a fox --chaos 500")
    assert result.returncode == 2 and "--chaos" in result.stderr
    result = midway(state_dir, "shorten", "--engine", "tiny-caption", "a fox")
    assert result.returncode == 2 and "no text encoder" in result.stderr
