"""Collect the parts' figures, print them, and write bench/results.json and a section of RESULTS.md.

Every part returns a PartResult. The headline keys below are always present in results.json: a part
that did not run (not selected, no CUDA, a component missing) leaves its keys null and says why in
`notes`, so a reader never mistakes a missing figure for a measured one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Headline key -> the part that measures it.
HEADLINE_KEYS: dict[str, str] = {
    "service_overhead_ratio": "overhead",
    "ack_p99_ms": "ack",
    "ack_p99_ratio_vs_bare": "ack",
    "fairness_small_user_wait_s": "fairness",
    "grid_encode_ratio_vs_pillow_png": "grid",
    "sdxl_grid_s": "gpu",
    "sdxl_speedup_vs_diffusers": "gpu",
    "sdxl_fraction_of_flop_bound": "gpu",
    "scale_duplicates": "scale",
    "scale_lost": "scale",
    "refs_sref_ratio_vs_text": "refs",
    "refs_cref_ratio_vs_text": "refs",
}
PARTS: tuple[str, ...] = ("overhead", "ack", "fairness", "grid", "gpu", "scale", "refs")

MARKDOWN_INTRO = """# Midway benchmarks

Written by `bench/run` (or `midway bench`): `bench/run [--quick] [--only overhead,ack,fairness,grid,gpu,scale,refs]`.
One section per machine, mode and set of parts, replaced on each run; the last run's raw figures are
in `bench/results.json`. Every figure is either a ratio against a baseline measured in the same run
on the same machine, or an absolute time on a GPU. A part that could not run says why.

- **overhead**: `/imagine` in the playground emulator -> grid message posted, through the real bot,
  Redis and a `midway worker` subprocess (tiny engine, 256², 8 steps, 4 images, one torch thread),
  versus `engine.run` of the same spec and seed in-process; medians of interleaved pairs.
- **ack**: N concurrent `/imagine` from distinct users; time to the interaction callback, Midway bot
  versus a bare discord.py bot that answers at once, same emulator, same event loop.
- **fairness**: one user queues 20 jobs (8 in `--quick`), then 5 users queue 1 each; each light
  user's wait for its result with Midway's fair queue versus plain FIFO.
- **grid**: compose + encode a 2x2 grid of 1024² photo-like cells, versus Pillow's default PNG save.
- **gpu**: real-architecture SD 1.5 / SDXL with random weights, plain diffusers versus Midway's
  engine, and the fraction of the FLOP bound (bench/flops.py); skipped without CUDA.
- **scale**: 200 `/imagine` (40 in `--quick`) over 4 shards, one guild each, through real `midway bot`
  processes: 1 process holding the 4 shards, 2 holding 2 each, and 2 with one SIGKILLed a quarter of the
  way through the results; results posted (duplicates, lost) and the acknowledgement p99 (bench/scale.py).
- **refs**: a 4-image grid (64², 4 steps, one thread) on the tiny SD engine with no reference, an image
  prompt, `--sref`, `--cref`, and on tiny-flux without and with a Redux image prompt, a Redux `--cref` and
  both; seconds, the ratio to text only, and the image encoder's passes per job (once per reference kind per
  job, not per image or step; FLUX Redux: one pass for all of a job's references); and the mean squared pixel
  difference of a tiny-flux `--cref` grid vs text only and red vs blue reference.

CPU figures from a small shared machine are noisy (other processes compete for the cores); the
ratios are measured in one run so both sides see the same machine.
"""


class PartUnavailable(RuntimeError):
    """Raised by a part that cannot run here (no CUDA, a component not built yet); not a failure."""


@dataclass
class Row:
    """One line of the printed table: what was measured, its value, and what it compares against."""

    figure: str
    value: str
    versus: str = ""


@dataclass
class PartResult:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # Why the part produced no figures ("skipped: no CUDA"); None when it ran.
    skipped: str | None = None
    seconds: float = 0.0


def skipped(name: str, reason: str) -> PartResult:
    return PartResult(name=name, skipped=reason)


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on. Cheap: no torch import (nvidia-smi answers for the GPU)."""
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "gpus": _gpus(),
    }
    info["label"] = machine_label(info)
    return info


def machine_label(info: dict[str, Any]) -> str:
    if info.get("gpus"):
        return f"{info['gpus'][0]} (x{len(info['gpus'])}), {info['cpu_cores']} CPU cores"
    return f"CPU only: {info['cpu']}, {info['cpu_cores']} cores"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def build_results(parts: list[PartResult], *, command: str, quick: bool,
                  machine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results.json document: metadata, the headline keys (null + a note when unmeasured), parts."""
    by_name = {part.name: part for part in parts}
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "quick": quick,
        "machine": machine or machine_info(),
        "parts_run": [part.name for part in parts],
    }
    notes: dict[str, str] = {}
    for key, part_name in HEADLINE_KEYS.items():
        part = by_name.get(part_name)
        value = None if part is None else part.figures.get(key)
        results[key] = value
        if value is None:
            if part is None:
                notes[key] = f"not run: part {part_name!r} was not selected"
            else:
                notes[key] = part.skipped or f"not measured by part {part_name!r}"
    results["notes"] = notes
    results["parts"] = {part.name: asdict(part) for part in parts}
    return results


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def table_lines(parts: list[PartResult]) -> list[str]:
    """The console table: part | figure | value | versus."""
    rows = [("part", "figure", "value", "versus")]
    for part in parts:
        if part.skipped:
            rows.append((part.name, "-", part.skipped, ""))
        for row in part.rows:
            rows.append((part.name, row.figure, row.value, row.versus))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def markdown_section(results: dict[str, Any], parts: list[PartResult]) -> str:
    machine = results["machine"]
    lines = [
        f"## {machine['label']} — {'quick' if results['quick'] else 'full'} run"
        f" ({', '.join(results['parts_run'])})",
        "",
        f"- Date: {results['date']}",
        f"- Command: `{results['command']}`",
        f"- Machine: {machine['cpu']}, {machine['cpu_cores']} cores, {machine['memory_gib']} GiB,"
        f" GPUs: {', '.join(machine['gpus']) or 'none'}; Python {machine['python']}",
        "",
        "| part | figure | value | versus |",
        "|---|---|---|---|",
    ]
    for part in parts:
        if part.skipped:
            lines.append(f"| {part.name} | — | {part.skipped} | |")
        for row in part.rows:
            lines.append(f"| {part.name} | {row.figure} | {row.value} | {row.versus} |")
    notes = [f"- **{part.name}**: {note}" for part in parts for note in part.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def section_key(results: dict[str, Any]) -> str:
    mode = "quick" if results["quick"] else "full"
    raw = f"{results['machine']['label']}|{mode}|{','.join(results['parts_run'])}"
    return re.sub(r"[^A-Za-z0-9|,._-]+", "-", raw)


def update_markdown(path: Path, key: str, section: str) -> None:
    """Replace the section with this key (same machine, mode and parts), or append it."""
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{begin}\n{section}{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else MARKDOWN_INTRO
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
