"""Part refs: what an image reference costs a grid, on the tiny engines, in-process.

A 4-image grid at 64 px and 4 steps (one torch thread) on the tiny SD engine: text only (the baseline),
with an image prompt (IP-Adapter, adapter 0), with --sref (adapter 1, the style blocks) and with --cref
(the IP-Adapter Plus, adapter 2); and on tiny-flux, text only against a FLUX Redux image prompt. The
references are photo-like 256² images (bench/grid_encode.py). Each variant runs once first (the adapter
or Redux prior loads on the first job that needs it: a one-off cost, excluded), then in rounds (every
variant once per round), the best round kept. "text only" is the warm engine, whose loaded adapters run
at scale 0 for a job without references (their image projections still run at each UNet call); "no
adapter loaded" is an engine no reference has touched. The image encoder's passes are counted per job:
a reference is encoded once per job, not once per image or step, so that cost does not grow with the
grid (the 4 images run in 4 chunks here, `max_batch=1`, the worst case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.grid_encode import photo_like_cell
from bench.report import PartResult, Row
from bench.stats import best_of, ratio

IMAGES, SIZE, STEPS, THREADS = 4, 64, 4, 1
ROUNDS = 7
URL = "https://example.com/ref.png"


@dataclass(frozen=True)
class Variant:
    label: str
    engine: str
    spec: dict[str, Any] = field(default_factory=dict)
    # engine.run's keyword -> how many reference images it gets.
    images: dict[str, int] = field(default_factory=dict)
    baseline: str = ""  # the label this one is compared with; empty: it is a baseline
    fresh: bool = False  # on an engine of its own, whose adapters no job has loaded


TEXT, FLUX_TEXT = "tiny: text only (baseline)", "tiny-flux: text only (baseline)"
VARIANTS = (
    # Once an engine's IP-Adapters are loaded, its text-only jobs run them at scale 0 (image_adapter.py).
    Variant("tiny: text only, no adapter loaded", "tiny", baseline=TEXT, fresh=True),
    Variant(TEXT, "tiny"),
    Variant("tiny: image prompt (IP-Adapter)", "tiny", {"image_urls": [URL]}, {"source_images": 1}, TEXT),
    Variant("tiny: --sref (IP-Adapter, style blocks)", "tiny", {"style_refs": [URL]}, {"style_images": 1}, TEXT),
    Variant("tiny: --cref (IP-Adapter Plus)", "tiny", {"character_refs": [URL]}, {"character_images": 1}, TEXT),
    Variant("tiny: --sref + --cref", "tiny", {"style_refs": [URL], "character_refs": [URL]},
            {"style_images": 1, "character_images": 1}, TEXT),
    Variant(FLUX_TEXT, "tiny-flux"),
    Variant("tiny-flux: image prompt (FLUX Redux)", "tiny-flux", {"image_urls": [URL]}, {"source_images": 1},
            FLUX_TEXT),
)


def job(variant: Variant) -> Callable[[], Any]:
    """One grid of `variant` on its engine (loaded once, kept by the registry; `fresh`: an engine of its own)."""
    from engines.registry import get_engine, load_engine
    from midway.catalogue import load_catalogue
    from midway.contract import GenerationSpec

    engine = load_engine(load_catalogue().get(variant.engine)) if variant.fresh else get_engine(variant.engine)
    spec = GenerationSpec(prompt="a lighthouse on a cliff at dusk", width=SIZE, height=SIZE, steps=STEPS,
                          n_images=IMAGES, seed=42, **variant.spec)
    kwargs = {name: [photo_like_cell(seed, 256) for seed in range(count)] for name, count in variant.images.items()}
    return lambda: engine.run(spec, max_batch=1, **kwargs)


def encoder_passes(variant: Variant, run_job: Callable[[], Any]) -> int | None:
    """How many times one job calls the engine's image encoder (None: an engine without one loaded)."""
    from engines.registry import get_engine

    engine = get_engine(variant.engine)
    # The IP-Adapter's CLIP vision tower sits on the pipeline; Redux's SigLIP one on its prior pipeline.
    redux = getattr(engine, "redux", None)
    owner = redux.pipe if redux is not None else engine.pipe
    encoder = getattr(owner, "image_encoder", None)
    if encoder is None or not variant.images:
        return None
    calls: list[int] = []
    hook = encoder.register_forward_hook(lambda _module, _args, _output: calls.append(1))
    try:
        run_job()
    finally:
        hook.remove()
    return len(calls)


def measure(rounds: int) -> dict[str, dict[str, Any]]:
    """Label -> {seconds (best of `rounds` rounds after a warm-up job), encoder_passes (per job, or None)}.
    Each round runs every variant once, so a change in the shared machine's load hits them all alike."""
    import torch

    torch.set_num_threads(THREADS)
    jobs = {variant.label: job(variant) for variant in VARIANTS}
    for run_job in jobs.values():
        run_job()  # loads the adapters / Redux prior: a once-per-worker cost
    times: dict[str, list[float]] = {label: [] for label in jobs}
    for _ in range(rounds):
        for label, run_job in jobs.items():
            times[label].append(best_of(run_job, 1)[0])
    return {variant.label: {"seconds": round(min(times[variant.label]), 4),
                            "encoder_passes": encoder_passes(variant, jobs[variant.label])} for variant in VARIANTS}


def summarise(measured: dict[str, dict[str, Any]], rounds: int) -> PartResult:
    result = PartResult(name="refs", details={"variants": measured, "images": IMAGES, "size": SIZE,
                                              "steps": STEPS, "rounds": rounds})
    baselines = {variant.label: variant.baseline for variant in VARIANTS}
    for label, row in measured.items():
        baseline = baselines.get(label, "")
        passes = row.get("encoder_passes")
        versus = f"x{ratio(row['seconds'], measured[baseline]['seconds'])} vs text only" if baseline else "baseline"
        if passes is not None:
            versus += f"; image encoder passes per job: {passes}"
        result.rows.append(Row(f"{IMAGES} images, {SIZE}², {STEPS} steps: {label}", f"{row['seconds']:.3f} s", versus))
    slug = {"tiny: text only, no adapter loaded": "unloaded",
            "tiny: image prompt (IP-Adapter)": "image_prompt", "tiny: --sref (IP-Adapter, style blocks)": "sref",
            "tiny: --cref (IP-Adapter Plus)": "cref", "tiny: --sref + --cref": "sref_cref",
            "tiny-flux: image prompt (FLUX Redux)": "flux_redux"}
    result.figures = {f"refs_{key}_ratio_vs_text": ratio(measured[label]["seconds"],
                                                         measured[baselines[label]]["seconds"])
                      for label, key in slug.items() if label in measured}
    result.figures["refs_text_only_s"] = measured.get(TEXT, {}).get("seconds")
    result.notes.append(f"Best of {rounds} round(s) (each runs every variant once) after one warm-up job per"
                        f" variant, {THREADS} torch thread, the 4 images in 4 chunks (max_batch=1). Encoder passes:"
                        " forward calls of the image encoder in one job (IP-Adapter: the pipeline's CLIP vision"
                        " tower; Redux: its prior's SigLIP tower).")
    return result


def run(quick: bool) -> PartResult:
    rounds = 1 if quick else ROUNDS
    return summarise(measure(rounds), rounds)
