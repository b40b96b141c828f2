"""The catalogue's GPU switches (channels_last, fused QKV) keep the images, checked on the CPU in float32;
in production `optimise` applies them on CUDA only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engines.loading import apply_switches, optimise
from engines.stable_diffusion import StableDiffusionEngine, StableDiffusionXLEngine
from engines.tiny.cache import BUILDERS
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec

ENGINES = {"sd": StableDiffusionEngine, "sdxl": StableDiffusionXLEngine}
# channels_last picks other convolution kernels: latents move by ~1e-4 of ~50, which can flip a
# rounding to the next 8-bit value; a real change of the model moves pixels by tens.
PIXEL_TOLERANCE = 2


def tiny_pipeline(kind: str):
    pipe = BUILDERS[kind]()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def entry(kind: str, *, switches: bool, compile: bool = False) -> EngineEntry:
    return EngineEntry(name=f"tiny-{kind}", kind=kind, family=kind, channels_last=switches, fuse_qkv=switches,
                       compile=compile)


def fused(pipe) -> bool:
    return any(getattr(module, "fused_projections", False) for module in pipe.unet.modules())


def channels_last(pipe) -> bool:
    """Both convolutional networks switched: the UNet and the VAE's decoder."""
    weights = (pipe.unet.conv_in.weight, pipe.vae.decoder.conv_in.weight)
    return all(weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
               for weight in weights)


def render(kind: str, *, switches: bool) -> np.ndarray:
    pipe = apply_switches(tiny_pipeline(kind), entry(kind, switches=switches), compile=False)
    assert fused(pipe) is switches and channels_last(pipe) is switches
    engine = ENGINES[kind](entry(kind, switches=switches), pipe, torch.device("cpu"), torch.float32)
    spec = GenerationSpec(prompt="a red fox in the snow", width=64, height=64, steps=2, seed=7, n_images=2)
    return np.stack([np.asarray(image, dtype=np.int16) for image in engine.run(spec)])


@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_channels_last_and_fused_qkv_keep_the_images(kind: str) -> None:
    plain, switched = render(kind, switches=False), render(kind, switches=True)
    assert plain.std() > 10, "the tiny pipeline should draw a varied image, or the comparison proves nothing"
    assert np.abs(switched - plain).max() <= PIXEL_TOLERANCE


def test_optimise_leaves_a_cpu_pipeline_eager_and_unswitched() -> None:
    pipe = optimise(tiny_pipeline("sd"), entry("sd", switches=True, compile=True), torch.device("cpu"))
    assert not fused(pipe)
    assert not channels_last(pipe)
    assert isinstance(pipe.unet, torch.nn.Module) and not hasattr(pipe.unet, "_orig_mod")


def test_compile_is_refused_off_cuda() -> None:
    with pytest.raises(ValueError, match="CUDA-only.*cpu"):
        apply_switches(tiny_pipeline("sd"), entry("sd", switches=True, compile=True), compile=True)
