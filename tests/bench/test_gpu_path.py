"""The GPU part's measuring code, run end to end on the CPU with tiny SD and SDXL pipelines, so the day
a GPU is lent it does not fail on a typo: the same plain-diffusers call, the same Midway engine with
channels_last and fused QKV (torch.compile is CUDA-only), the same figures."""

from __future__ import annotations

import pytest

from bench import gpu_speed
from bench.flops import Workload
from bench.report import PartResult

# A tiny grid's work, counted with torch.utils.flop_counter: ~4.4e-5 TFLOP per UNet pass at 64² and
# ~5.1e-4 per VAE decode. The CPU "peak" is a nominal figure for one core: this test checks the
# arithmetic path, not the value.
TINY_WORKLOADS = {kind: Workload(f"tiny {kind} 64² 2 steps CFG, 4 images", 64, 64, 4.4e-5, 5.1e-4, steps=2)
                  for kind in ("sd", "sdxl")}
FIGURES = ("grid_s", "speedup_vs_diffusers", "fraction_of_flop_bound", "diffusers_grid_s", "first_grid_s")


def build_tiny(kind: str, device: str, dtype):
    from engines.tiny.cache import BUILDERS

    pipe = BUILDERS[kind]().to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


CPU_RIG = gpu_speed.Rig(device="cpu", build=build_tiny, workloads=TINY_WORKLOADS, plain_dtypes={"fp32": "float32"},
                        engine_dtype="float32", compile=False, peak_tflops=0.05)


@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_the_gpu_measurement_runs_on_the_cpu_and_fills_every_figure(kind: str) -> None:
    result = PartResult(name="gpu")
    gpu_speed.measure_model(kind, quick=True, repeats=1, result=result, rig=CPU_RIG)
    prefix = gpu_speed.FIGURE_PREFIX[kind]
    assert set(result.figures) == {f"{prefix}_{figure}" for figure in FIGURES}
    for key, value in result.figures.items():
        assert isinstance(value, float) and value > 0, f"{key} = {value!r}"
    labels = [row.figure.split(": ", 1)[1] for row in result.rows]
    assert labels[:2] == ["plain diffusers fp32", "Midway engine"] and labels[2].startswith("FLOP bound")
    assert "no compile" in result.notes[0]


def test_sdxl_figures_carry_the_headline_keys() -> None:
    from bench.report import HEADLINE_KEYS

    gpu_keys = {key for key, part in HEADLINE_KEYS.items() if part == "gpu"}
    assert gpu_keys <= {f"sdxl_{figure}" for figure in FIGURES}


def test_a_failing_torch_compile_still_leaves_the_eager_figures_and_says_why() -> None:
    from dataclasses import replace

    result = PartResult(name="gpu")
    # On the CPU torch.compile is refused (engines.loading.apply_switches), as a GPU's broken compiler would fail.
    gpu_speed.measure_model("sd", quick=True, repeats=1, result=result, rig=replace(CPU_RIG, compile=True))
    prefix = gpu_speed.FIGURE_PREFIX["sd"]
    assert result.figures[f"{prefix}_grid_s"] > 0 and result.figures[f"{prefix}_speedup_vs_diffusers"] > 0
    assert "torch.compile (max-autotune) failed" in result.notes[0] and "CUDA-only" in result.notes[0]
    assert "no compile" in result.notes[1]
