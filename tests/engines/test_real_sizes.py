"""The real `sd` and `sdxl` architectures, from configs with random weights (no download)."""

from __future__ import annotations

import pytest
import torch

from engines.tiny.real_size import UNET_PARAMS, build_pipeline, build_unet


@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_real_unet_configs_have_the_published_parameter_counts(kind):
    from accelerate import init_empty_weights

    with init_empty_weights():
        unet = build_unet(kind)
    count = sum(parameter.numel() for parameter in unet.parameters())
    assert count == pytest.approx(UNET_PARAMS[kind], rel=0.01)
    assert unet.device.type == "meta"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("kind", "size"), [("sd", 512), ("sdxl", 1024)])
def test_real_size_pipelines_run_on_the_gpu(kind, size):
    pipe = build_pipeline(kind, device="cuda", dtype=torch.float16)
    generator = torch.Generator("cpu").manual_seed(0)
    image = pipe("a red fox", num_inference_steps=2, height=size, width=size, generator=generator).images[0]
    assert image.size == (size, size)
