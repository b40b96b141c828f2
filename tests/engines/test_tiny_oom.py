"""A real out-of-memory error inside the tiny pipeline, raised where CUDA would raise it: in the UNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from midway.errors import EngineOutOfMemory

from .conftest import small_spec


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64) for image in images])


def out_of_memory_above(engine, batch: int, seen: list[int]):
    """Make the engine's UNet raise torch.OutOfMemoryError on inputs of more than `batch` samples."""

    def forward(module, args) -> None:
        seen.append(args[0].shape[0])
        if args[0].shape[0] > batch:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    return engine.pipe.unet.register_forward_pre_hook(forward)


def test_out_of_memory_becomes_the_engines_error_and_one_image_at_a_time_fits(tiny):
    spec = small_spec(steps=2)
    expected = tiny.run(spec)
    batches, seen = [], []
    # One image with its unconditional twin fits; the grid's 4 x 2 does not.
    handle = out_of_memory_above(tiny, 2, batches)
    try:
        with pytest.raises(EngineOutOfMemory, match="ran out of GPU memory") as raised:
            tiny.run(spec)
        assert isinstance(raised.value.__cause__, torch.OutOfMemoryError)
        assert batches == [8]
        images = tiny.run(spec, max_batch=1, on_progress=lambda s, t, p: seen.append((s, t)))
    finally:
        handle.remove()
    assert batches[1:] == [2] * 8  # four chunks of two steps
    assert seen == [(step, 8) for step in range(1, 9)]
    assert np.abs(pixels(images) - pixels(expected)).max() <= 2
