"""Loading diffusers pipelines for a catalogue entry: hub id, folder or single file; device and dtype.

Every failure becomes an EngineError naming the entry, so a worker reports it instead of crashing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from midway.catalogue import SINGLE_FILE_SUFFIXES, EngineEntry
from midway.errors import EngineError

log = logging.getLogger(__name__)

_DEFAULT_GPU_DTYPE = {"flux": torch.bfloat16}


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def pick_dtype(entry: EngineEntry, device: torch.device) -> torch.dtype:
    """Half precision on GPUs per the catalogue; always float32 on CPU (half is slow or unsupported)."""
    if device.type == "cpu" or entry.dtype == "float32":
        return torch.float32
    if entry.dtype == "auto":
        return _DEFAULT_GPU_DTYPE.get(entry.family, torch.float16)
    return getattr(torch, entry.dtype)


def _looks_local(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or Path(source).exists()


def load_pipeline(pipeline_cls: Any, entry: EngineEntry, source: str, dtype: torch.dtype, **kwargs: Any) -> Any:
    """`from_single_file` for a .safetensors/.ckpt file, else `from_pretrained` (hub id or folder)."""
    path = Path(source).expanduser()
    try:
        if source.endswith(SINGLE_FILE_SUFFIXES):
            if not path.is_file():
                raise EngineError(f"engine {entry.name!r}: model file not found: {source}")
            if entry.config:
                config = Path(entry.config).expanduser()
                kwargs["config"] = str(config) if config.is_dir() else entry.config
            return pipeline_cls.from_single_file(str(path), dtype=dtype, **kwargs)
        if _looks_local(source) and not path.is_dir():
            raise EngineError(f"engine {entry.name!r}: model folder not found: {source}")
        return pipeline_cls.from_pretrained(str(path) if path.is_dir() else source, dtype=dtype, **kwargs)
    except EngineError:
        raise
    except (OSError, ValueError) as exc:
        # Offline hub ids land here quickly (HF_HUB_OFFLINE=1 or no network); say what to do.
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        if source.endswith(SINGLE_FILE_SUFFIXES):
            # The file is here (checked above); what failed is fetching the configs of its architecture.
            raise EngineError(
                f"engine {entry.name!r}: cannot load {source!r} ({reason}). A single file holds weights only:"
                " set the catalogue's `config` to a diffusers folder or a downloaded hub id of its base model"
                " (e.g. huggingface-cli download stabilityai/stable-diffusion-xl-base-1.0 --include '*.json'"
                " '*.txt')."
            ) from exc
        raise EngineError(
            f"engine {entry.name!r}: cannot load {source!r} ({reason}). Download it first "
            f"(huggingface-cli download {source}) or point the catalogue's model at a local folder or file."
        ) from exc


def set_scheduler(pipe: Any, name: str) -> None:
    """Swap the sampler; monitor.py knows where each of these keeps its x0 estimate (for `--stop`, previews)."""
    from diffusers import DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler

    choices = {
        "euler": EulerDiscreteScheduler,
        "euler_a": EulerAncestralDiscreteScheduler,
        "dpm++": DPMSolverMultistepScheduler,
    }
    if name == "default" or not hasattr(pipe, "scheduler"):
        return
    if name not in choices:
        raise EngineError(f"unknown scheduler {name!r}; choose one of {sorted(choices)} or 'default'")
    pipe.scheduler = choices[name].from_config(pipe.scheduler.config)


def optimise(pipe: Any, entry: EngineEntry, device: torch.device) -> Any:
    """Move to the device; on CUDA also apply the catalogue's GPU switches (SDPA is diffusers' default)."""
    try:
        pipe = pipe.to(device)
    except torch.OutOfMemoryError as error:
        # At start-up, not mid-job: the worker exits with this line, not a traceback, and no retry helps.
        free = ""
        if device.type == "cuda":
            free_bytes, total_bytes = torch.cuda.mem_get_info(device)
            free = f" ({free_bytes / 2**30:.1f} of {total_bytes / 2**30:.1f} GiB free)"
        raise EngineError(f"engine {entry.name!r} does not fit on {device}{free}: serve fewer engines on this "
                          "GPU (midway worker --engines), or give it a GPU of its own") from error
    pipe.set_progress_bar_config(disable=True)
    if device.type != "cuda":
        # On CPU everything stays float32 and eager: the switches buy nothing there (catalogue.py).
        return pipe
    return apply_switches(pipe, entry, compile=entry.compile)


def apply_switches(pipe: Any, entry: EngineEntry, *, compile: bool) -> Any:
    """The entry's channels_last and fused QKV on a pipeline already on its device, and torch.compile
    of the denoiser when `compile` (CUDA only). Split from `optimise` so tests can check on the CPU
    that the switches keep the images."""
    device = getattr(pipe, "device", torch.device("cpu"))
    if compile and device.type != "cuda":
        raise ValueError(f"torch.compile is a CUDA-only switch; the pipeline is on {device}")
    unet = getattr(pipe, "unet", None)
    if entry.channels_last:
        # The VAE too: its decoder is all convolutions at full image size, and decoding a 4-image
        # 1024² grid is the biggest single step after the denoising loop.
        for convolutional in (unet, getattr(pipe, "vae", None)):
            if convolutional is not None:
                convolutional.to(memory_format=torch.channels_last)
    if entry.fuse_qkv and hasattr(pipe, "fuse_qkv_projections"):
        pipe.fuse_qkv_projections()
    denoiser = unet if unet is not None else getattr(pipe, "transformer", None)
    if compile and denoiser is not None:
        compiled = torch.compile(denoiser, mode=entry.compile_mode, fullgraph=True)
        setattr(pipe, "unet" if unet is not None else "transformer", compiled)
    return pipe
