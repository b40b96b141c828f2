"""Part 5: GPU engine speed. Real-architecture SD 1.5 (512²) and SDXL (1024²), 30 steps with CFG,
4-image grids, random weights: plain diffusers defaults vs Midway's engine, in the same run, and the
fraction of the FLOP bound (bench/flops.py). Skips cleanly without CUDA.

(a) Plain diffusers: the pipeline class as `from_pretrained` would build it, moved to the GPU in
    fp16 (and bf16 in a full run), called with `num_images_per_prompt=4`.
(b) Midway: the same modules in bf16 through engines.loading.optimise (channels_last, fused QKV,
    torch.compile max-autotune, which captures CUDA graphs) and the engine's own `run`, batched CFG.
Both use the same Euler scheduler, prompt, size and step count, and end with PIL images.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.flops import PEAK_TFLOPS, WORKLOADS, flop_bound_s
from bench.report import PartResult, PartUnavailable, Row

# engines.random_weights kind -> the prefix of its results.json keys.
FIGURE_PREFIX = {"sdxl": "sdxl", "sd": "sd15"}
PROMPT = "a red fox in fresh snow at golden hour, 35mm photograph"
GUIDANCE = 7.0


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def time_call(call: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(seconds of the first call, which pays compilation and autotuning; median of the next repeats)."""
    import torch

    durations = []
    for _ in range(1 + max(1, repeats)):
        torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        torch.cuda.synchronize()
        durations.append(time.perf_counter() - start)
    return durations[0], statistics.median(durations[1:])


def build_on_gpu(kind: str, dtype: Any) -> Any:
    from engines.random_weights import build_pipeline

    return build_pipeline(kind, device="cuda", dtype=dtype)


def plain_diffusers(kind: str, dtype: Any, repeats: int) -> tuple[float, float]:
    workload = WORKLOADS[kind]
    pipe = build_on_gpu(kind, dtype)
    return time_call(lambda: pipe(prompt=PROMPT, num_images_per_prompt=workload.images,
                                  num_inference_steps=workload.steps, guidance_scale=GUIDANCE,
                                  width=workload.width, height=workload.height), repeats)


def midway_engine(kind: str, repeats: int) -> tuple[float, float]:
    import torch

    from engines.catalogue import EngineEntry
    from engines.loading import optimise, set_scheduler
    from engines.stable_diffusion import StableDiffusionEngine, StableDiffusionXLEngine
    from midway.contract import GenerationSpec

    workload = WORKLOADS[kind]
    # Every GPU switch on: the catalogue entry a GPU deployment should use.
    entry = EngineEntry(name=f"bench-{kind}", kind=kind, family=kind, model="random weights",
                        dtype="bfloat16", base_width=workload.width, base_height=workload.height,
                        steps=workload.steps, guidance=GUIDANCE, scheduler="euler",
                        channels_last=True, fuse_qkv=True, compile=True)
    device = torch.device("cuda")
    pipe = build_on_gpu(kind, torch.bfloat16)
    set_scheduler(pipe, entry.scheduler)
    pipe = optimise(pipe, entry, device)
    engine_class = StableDiffusionXLEngine if kind == "sdxl" else StableDiffusionEngine
    engine = engine_class(entry, pipe, device, torch.bfloat16)
    spec = GenerationSpec(prompt=PROMPT, width=workload.width, height=workload.height, steps=workload.steps,
                          guidance=GUIDANCE, n_images=workload.images, seed=1)
    return time_call(lambda: engine.run(spec), repeats)


def free_gpu() -> None:
    """Drop the previous pipeline's memory and compiled graphs before building the next one."""
    import torch

    gc.collect()
    torch.cuda.empty_cache()
    torch._dynamo.reset()


def measure_model(kind: str, quick: bool, repeats: int, result: PartResult) -> None:
    import torch

    workload = WORKLOADS[kind]
    name = FIGURE_PREFIX[kind]
    plain: dict[str, tuple[float, float]] = {}
    dtypes = {"fp16": torch.float16} if quick else {"fp16": torch.float16, "bf16": torch.bfloat16}
    for dtype_name, dtype in dtypes.items():
        plain[dtype_name] = plain_diffusers(kind, dtype, repeats)
        free_gpu()
    first_s, midway_s = midway_engine(kind, repeats)
    free_gpu()
    baseline_dtype = min(plain, key=lambda dtype: plain[dtype][1])
    baseline_s = plain[baseline_dtype][1]
    bound_s = flop_bound_s(workload)
    result.figures.update({
        f"{name}_grid_s": round(midway_s, 3),
        f"{name}_speedup_vs_diffusers": round(baseline_s / midway_s, 3),
        f"{name}_fraction_of_flop_bound": round(bound_s / midway_s, 3),
        f"{name}_diffusers_grid_s": round(baseline_s, 3),
        f"{name}_first_grid_s": round(first_s, 1),
    })
    for dtype, (_, seconds) in plain.items():
        result.rows.append(Row(f"{workload.name}: plain diffusers {dtype}", f"{seconds:.3f} s/grid"))
    result.rows.append(Row(f"{workload.name}: Midway engine", f"{midway_s:.3f} s/grid",
                           f"x{baseline_s / midway_s:.2f} vs plain diffusers {baseline_dtype}"))
    result.rows.append(Row(f"{workload.name}: FLOP bound ({workload.grid_tflop:.0f} TFLOP"
                           f" at {PEAK_TFLOPS:.0f} TFLOP/s)", f"{bound_s:.3f} s/grid",
                           f"Midway reaches {bound_s / midway_s:.1%} of it"))
    result.notes.append(f"{name}: the first Midway grid took {first_s:.1f} s (torch.compile max-autotune"
                        " and CUDA-graph capture); the figures are the median of the following grids.")


def run(quick: bool) -> PartResult:
    if not cuda_available():
        raise PartUnavailable("no CUDA")
    import torch

    result = PartResult(name="gpu", details={"device": torch.cuda.get_device_name(0),
                                             "torch": torch.__version__, "peak_tflops": PEAK_TFLOPS})
    # SDXL first: it carries the headline keys; the quick run measures only it.
    for kind in ("sdxl",) if quick else ("sdxl", "sd"):
        measure_model(kind, quick, repeats=1 if quick else 3, result=result)
    return result
