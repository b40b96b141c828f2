"""`midway generate` with image references: --image is an image prompt for imagine, --sref PATH[::W] a style
reference, --cref PATH[::W] / --oref PATH a character / omni one (tiny-flux: through FLUX Redux); each changes
the grid, the same references and seed give the same grid, a bad file or an engine without the adapter exits 2."""

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


def flux_grid(state_dir, tmp_path, name: str, *args: str) -> bytes:
    out = tmp_path / f"{name}.png"
    # --draft: tiny-flux's 2 draft steps, the cheapest grid that still shows the references.
    result = run_generate(state_dir, "--seed", "9", "--engine", "tiny-flux", "-o", str(out), *args,
                          "a knight --ar 1:1 --draft")
    assert result.returncode == 0, result.stderr
    return Image.open(out).tobytes()


def test_cref_and_oref_files_condition_a_flux_grid_through_redux(state_dir, tiny_flux, tmp_path):
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    Image.new("RGB", (64, 64), (220, 20, 20)).save(red)
    Image.new("RGB", (64, 64), (20, 20, 220)).save(blue)
    plain = flux_grid(state_dir, tmp_path, "plain")
    character = flux_grid(state_dir, tmp_path, "cref", "--cref", str(red))
    other = flux_grid(state_dir, tmp_path, "cref-blue", "--cref", str(blue))
    weighted = flux_grid(state_dir, tmp_path, "crefs", "--cref", f"{red}::3", "--cref", str(blue))
    omni = flux_grid(state_dir, tmp_path, "oref", "--oref", str(red))
    assert len({plain, character, other, weighted, omni}) == 5
    assert flux_grid(state_dir, tmp_path, "again", "--cref", str(red)) == character


def test_a_cref_on_an_engine_that_cannot_serve_it_exits_2_before_it_loads(state_dir, tmp_path):
    face = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (220, 20, 20)).save(face)
    out = tmp_path / "x.png"
    # unCLIP has neither a character adapter nor a Redux prior.
    result = run_generate(state_dir, "--engine", "tiny-unclip", "--cref", str(face), "-o", str(out), "a knight")
    assert result.returncode == 2 and "`--cref`" in result.stderr and "`tiny-unclip`" in result.stderr
    assert not out.exists()
    result = run_generate(state_dir, "--engine", "tiny-flux", "--oref", f"{face}::2", "-o", str(out), "a knight")
    assert result.returncode == 2 and "--oref" in result.stderr and "::weight" in result.stderr
