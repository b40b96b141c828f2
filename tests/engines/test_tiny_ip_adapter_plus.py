"""The tiny IP-Adapter Plus (for --cref / --oref) is built offline in h94/IP-Adapter's layout and loads through
diffusers' own load_ip_adapter as a Resampler (IPAdapterPlusImageProjection) fed the vision tower's hidden
states; an image through it moves the pixels, and the same image and seed repeat exactly."""

from __future__ import annotations

import numpy as np
import torch
from diffusers import StableDiffusionPipeline
from diffusers.models.embeddings import IPAdapterPlusImageProjection

from engines.tiny.cache import ensure_tiny, ensure_tiny_ip_adapter_plus
from engines.tiny.ip_adapter import SUBFOLDER
from engines.tiny.ip_adapter_plus import IMAGE_TOKENS, WEIGHT_NAME

from .test_blend import BLUE, RED


def render(pipe, image=None, scale: float = 1.0) -> np.ndarray:
    pipe.set_ip_adapter_scale(scale)
    result = pipe("a fox", ip_adapter_image=image if image is not None else RED, num_inference_steps=2,
                  height=64, width=64, guidance_scale=5.0, output_type="np",
                  generator=torch.Generator().manual_seed(7))
    return np.asarray(result.images[0])


def test_the_plus_adapter_loads_as_a_resampler_and_conditions(state_dir, catalogue) -> None:
    entry = catalogue.get("tiny")
    folder = ensure_tiny_ip_adapter_plus(entry)
    pipe = StableDiffusionPipeline.from_pretrained(str(ensure_tiny(entry)), local_files_only=True)
    pipe.load_ip_adapter(str(folder), subfolder=SUBFOLDER, weight_name=WEIGHT_NAME, local_files_only=True)
    projection = pipe.unet.encoder_hid_proj.image_projection_layers[0]
    # diffusers detected the Plus layout (not the plain ImageProjection) with the tiny sizes.
    assert isinstance(projection, IPAdapterPlusImageProjection)
    assert projection.latents.shape[1] == IMAGE_TOKENS
    text_only, red = render(pipe, scale=0.0), render(pipe)
    assert np.abs(red - text_only).mean() > 0.01
    assert np.abs(render(pipe, image=BLUE) - red).mean() > 0.001
    assert np.array_equal(render(pipe), red)
