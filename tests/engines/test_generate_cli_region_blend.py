"""`midway generate --op inpaint --region ...` and `--op blend --image A --image B`, run as a user would."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from midway.region import parse_region

from .test_generate_cli import run_generate


def test_region_argument_takes_fractions_or_percent() -> None:
    assert parse_region("0.25,0.25,0.5,0.5") == (0.25, 0.25, 0.5, 0.5)
    assert parse_region("25, 25, 50, 50") == (0.25, 0.25, 0.5, 0.5)
    assert parse_region("0%,50%,100%,50%") == (0.0, 0.5, 1.0, 0.5)
    for bad in ("25,25,50", "a,b,c,d", "60,0,50,50", "0,0,0,0.5"):
        with pytest.raises(ValueError):
            parse_region(bad)


def test_generate_inpaint_repaints_only_the_region(state_dir, tiny, tmp_path) -> None:
    source = tmp_path / "source.png"
    Image.new("RGB", (128, 128), (200, 30, 30)).save(source)
    out = tmp_path / "vary.png"
    result = run_generate(state_dir, "--engine", "tiny", "--seed", "3", "--op", "inpaint", "--image", str(source),
                          "--region", "50%,50%,50%,50%", "-o", str(out), "a blue square")
    assert result.returncode == 0, result.stderr
    grid = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert grid.shape == (256, 256, 3)  # 2x2 grid of the source's size
    cell = grid[:128, :128]
    # Outside the rectangle the source is kept; inside it the engine painted something else.
    assert np.abs(cell[:48, :48] - [200, 30, 30]).max() <= 8
    assert np.abs(cell[80:, 80:] - [200, 30, 30]).mean() > 20

    missing = run_generate(state_dir, "--op", "inpaint", "--image", str(source), "-o", str(out), "a fox")
    assert missing.returncode == 2 and "--region" in missing.stderr


def test_generate_blend_mixes_repeated_images(state_dir, tiny_unclip, tmp_path) -> None:
    paths = []
    for index, colour in enumerate([(220, 20, 20), (20, 20, 220)]):
        paths.append(tmp_path / f"in{index}.png")
        Image.new("RGB", (64, 64), colour).save(paths[-1])
    out = tmp_path / "blend.png"
    result = run_generate(state_dir, "--engine", "tiny-unclip", "--seed", "4", "--op", "blend",
                          "--image", str(paths[0]), "--image", str(paths[1]), "-o", str(out), "a blend")
    assert result.returncode == 0, result.stderr
    assert "blend" in result.stdout and Image.open(out).size[0] > 0

    one = run_generate(state_dir, "--engine", "tiny-unclip", "--op", "blend", "--image", str(paths[0]),
                       "-o", str(out), "a blend")
    assert one.returncode == 2 and "at least two" in one.stderr
