"""Part refs: what an image reference costs a grid, on the tiny engines, in-process.

A 4-image grid at 64 px and 4 steps (one torch thread) on the tiny SD engine: text only (the baseline),
with an image prompt (IP-Adapter, adapter 0), with --sref (adapter 1, the style blocks) and with --cref
(the IP-Adapter Plus, adapter 2); and on tiny-flux, text only against a FLUX Redux image prompt, a --cref
through the same Redux prior, and both in one job. The references are photo-like 256² images
(bench/grid_encode.py). Each variant runs once first (the adapter
or Redux prior loads on the first job that needs it: a one-off cost, excluded), then in rounds (every
variant once per round), the best round kept. "text only" is the warm engine, whose loaded adapters run
at scale 0 for a job without references (their image projections still run at each UNet call); "no
adapter loaded" is an engine no reference has touched. The image encoder's passes are counted per job:
a reference is encoded once per job, not once per image or step, so that cost does not grow with the
grid (the 4 images run in 4 chunks here, `max_batch=1`, the worst case).

How far a FLUX --cref moves the pixels: the mean squared difference (0-255 RGB) of a tiny-flux grid with a
solid red --cref against the text-only grid, and against the same grid with a solid blue --cref (random
weights: a size of effect and a check that the reference reaches the transformer, not a likeness).
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
    Variant("tiny-flux: --cref (FLUX Redux)", "tiny-flux", {"character_refs": [URL]}, {"character_images": 1},
            FLUX_TEXT),
    Variant("tiny-flux: image prompt + --cref (FLUX Redux)", "tiny-flux",
            {"image_urls": [URL], "character_refs": [URL]}, {"source_images": 1, "character_images": 1}, FLUX_TEXT),
)
RED, BLUE = (220, 30, 30), (20, 40, 200)


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


def flux_cref_differences() -> dict[str, float]:
    """Mean squared pixel difference of tiny-flux grids: a red --cref vs text only, and vs a blue --cref."""
    import numpy as np
    from PIL import Image

    from engines.registry import get_engine
    from midway.contract import GenerationSpec

    engine = get_engine("tiny-flux")
    spec = GenerationSpec(prompt="a lighthouse on a cliff at dusk", width=SIZE, height=SIZE, steps=STEPS,
                          n_images=IMAGES, seed=42)
    cref = spec.model_copy(update={"character_refs": [URL]})

    def grid(run_spec: GenerationSpec, colour: tuple[int, int, int] | None = None) -> Any:
        characters = [Image.new("RGB", (256, 256), colour)] if colour else []
        images = engine.run(run_spec, max_batch=1, character_images=characters)
        return np.stack([np.asarray(image.convert("RGB"), dtype=np.float64) for image in images])

    text, red, blue = grid(spec), grid(cref, RED), grid(cref, BLUE)
    return {"cref_vs_text": round(float(((red - text) ** 2).mean()), 1),
            "red_vs_blue": round(float(((red - blue) ** 2).mean()), 1)}


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


def summarise(measured: dict[str, dict[str, Any]], rounds: int,
              differences: dict[str, float] | None = None) -> PartResult:
    result = PartResult(name="refs", details={"variants": measured, "images": IMAGES, "size": SIZE,
                                              "steps": STEPS, "rounds": rounds, "flux_cref_mse": differences})
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
            "tiny-flux: image prompt (FLUX Redux)": "flux_redux", "tiny-flux: --cref (FLUX Redux)": "flux_cref",
            "tiny-flux: image prompt + --cref (FLUX Redux)": "flux_redux_cref"}
    result.figures = {f"refs_{key}_ratio_vs_text": ratio(measured[label]["seconds"],
                                                         measured[baselines[label]]["seconds"])
                      for label, key in slug.items() if label in measured}
    result.figures["refs_text_only_s"] = measured.get(TEXT, {}).get("seconds")
    if differences:
        result.rows.append(Row(f"{IMAGES} images, {SIZE}², {STEPS} steps: tiny-flux, red --cref vs text only",
                               f"MSE {differences['cref_vs_text']}", "mean squared pixel difference, 0-255 RGB"))
        result.rows.append(Row(f"{IMAGES} images, {SIZE}², {STEPS} steps: tiny-flux, red --cref vs blue --cref",
                               f"MSE {differences['red_vs_blue']}", "mean squared pixel difference, 0-255 RGB"))
        result.figures["refs_flux_cref_mse_vs_text"] = differences["cref_vs_text"]
        result.figures["refs_flux_cref_mse_red_vs_blue"] = differences["red_vs_blue"]
    result.notes.append(f"Best of {rounds} round(s) (each runs every variant once) after one warm-up job per"
                        f" variant, {THREADS} torch thread, the 4 images in 4 chunks (max_batch=1). Encoder passes:"
                        " forward calls of the image encoder in one job (IP-Adapter: the pipeline's CLIP vision"
                        " tower; Redux: its prior's SigLIP tower).")
    return result


def run(quick: bool) -> PartResult:
    rounds = 1 if quick else ROUNDS
    return summarise(measure(rounds), rounds, flux_cref_differences())
