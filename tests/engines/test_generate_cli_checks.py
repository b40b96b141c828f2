"""`midway generate` refuses bad options and -o paths up front: exit 2, a clear message, no engine loaded.

The catalogue here has one engine whose model is not there: had the command got as far as loading it,
the error would be about the model, not the option.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from PIL import Image
from pydantic import ValidationError

from cli.commands import generate
from midway.catalogue import SHIPPED_CATALOGUE, load_catalogue


@pytest.fixture
def broken_env(tmp_path):
    catalogue = tmp_path / "catalogue.toml"
    catalogue.write_text('[engines.broken]\nkind = "sd"\nmodel = "/nonexistent/midway-model"\n')
    return dict(os.environ, MIDWAY_STATE_DIR=str(tmp_path / "state"), MIDWAY_CATALOGUE=str(catalogue),
                MIDWAY_DEFAULT_ENGINE="broken", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")


def run(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "generate", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def assert_refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "midway-model" not in result.stderr


@pytest.mark.parametrize("seed", ["-1", "99999999999", "4294967296"])
def test_an_out_of_range_seed_exits_2_before_the_engine_loads(broken_env, tmp_path, seed):
    result = run(broken_env, "--seed", seed, "-o", str(tmp_path / "x.png"), "a fox")
    assert_refused(result, f"--seed must be between 0 and 4294967295, got {seed}")


@pytest.mark.parametrize("strength", ["0", "5", "-0.5"])
def test_a_strength_outside_0_to_1_exits_2_before_the_engine_loads(broken_env, tmp_path, strength):
    image = tmp_path / "a.png"
    Image.new("RGB", (64, 64)).save(image)
    result = run(broken_env, "--op", "variation", "--image", str(image), "--strength", strength,
                 "-o", str(tmp_path / "v.png"), "a fox")
    assert_refused(result, "--strength must be above 0 and at most 1")


def test_an_unwritable_output_exits_2_before_the_engine_loads(broken_env, tmp_path):
    assert_refused(run(broken_env, "-o", "/proc/nope/x.png", "a fox"), "cannot write -o /proc/nope/x.png")
    folder = tmp_path / "out"
    folder.mkdir()
    assert_refused(run(broken_env, "-o", str(folder), "a fox"), f"-o {folder} is a directory")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert_refused(run(broken_env, "-o", str(plain / "x.png"), "a fox"), "is not a directory")


def test_a_missing_output_folder_is_fine_and_not_made_up_front(broken_env, tmp_path):
    """A folder that does not exist yet is made when the image is written; the check makes nothing."""
    out = tmp_path / "new" / "deeper" / "x.png"
    result = run(broken_env, "--seed", "-1", "-o", str(out), "a fox")
    assert result.returncode == 2 and not (tmp_path / "new").exists()
    generate._check_output(out)
    assert not (tmp_path / "new").exists()


def test_every_override_of_the_parsed_spec_is_validated():
    args = argparse.Namespace(prompt=["a fox"], engine="tiny", seed=-1, strength=None, op="imagine",
                              factor=2, mode="subtle", draft=False, lora=[], sref=[], cref=[], oref=[])
    with pytest.raises(ValidationError, match="seed"):
        generate._spec(args, load_catalogue(SHIPPED_CATALOGUE))
    args.seed, args.strength = 7, 5.0
    with pytest.raises(ValidationError, match="strength"):
        generate._spec(args, load_catalogue(SHIPPED_CATALOGUE))
