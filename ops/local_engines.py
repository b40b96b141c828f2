"""Which catalogue engines this machine can run right now (for `midway up`'s default).

A real engine is runnable when there is a CUDA GPU and its weights are already here: a local file or
folder, or a hub id present in the Hugging Face cache. Nothing is downloaded and torch is not imported.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from midway.catalogue import IMAGE_FAMILIES, Catalogue, EngineEntry

# Random-weight engines that need no download: one latent-diffusion, one DALL·E 2-style unCLIP, and the
# BLIP captioner /describe runs on (settings.caption_engine), so every command works in the playground.
OFFLINE_ENGINES = ["tiny", "tiny-unclip", "tiny-caption"]


def has_cuda_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def weights_present(model: str) -> bool:
    if not model:
        return False
    path = Path(model).expanduser()
    if path.exists():
        return True
    if path.is_absolute() or model.startswith(".") or model.endswith(".safetensors"):
        return False  # a local path that is not there
    try:
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.errors import HFValidationError
    except ImportError:
        return False
    # Diffusers repos have model_index.json at the root; single-file repos are not auto-detected.
    try:
        return isinstance(try_to_load_from_cache(model, "model_index.json"), str)
    except HFValidationError:
        return False


def runnable(entry: EngineEntry) -> bool:
    needed = [entry.model] + ([entry.prior] if entry.prior else [])
    return all(weights_present(model) for model in needed)


def default_engines(catalogue: Catalogue, *, gpu: bool | None = None) -> list[str]:
    """With a GPU, the first real engine (in catalogue order) whose weights are here; otherwise the
    offline ones. One: every engine a worker serves stays resident on its GPU, and two large ones
    (SDXL and FLUX-dev) do not fit a 24 GB card together. `midway up --engines a,b` serves more."""
    if gpu if gpu is not None else has_cuda_gpu():
        # An image engine: a captioner (/describe) cannot be a channel's engine. An entry made in code
        # rather than read from catalogue.toml may leave its family empty: its kind is its family then.
        real = [entry.name for entry in catalogue
                if not entry.is_tiny and (entry.family or entry.kind) in IMAGE_FAMILIES and runnable(entry)]
        if real:
            return real[:1] + _captioner(catalogue)
    return [name for name in OFFLINE_ENGINES if name in catalogue]


def _is_captioner(entry: EngineEntry) -> bool:
    return (entry.family or entry.kind) == "caption"


def _captioner(catalogue: Catalogue) -> list[str]:
    """The captioner /describe runs on beside the GPU's image engine: the first real one whose weights are
    here (BLIP-large is ~1 GB, small beside an image engine), else the tiny one, so /describe never waits
    for a worker that nobody started."""
    captioners = [entry for entry in catalogue if _is_captioner(entry)]
    real = [entry.name for entry in captioners if not entry.is_tiny and runnable(entry)]
    tiny = [entry.name for entry in captioners if entry.is_tiny]
    return (real or tiny)[:1]


def caption_engine(served: list[str], catalogue: Catalogue, configured: str) -> str:
    """The captioner the bot should send /describe to: the configured one when a worker here serves it
    (or none serves any), else the captioner that is served."""
    captioners = [name for name in served if name in catalogue and _is_captioner(catalogue.get(name))]
    return configured if configured in captioners or not captioners else captioners[0]
