"""How much device memory an engine's weights hold, and moving them off the device and back.

A worker serving more engines than its GPU holds (worker/residency.py) keeps the most recently used ones
on the device. The size is measured, not guessed: the bytes of every parameter and buffer of every
module the engine holds (its pipelines' components, the lazily loaded upscaler, a captioner's model),
each counted once although img2img and inpainting pipelines share them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from engines.base import Engine


def modules(engine: Engine | Any) -> Iterator[torch.nn.Module]:
    """The distinct torch modules an engine holds: its attributes that are modules, or pipelines of them."""
    seen: set[int] = set()
    for value in vars(engine).values():
        components = getattr(value, "components", None)
        candidates = components.values() if isinstance(components, dict) else [value]
        for candidate in candidates:
            if isinstance(candidate, torch.nn.Module) and id(candidate) not in seen:
                seen.add(id(candidate))
                yield candidate


def weight_bytes(engine: Engine | Any) -> int:
    """sum(numel * element_size) over the engine's parameters and buffers, shared tensors once."""
    counted: set[int] = set()
    total = 0
    for module in modules(engine):
        for tensor in (*module.parameters(), *module.buffers()):
            if id(tensor) not in counted:
                counted.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


def keeps_off_device_copy(engine: Engine | Any) -> bool:
    """On a GPU an engine moved off waits in host memory (moving back takes a second, reloading many);
    on a CPU host memory is the device, so only unloading frees it (and the next job reloads it)."""
    device = getattr(engine, "device", None)
    return isinstance(device, torch.device) and device.type != "cpu"


def move(engine: Engine | Any, device: torch.device | str) -> None:
    """Every module of the engine to `device` (its pipelines follow: they hold these modules)."""
    for module in modules(engine):
        module.to(device)
    if torch.cuda.is_available() and torch.device(device).type == "cpu":
        # Hand the freed blocks back, so the engine moving on next finds them.
        torch.cuda.empty_cache()
