"""Engines by name: each is loaded once per process and then reused by every job.

A worker keeps its pipelines resident; `load_count` lets tests prove a second job did not reload.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engines.base import Engine
from midway.catalogue import Catalogue, EngineEntry, load_catalogue
from midway.loras import LoraEntry

if TYPE_CHECKING:
    from engines.diffusion import DiffusionEngine

# Everything that imports torch, diffusers or the tiny builders is imported inside the loaders below, not
# here: the worker and the command line import this module to name engines before any is loaded.

_engines: dict[str, Engine] = {}
_loads: Counter[str] = Counter()
_lock = threading.Lock()


def get_engine(name: str, catalogue: Catalogue | None = None) -> Engine:
    """The loaded engine `name` (EngineNotFound / EngineError with a clear message otherwise)."""
    with _lock:
        if name not in _engines:
            catalogue = catalogue or load_catalogue()
            _engines[name] = load_engine(catalogue.get(name), catalogue.loras)
            _loads[name] += 1
        return _engines[name]


def load_count(name: str) -> int:
    return _loads[name]


def unload(name: str | None = None) -> None:
    """Forget one loaded engine (or all), e.g. when a worker is told to free its GPU."""
    with _lock:
        for key in [name] if name else list(_engines):
            _engines.pop(key, None)


def load_engine(entry: EngineEntry, loras: Mapping[str, LoraEntry] | None = None) -> Engine:
    """Build the engine of a catalogue entry through diffusers' `from_pretrained`/`from_single_file`;
    `loras` are the catalogue's `[loras]`, which its jobs may name (each loaded on first use)."""
    from engines.loading import pick_device, pick_dtype

    device = pick_device()
    dtype = pick_dtype(entry, device)
    if entry.family == "caption":
        return _load_caption(entry, device, dtype)
    engine = _load_unclip(entry, device, dtype) if entry.family == "unclip" else _load_latent(entry, device, dtype)
    tiny_upscaler = _tiny_upscaler(entry)
    if tiny_upscaler is not None:
        engine.upscaler_source = tiny_upscaler
    from engines.latent import LatentDiffusionEngine

    if isinstance(engine, LatentDiffusionEngine):
        engine.loras.entries = dict(loras or {})
        engine.loras.source = _lora_source
    return engine


def _lora_source(entry: LoraEntry) -> tuple[str, dict[str, Any]]:
    """Where a LoRA loads from: a tiny one's built folder (built on first use, as a real one is downloaded),
    anything else as the catalogue names it."""
    from engines.lora import lora_source
    from engines.tiny.lora import TINY_LORAS

    if entry.model not in TINY_LORAS:
        return lora_source(entry)
    from engines.tiny.cache import ensure_tiny_lora

    return str(ensure_tiny_lora(entry.model)), {"local_files_only": True}


def _sources(entry: EngineEntry) -> tuple[str, str, dict[str, Any]]:
    """(model, prior, extra from_pretrained kwargs): tiny engines resolve to their built cache folder."""
    if not entry.is_tiny:
        return entry.model, entry.prior, {}
    from engines.tiny.cache import ensure_tiny

    folder = ensure_tiny(entry)
    if entry.family == "unclip":
        return str(folder / "decoder"), str(folder / "prior"), {"local_files_only": True}
    return str(folder), "", {"local_files_only": True}


def _tiny_upscaler(entry: EngineEntry) -> Callable[[], tuple[str, dict[str, Any]]] | None:
    """Where a tiny engine's `tiny-x4-upscaler` loads from: its built folder, built on the first 4x upscale
    (as a real upscaler is downloaded on first use). None: the catalogue's `upscaler` as it stands."""
    if not entry.is_tiny:
        return None
    from engines.tiny.cache import TINY_UPSCALER, ensure_tiny_upscaler

    if entry.upscaler != TINY_UPSCALER:
        return None
    return lambda: (str(ensure_tiny_upscaler()), {"local_files_only": True})


def _load_latent(entry: EngineEntry, device: Any, dtype: Any) -> DiffusionEngine:
    from diffusers import FluxPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

    from engines.flux import FluxEngine
    from engines.loading import load_pipeline, optimise, set_scheduler
    from engines.stable_diffusion import StableDiffusionEngine, StableDiffusionXLEngine

    families = {
        "sd": (StableDiffusionPipeline, StableDiffusionEngine),
        "sdxl": (StableDiffusionXLPipeline, StableDiffusionXLEngine),
        "flux": (FluxPipeline, FluxEngine),
    }
    pipeline_cls, engine_cls = families[entry.family]
    model, _, kwargs = _sources(entry)
    if entry.family == "sd":
        # Moderation is the bot's policy layer (banned words); the checker would only black out images.
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    pipe = load_pipeline(pipeline_cls, entry, model, dtype, **kwargs)
    set_scheduler(pipe, entry.scheduler)
    engine = engine_cls(entry, optimise(pipe, entry, device), device, dtype)
    tiny_adapter = _tiny_ip_adapter(entry)
    if tiny_adapter is not None:
        engine.adapter_source = tiny_adapter
    tiny_plus = _tiny_ip_adapter_plus(entry)
    if tiny_plus is not None:
        engine.character_source = tiny_plus
    tiny_redux = _tiny_redux(entry)
    if isinstance(engine, FluxEngine) and tiny_redux is not None:
        engine.redux_source = tiny_redux
    return engine


def _tiny_redux(entry: EngineEntry) -> Callable[[], tuple[str, dict[str, Any]]] | None:
    """Where a tiny engine's `tiny-redux` loads from: its built folder, built on the first image prompt.
    None: the catalogue's `redux` as it stands."""
    from engines.tiny.cache import TINY_REDUX

    if not entry.is_tiny or entry.redux != TINY_REDUX:
        return None
    from engines.tiny.cache import ensure_tiny_redux

    return lambda: (str(ensure_tiny_redux(entry)), {"local_files_only": True})


def _tiny_ip_adapter(entry: EngineEntry) -> Callable[[], tuple[str, str, str, str, dict[str, Any]]] | None:
    """Where a tiny engine's `tiny-ip-adapter` loads from: its built folder (h94/IP-Adapter's layout),
    built on the first image reference. None: the catalogue's `ip_adapter` as it stands."""
    from engines.tiny.cache import TINY_IP_ADAPTER

    if not entry.is_tiny or entry.ip_adapter != TINY_IP_ADAPTER:
        return None
    from engines.tiny.cache import ensure_tiny_ip_adapter
    from engines.tiny.ip_adapter import SUBFOLDER, WEIGHT_NAME

    return lambda: (str(ensure_tiny_ip_adapter(entry)), SUBFOLDER, WEIGHT_NAME, "", {"local_files_only": True})


def _tiny_ip_adapter_plus(entry: EngineEntry) -> Callable[[], tuple[str, str, str, str, dict[str, Any]]] | None:
    """Where a tiny engine's `tiny-ip-adapter-plus` (--cref / --oref) loads from: its built folder. None: the
    catalogue's `character_adapter` as it stands."""
    from engines.tiny.cache import TINY_IP_ADAPTER_PLUS

    if not entry.is_tiny or entry.character_adapter != TINY_IP_ADAPTER_PLUS:
        return None
    from engines.tiny.cache import ensure_tiny_ip_adapter_plus
    from engines.tiny.ip_adapter import SUBFOLDER
    from engines.tiny.ip_adapter_plus import WEIGHT_NAME

    return lambda: (str(ensure_tiny_ip_adapter_plus(entry)), SUBFOLDER, WEIGHT_NAME, "", {"local_files_only": True})


def _load_caption(entry: EngineEntry, device: Any, dtype: Any) -> Engine:
    from engines.caption import load_caption_engine

    model, _, kwargs = _sources(entry)
    # A captioner is not an image Engine (it answers with text): the worker calls its `describe`.
    return load_caption_engine(entry, model, device, dtype, **kwargs)  # type: ignore[return-value]


def _load_unclip(entry: EngineEntry, device: Any, dtype: Any) -> DiffusionEngine:
    from diffusers import KandinskyV22Pipeline, KandinskyV22PriorPipeline

    from engines.loading import load_pipeline, optimise
    from engines.unclip import UnclipEngine

    decoder_source, prior_source, kwargs = _sources(entry)
    prior = load_pipeline(KandinskyV22PriorPipeline, entry, prior_source, dtype, **kwargs)
    decoder = load_pipeline(KandinskyV22Pipeline, entry, decoder_source, dtype, **kwargs)
    return UnclipEngine(entry, optimise(prior, entry, device), optimise(decoder, entry, device), device, dtype)
