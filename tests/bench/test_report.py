"""results.json and RESULTS.md: every headline key present, unmeasured ones null with a reason."""

from __future__ import annotations

from pathlib import Path

from bench.report import (
    HEADLINE_KEYS,
    PartResult,
    Row,
    build_results,
    markdown_section,
    section_key,
    skipped,
    table_lines,
    update_markdown,
)
from bench.stats import percentile, ratio, summary_ms

MACHINE = {"label": "CPU only: test, 2 cores", "cpu": "test", "cpu_cores": 2, "memory_gib": 4.0,
           "gpus": [], "python": "3.11"}


def grid_part() -> PartResult:
    return PartResult(name="grid", figures={"grid_encode_ratio_vs_pillow_png": 0.45},
                      rows=[Row("grid", "400 ms", "x0.45")], notes=["a note"])


def test_every_headline_key_is_present_and_unmeasured_ones_say_why() -> None:
    parts = [grid_part(), skipped("gpu", "skipped: no CUDA")]
    results = build_results(parts, command="bench/run --only grid,gpu", quick=True, machine=MACHINE)
    assert set(HEADLINE_KEYS) <= set(results)
    assert results["grid_encode_ratio_vs_pillow_png"] == 0.45
    assert results["sdxl_grid_s"] is None
    assert results["notes"]["sdxl_grid_s"] == "skipped: no CUDA"
    assert "not selected" in results["notes"]["ack_p99_ms"]
    assert "grid_encode_ratio_vs_pillow_png" not in results["notes"]
    assert results["command"] == "bench/run --only grid,gpu" and results["machine"] == MACHINE


def test_markdown_section_is_replaced_not_duplicated(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text("# Midway benchmarks\n\nHand-written intro stays.\n")
    first = build_results([grid_part()], command="bench/run --quick", quick=True, machine=MACHINE)
    update_markdown(path, section_key(first), markdown_section(first, [grid_part()]))
    faster = grid_part()
    faster.rows = [Row("grid", "300 ms", "x0.33")]
    second = build_results([faster], command="bench/run --quick", quick=True, machine=MACHINE)
    update_markdown(path, section_key(second), markdown_section(second, [faster]))
    text = path.read_text()
    assert "Hand-written intro stays." in text
    assert text.count("## CPU only: test, 2 cores") == 1
    assert "300 ms" in text and "400 ms" not in text
    # A full run on the same machine gets its own section beside the quick one.
    full = build_results([grid_part()], command="bench/run", quick=False, machine=MACHINE)
    update_markdown(path, section_key(full), markdown_section(full, [grid_part()]))
    assert path.read_text().count("## CPU only: test, 2 cores") == 2


def test_table_lists_skipped_parts_with_their_reason() -> None:
    lines = table_lines([grid_part(), skipped("gpu", "skipped: no CUDA")])
    assert any("skipped: no CUDA" in line for line in lines)
    assert any("400 ms" in line for line in lines)


def test_percentiles_interpolate_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.5
    assert percentile(values, 99) == 99.01
    assert percentile([3.0], 99) == 3.0
    assert summary_ms([0.1, 0.2, 0.3]) == {"n": 3, "p50_ms": 200.0, "p99_ms": 298.0, "max_ms": 300.0}


def test_ratio_is_none_when_a_side_is_missing() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(None, 4.0) is None and ratio(1.0, 0.0) is None
