"""Part 5: GPU engine speed. Real-architecture SD 1.5 (512²) and SDXL (1024²), 30 steps with CFG,
4-image grids, random weights: plain diffusers defaults vs Midway's engine, in the same run, and the
fraction of the FLOP bound (bench/flops.py). Skips cleanly without CUDA.

(a) Plain diffusers: the pipeline class as `from_pretrained` would build it, moved to the GPU in
    fp16 (and bf16 in a full run), called with `num_images_per_prompt=4`.
(b) Midway: the same modules in bf16 through engines.loading.optimise (channels_last, fused QKV,
    torch.compile: max-autotune, which also captures CUDA graphs, in a full run; "default" in a quick
    one) and the engine's own `run`, batched CFG.
Both use the same Euler scheduler, prompt, size and step count, and end with PIL images.
The measuring code takes a Rig (device, pipeline builder, workloads, dtypes): tests/bench/test_gpu_path.py
runs it on the CPU with tiny pipelines; bench/gpu_session.sh runs it on a lent GPU.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bench.flops import PEAK_TFLOPS, WORKLOADS, Workload, flop_bound_s
from bench.report import PartResult, PartUnavailable, Row

# engines.tiny.real_size kind -> the prefix of its results.json keys.
FIGURE_PREFIX = {"sdxl": "sdxl", "sd": "sd15"}
PROMPT = "a red fox in fresh snow at golden hour, 35mm photograph"
GUIDANCE = 7.0


def build_random_weights(kind: str, device: str, dtype: Any) -> Any:
    from engines.tiny.real_size import build_pipeline

    return build_pipeline(kind, device=device, dtype=dtype)


@dataclass(frozen=True)
class Rig:
    """What the part measures on. The defaults are the GPU run; tests swap in tiny pipelines, a small
    workload and float32 to prove the same code path on the CPU."""

    device: str = "cuda"
    # (kind, device, dtype) -> a pipeline of that kind on the device, progress bar off.
    build: Callable[[str, str, Any], Any] = build_random_weights
    workloads: Mapping[str, Workload] = field(default_factory=lambda: WORKLOADS)
    # Plain diffusers runs in each (a quick run in the first only); the fastest is the baseline.
    plain_dtypes: Mapping[str, str] = field(default_factory=lambda: {"fp16": "float16", "bf16": "bfloat16"})
    engine_dtype: str = "bfloat16"
    # torch.compile is CUDA-only (engines.loading.apply_switches).
    compile: bool = True
    # A quick run compiles in "default" mode: max-autotune's minutes of autotuning would not fit a
    # lent GPU's 10-minute command limit (bench/gpu_session.sh); the full run measures max-autotune.
    compile_mode: str = "max-autotune"
    peak_tflops: float = PEAK_TFLOPS


GPU = Rig()


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def synchronize(device: Any) -> None:
    """Wait for queued kernels: CUDA calls return before the GPU is done. A no-op elsewhere."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(call: Callable[[], Any], repeats: int, device: Any = "cuda") -> tuple[float, float]:
    """(seconds of the first call, which pays compilation and autotuning; median of the next repeats)."""
    durations = []
    for _ in range(1 + max(1, repeats)):
        synchronize(device)
        start = time.perf_counter()
        call()
        synchronize(device)
        durations.append(time.perf_counter() - start)
    return durations[0], statistics.median(durations[1:])


def plain_diffusers(kind: str, dtype: Any, repeats: int, rig: Rig = GPU) -> tuple[float, float]:
    workload = rig.workloads[kind]
    pipe = rig.build(kind, rig.device, dtype)
    return time_call(lambda: pipe(prompt=PROMPT, num_images_per_prompt=workload.images,
                                  num_inference_steps=workload.steps, guidance_scale=GUIDANCE,
                                  width=workload.width, height=workload.height), repeats, rig.device)


def midway_engine(kind: str, repeats: int, rig: Rig = GPU) -> tuple[float, float]:
    import torch

    from engines.loading import apply_switches, optimise, set_scheduler
    from engines.stable_diffusion import StableDiffusionEngine, StableDiffusionXLEngine
    from midway.catalogue import EngineEntry
    from midway.contract import GenerationSpec

    workload = rig.workloads[kind]
    # Every GPU switch on: the catalogue entry a GPU deployment should use.
    entry = EngineEntry(name=f"bench-{kind}", kind=kind, family=kind, model="random weights",
                        dtype=rig.engine_dtype, base_width=workload.width, base_height=workload.height,
                        steps=workload.steps, guidance=GUIDANCE, scheduler="euler",
                        channels_last=True, fuse_qkv=True, compile=rig.compile, compile_mode=rig.compile_mode)
    device, dtype = torch.device(rig.device), getattr(torch, rig.engine_dtype)
    pipe = rig.build(kind, rig.device, dtype)
    set_scheduler(pipe, entry.scheduler)
    # The production path on CUDA; elsewhere optimise would skip the switches, which this run is to exercise
    # (and asking for torch.compile there fails as it would on a GPU whose compiler does not work).
    pipe = optimise(pipe, entry, device) if device.type == "cuda" else apply_switches(pipe, entry, compile=rig.compile)
    engine_class = StableDiffusionXLEngine if kind == "sdxl" else StableDiffusionEngine
    engine = engine_class(entry, pipe, device, dtype)
    spec = GenerationSpec(prompt=PROMPT, width=workload.width, height=workload.height, steps=workload.steps,
                          guidance=GUIDANCE, n_images=workload.images, seed=1)
    return time_call(lambda: engine.run(spec), repeats, rig.device)


def free_memory(device: Any) -> None:
    """Drop the previous pipeline's memory and compiled graphs before building the next one."""
    import torch

    gc.collect()
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()
    torch._dynamo.reset()


def significant(value: float, digits: int = 3) -> float:
    """A fraction of the bound far below 1 (a small GPU, or a CPU check) keeps its digits."""
    return float(f"{value:.{digits}g}")


def measure_model(kind: str, quick: bool, repeats: int, result: PartResult, rig: Rig = GPU) -> None:
    import torch

    workload = rig.workloads[kind]
    name = FIGURE_PREFIX[kind]
    plain: dict[str, tuple[float, float]] = {}
    dtypes = dict(list(rig.plain_dtypes.items())[:1]) if quick else dict(rig.plain_dtypes)
    for dtype_name, dtype in dtypes.items():
        plain[dtype_name] = plain_diffusers(kind, getattr(torch, dtype), repeats, rig)
        free_memory(rig.device)
    try:
        first_s, midway_s = midway_engine(kind, repeats, rig)
    except Exception as error:
        if not rig.compile:
            raise
        # A GPU is lent for minutes: a compiler that fails there (no Triton, a graph break) must still
        # leave the eager figures and say why, rather than none at all.
        free_memory(rig.device)
        result.notes.append(f"{name}: torch.compile ({rig.compile_mode}) failed, so Midway's figures are"
                            f" without it: {type(error).__name__}: {str(error)[:300]}")
        rig = replace(rig, compile=False)
        first_s, midway_s = midway_engine(kind, repeats, rig)
    free_memory(rig.device)
    baseline_dtype = min(plain, key=lambda dtype: plain[dtype][1])
    baseline_s = plain[baseline_dtype][1]
    bound_s = flop_bound_s(workload, rig.peak_tflops)
    result.figures.update({
        f"{name}_grid_s": round(midway_s, 3),
        f"{name}_speedup_vs_diffusers": round(baseline_s / midway_s, 3),
        f"{name}_fraction_of_flop_bound": significant(bound_s / midway_s),
        f"{name}_diffusers_grid_s": round(baseline_s, 3),
        f"{name}_first_grid_s": significant(first_s),
    })
    for dtype, (_, seconds) in plain.items():
        result.rows.append(Row(f"{workload.name}: plain diffusers {dtype}", f"{seconds:.3f} s/grid"))
    result.rows.append(Row(f"{workload.name}: Midway engine", f"{midway_s:.3f} s/grid",
                           f"x{baseline_s / midway_s:.2f} vs plain diffusers {baseline_dtype}"))
    result.rows.append(Row(f"{workload.name}: FLOP bound ({workload.grid_tflop:.0f} TFLOP"
                           f" at {rig.peak_tflops:.0f} TFLOP/s)", f"{bound_s:.3f} s/grid",
                           f"Midway reaches {bound_s / midway_s:.1%} of it"))
    compiled = f"torch.compile mode {rig.compile_mode}" if rig.compile else "warm-up, no compile"
    result.notes.append(f"{name}: the first Midway grid took {first_s:.1f} s ({compiled});"
                        " the figures are the median of the following grids.")


def run(quick: bool) -> PartResult:
    if not cuda_available():
        raise PartUnavailable("no CUDA")
    import torch

    result = PartResult(name="gpu", details={"device": torch.cuda.get_device_name(0),
                                             "torch": torch.__version__, "peak_tflops": PEAK_TFLOPS})
    rig = replace(GPU, compile_mode="default") if quick else GPU
    result.details["compile_mode"] = rig.compile_mode
    # SDXL first: it carries the headline keys; the quick run measures only it.
    for kind in ("sdxl",) if quick else ("sdxl", "sd"):
        measure_model(kind, quick, repeats=1 if quick else 3, result=result, rig=rig)
    return result
