"""`midway generate` with image references: --image is an image prompt for imagine, --sref PATH[::W] a style
reference; each changes the grid, the same references and seed give the same grid, a bad file exits 2."""

from __future__ import annotations

from PIL import Image

from .test_generate_cli import run_generate


def grid(state_dir, tmp_path, name: str, *args: str) -> bytes:
    out = tmp_path / f"{name}.png"
    result = run_generate(state_dir, "--seed", "9", "--engine", "tiny", "-o", str(out), *args)
    assert result.returncode == 0, result.stderr
    return Image.open(out).tobytes()


def test_image_prompt_and_style_reference_files_condition_the_grid(state_dir, tiny, tmp_path):
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    Image.new("RGB", (64, 64), (220, 20, 20)).save(red)
    Image.new("RGB", (64, 64), (20, 20, 220)).save(blue)
    plain = grid(state_dir, tmp_path, "plain", "a kite --ar 1:1")
    prompted = grid(state_dir, tmp_path, "prompted", "--image", str(red), "a kite --ar 1:1")
    styled = grid(state_dir, tmp_path, "styled", "--sref", f"{blue}::2", "a kite --ar 1:1 --sw 400")
    assert len({plain, prompted, styled}) == 3
    assert grid(state_dir, tmp_path, "again", "--sref", f"{blue}::2", "a kite --ar 1:1 --sw 400") == styled
    # --sw 0 turns the style reference off: the text-only grid again.
    assert grid(state_dir, tmp_path, "off", "--sref", str(blue), "a kite --ar 1:1 --sw 0") == plain


def test_a_missing_reference_file_exits_2_naming_it(state_dir, tmp_path):
    out = tmp_path / "x.png"
    result = run_generate(state_dir, "--sref", str(tmp_path / "nope.png"), "-o", str(out), "a kite")
    assert result.returncode == 2 and "nope.png" in result.stderr
    assert not out.exists()
