"""Tiny engines built once into `<state_dir>/models/<name>` and loaded from there like real checkpoints.

Each builder returns a pipeline (or a dict of named pipelines) that `save_pretrained` writes aside and then
swaps in; a marker file records the recipe, so a stale cache is rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engines.tiny.caption import build_caption
from engines.tiny.flux import build_flux
from engines.tiny.stable_diffusion import build_sd, build_sdxl
from engines.tiny.unclip import build_unclip
from engines.tiny.upscaler import build_upscaler
from midway.catalogue import EngineEntry
from midway.settings import Settings

# Bump when a recipe changes, so stale caches are rebuilt.
RECIPE_VERSION = 3
MARKER = "midway-tiny.json"
# The catalogue value of `upscaler` that selects the tiny x4 upscaler, and its cache folder name.
TINY_UPSCALER = "tiny-x4-upscaler"
# The catalogue value of `ip_adapter` that selects the tiny IP-Adapter built for the entry's UNet.
TINY_IP_ADAPTER = "tiny-ip-adapter"
# The catalogue value of `character_adapter` that selects the tiny IP-Adapter Plus built for the entry's UNet.
TINY_IP_ADAPTER_PLUS = "tiny-ip-adapter-plus"
# The MIDWAY_SAFETY_CHECKER value that selects the tiny random-weight safety checker, and its cache folder name.
TINY_SAFETY_CHECKER = "tiny-safety-checker"
# The catalogue value of `redux` that selects the tiny FLUX Redux prior built for the tiny FLUX transformer.
TINY_REDUX = "tiny-redux"

# Catalogue family -> the builder of its tiny engine.
BUILDERS: dict[str, Callable[[], Any]] = {"sd": build_sd, "sdxl": build_sdxl, "unclip": build_unclip,
                                          "flux": build_flux, "caption": build_caption}


def tiny_dir(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    if state_dir is None:
        # Read the environment now (not the cached settings), so tests can point MIDWAY_STATE_DIR anywhere.
        state_dir = Settings().state_dir
    return Path(state_dir) / "models" / entry.name


def ensure_tiny(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    """The cache folder of a tiny engine, built (once) if missing or from an older recipe."""
    return _build_once(tiny_dir(entry, state_dir), entry.family, BUILDERS[entry.family])


def ensure_tiny_upscaler(state_dir: Path | None = None) -> Path:
    """The cache folder of the tiny SD x4 upscaler (`upscaler = "tiny-x4-upscaler"` in the catalogue),
    shared by every tiny engine that names it."""
    folder = tiny_dir(EngineEntry(name=TINY_UPSCALER, kind="tiny"), state_dir)
    return _build_once(folder, "x4-upscaler", build_upscaler)


def ensure_tiny_safety_checker(state_dir: Path | None = None) -> Path:
    """The cache folder of the tiny safety checker (`MIDWAY_SAFETY_CHECKER=tiny-safety-checker`): the checker's
    weights and its `preprocessor_config.json`, as `CompVis/stable-diffusion-safety-checker` ships them."""
    from engines.tiny.safety import build_safety_checker

    folder = tiny_dir(EngineEntry(name=TINY_SAFETY_CHECKER, kind="tiny"), state_dir)
    return _build_once(folder, "safety-checker", build_safety_checker)


def ensure_tiny_lora(model: str, state_dir: Path | None = None) -> Path:
    """The cache folder of a tiny LoRA (`model = "tiny-lora-sd"` etc. in a `[loras.<name>]` table), holding
    its `pytorch_lora_weights.safetensors`; shared by every LoRA entry that names it."""
    from engines.tiny.lora import TINY_LORAS, UP_SCALE, build_lora

    folder = tiny_dir(EngineEntry(name=model, kind="tiny"), state_dir)
    family, seed = TINY_LORAS[model]
    return _build_once(folder, f"lora-{family}-{seed}-x{UP_SCALE[family]:g}", lambda: build_lora(model))


def ensure_tiny_ip_adapter(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    """The cache folder of the tiny IP-Adapter for a tiny family's UNet (one per family, h94's layout)."""
    from engines.tiny.ip_adapter import TinyIpAdapter

    folder = tiny_dir(EngineEntry(name=f"{TINY_IP_ADAPTER}-{entry.family}", kind="tiny"), state_dir)
    return _build_once(folder, f"ip-adapter-{entry.family}", lambda: TinyIpAdapter(BUILDERS[entry.family]().unet))


def ensure_tiny_ip_adapter_plus(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    """The cache folder of the tiny IP-Adapter Plus (--cref / --oref) for a tiny family's UNet, h94's layout."""
    from engines.tiny.ip_adapter_plus import TinyIpAdapterPlus

    folder = tiny_dir(EngineEntry(name=f"{TINY_IP_ADAPTER_PLUS}-{entry.family}", kind="tiny"), state_dir)
    return _build_once(folder, f"ip-adapter-plus-{entry.family}",
                       lambda: TinyIpAdapterPlus(BUILDERS[entry.family]().unet))


def ensure_tiny_redux(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    """The cache folder of the tiny FLUX Redux prior (a FluxPriorReduxPipeline), its tokens as wide as the
    tiny FLUX transformer's text tokens."""
    from engines.tiny.redux import build_redux

    folder = tiny_dir(EngineEntry(name=TINY_REDUX, kind="tiny"), state_dir)

    def build() -> Any:
        return build_redux(build_flux().transformer.config.joint_attention_dim)

    return _build_once(folder, "redux-flux", build)


def _build_once(folder: Path, family: str, build: Callable[[], Any]) -> Path:
    marker = {"family": family, "recipe": RECIPE_VERSION}
    try:
        if json.loads((folder / MARKER).read_text()) == marker:
            return folder
    except (OSError, ValueError):
        pass
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    built = build()
    if isinstance(built, dict):
        for part, pipe in built.items():
            pipe.save_pretrained(staging / part)
    else:
        built.save_pretrained(staging)
    (staging / MARKER).write_text(json.dumps(marker))
    # Build aside, then swap in: a concurrent reader never sees a half-written folder.
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process won the race; its copy is identical
    return folder
