"""`midway generate` as a user runs it: the command writes a PNG (one run in a real subprocess, the rest
in-process through the same `cli.main.main`, see tests/cli_run.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

from tests.cli_run import run_cli


def run_generate(state_dir, *args: str) -> subprocess.CompletedProcess:
    return run_cli("generate", *args, env={"MIDWAY_STATE_DIR": str(state_dir), "HF_HUB_OFFLINE": "1"})


def run_generate_process(state_dir, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MIDWAY_STATE_DIR=str(state_dir), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "cli", "generate", *args], capture_output=True, text=True,
                          env=env, timeout=240)


def test_generate_writes_the_grid_at_the_aspect_ratio(state_dir, tiny, tmp_path):
    out = tmp_path / "fox.png"
    result = run_generate_process(state_dir, "--seed", "5", "-o", str(out), "a red fox --ar 3:2 --s 250 --no snow")
    assert result.returncode == 0, result.stderr
    assert "seed 5" in result.stdout
    # tiny keeps 256x256's area at 3:2 in multiples of 32: 320x224 per image, 2x2 grid.
    assert Image.open(out).size == (640, 448)

    cell = tmp_path / "cell.png"
    Image.open(out).crop((0, 0, 320, 224)).save(cell)
    upscaled = tmp_path / "up.png"
    result = run_generate(state_dir, "--op", "upscale", "--image", str(cell), "--factor", "2", "-o", str(upscaled),
                          "a red fox")
    assert result.returncode == 0, result.stderr
    assert Image.open(upscaled).size == (640, 448)


def test_generate_errors_exit_2_with_a_clear_message(state_dir, tmp_path):
    result = run_generate(state_dir, "--engine", "nope", "-o", str(tmp_path / "x.png"), "a fox")
    assert result.returncode == 2 and "unknown engine 'nope'" in result.stderr
    result = run_generate(state_dir, "--op", "variation", "--image", str(tmp_path / "missing.png"),
                          "-o", str(tmp_path / "x.png"), "a fox")
    assert result.returncode == 2 and "image not found" in result.stderr


def test_generate_pans_a_source_image(state_dir, tiny, tmp_path):
    cell = tmp_path / "cell.png"
    Image.new("RGB", (96, 64), (200, 40, 40)).save(cell)
    panned = tmp_path / "pan.png"
    result = run_generate(state_dir, "--op", "pan", "--pan", "up", "--image", str(cell), "-o", str(panned), "a red fox")
    assert result.returncode == 0, result.stderr
    assert "engine tiny  pan  192x192" in result.stdout
    # Four 96x96 images (64 px grown by half upwards), as a 2x2 grid; the source kept at the bottom.
    assert Image.open(panned).size == (192, 192)
    assert Image.open(panned).getpixel((48, 80)) == (200, 40, 40)


def test_generate_applies_a_lora_from_the_flag_or_the_prompt(state_dir, tiny, tmp_path):
    plain, flagged, typed = (tmp_path / f"{name}.png" for name in ("plain", "flagged", "typed"))
    assert run_generate(state_dir, "--seed", "3", "-o", str(plain), "a fox --ar 1:1").returncode == 0
    assert run_generate(state_dir, "--seed", "3", "--lora", "tiny-style::0.8", "-o", str(flagged),
                        "a fox").returncode == 0
    assert run_generate(state_dir, "--seed", "3", "-o", str(typed), "a fox --lora tiny-style::0.8").returncode == 0
    assert Image.open(flagged).tobytes() == Image.open(typed).tobytes() != Image.open(plain).tobytes()
    refused = run_generate(state_dir, "--lora", "tiny-style-xl", "-o", str(tmp_path / "x.png"), "a fox")
    assert refused.returncode == 2 and "`tiny-style-xl` is made for sdxl engines" in refused.stderr
