"""`--tile`: seamless images by circular padding on every convolution, restored afterwards.

A conv with circular padding sees the opposite edge as its neighbour, so the UNet denoises (and
the VAE decodes) a torus and the result repeats without seams.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

from torch import nn

# nn.Conv2d.padding_mode's values, as torch annotates them.
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]


def _convs(modules: Iterable[nn.Module | None]) -> Iterator[nn.Conv2d]:
    for module in modules:
        if module is None or not isinstance(module, nn.Module):
            continue
        for layer in module.modules():
            if isinstance(layer, nn.Conv2d):
                yield layer


@contextmanager
def circular_padding(modules: Iterable[nn.Module | None], enabled: bool = True) -> Iterator[None]:
    """Switch each Conv2d's padding to circular inside the block (a no-op when not enabled)."""
    if not enabled:
        yield
        return
    saved: list[tuple[nn.Conv2d, PaddingMode]] = []
    try:
        for conv in _convs(modules):
            saved.append((conv, conv.padding_mode))
            conv.padding_mode = "circular"
        yield
    finally:
        for conv, mode in saved:
            conv.padding_mode = mode
