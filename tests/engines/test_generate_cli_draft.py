"""`midway generate --draft` / `--draft` in the prompt, and `midway submit`'s parse of it."""

from __future__ import annotations

from PIL import Image

from cli.commands.submit import parse
from midway.contract import Lane
from midway.settings import Settings

from .test_generate_cli import run_generate


def test_generate_draft_flag_and_prompt_parameter_both_draft(state_dir, tiny, tmp_path):
    out = tmp_path / "draft.png"
    result = run_generate(state_dir, "--draft", "--seed", "5", "-o", str(out), "a red fox")
    assert result.returncode == 0, result.stderr
    assert "engine tiny  imagine  draft  512x512" in result.stdout
    assert Image.open(out).size == (512, 512)
    result = run_generate(state_dir, "--seed", "5", "-o", str(tmp_path / "typed.png"), "a red fox --draft")
    assert result.returncode == 0 and "imagine  draft" in result.stdout
    assert Image.open(tmp_path / "typed.png").tobytes() == Image.open(out).tobytes()


def test_generate_draft_on_an_engine_without_drafts_exits_2_naming_it(state_dir, tmp_path):
    result = run_generate(state_dir, "--engine", "sdxl-turbo", "--draft", "-o", str(tmp_path / "x.png"), "a fox")
    assert result.returncode == 2 and "`sdxl-turbo` has no draft mode" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_submit_queues_an_sdxl_draft_on_sdxl_turbo():
    specs = parse("a fox --draft", "sdxl", Lane.fast, Settings())
    assert [(spec.engine, spec.draft) for spec in specs] == [("sdxl-turbo", True)]
    assert parse("a fox", "sdxl", Lane.fast, Settings())[0].engine == "sdxl"
