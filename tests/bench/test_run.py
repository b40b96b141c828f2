"""`bench/run` and `midway bench` end to end, on the parts that are fast without a worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import HEADLINE_KEYS

ROOT = Path(__file__).resolve().parents[2]


def test_quick_grid_run_writes_every_key_and_a_results_section(tmp_path: Path) -> None:
    out, markdown = tmp_path / "results.json", tmp_path / "RESULTS.md"
    done = subprocess.run([str(ROOT / "bench" / "run"), "--quick", "--only", "grid", "--out", str(out),
                           "--markdown", str(markdown)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert set(HEADLINE_KEYS) <= set(results)
    assert results["grid_encode_ratio_vs_pillow_png"] > 0
    assert results["parts"]["grid"]["figures"]["cell_decode_ratio_vs_pillow"] > 0
    assert results["parts_run"] == ["grid"] and results["quick"] is True
    assert {"date", "command", "machine"} <= set(results) and results["machine"]["cpu_cores"] >= 1
    assert "Pillow PNG, default save (baseline)" in done.stdout
    text = markdown.read_text()
    assert "--only grid" in text and results["date"] in text


def test_midway_bench_runs_the_gpu_part_or_says_why_not(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    command = [sys.executable, "-m", "cli", "bench", "--quick", "--only", "gpu", "--out", str(out),
               "--markdown", str(tmp_path / "RESULTS.md")]
    # From another folder: `midway bench` must find bench/ on its own.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    if results["machine"]["gpus"]:
        assert results["sdxl_grid_s"] > 0
    else:
        for key in ("sdxl_grid_s", "sdxl_speedup_vs_diffusers", "sdxl_fraction_of_flop_bound"):
            assert results[key] is None and results["notes"][key] == "skipped: no CUDA"


def test_unknown_part_is_a_usage_error() -> None:
    done = subprocess.run([str(ROOT / "bench" / "run"), "--only", "grid,nonsense"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "nonsense" in done.stderr
