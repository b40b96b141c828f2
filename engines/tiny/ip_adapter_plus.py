"""A tiny random-weight IP-Adapter Plus (for --cref / --oref) for the tiny SD / SDXL UNets, in h94/IP-Adapter's
layout.

`<folder>/models/ip-adapter-plus_tiny.safetensors` holds the `image_proj.*` Resampler in the original
checkpoints' key names (`latents`, `proj_in`, `layers.<n>.0` attention with `norm1/norm2/to_q/to_kv/to_out`,
`layers.<n>.1` feed-forward `0/1/3`, `proj_out`, `norm_out`), which diffusers' load_ip_adapter recognises as
IPAdapterPlusImageProjection, and the `ip_adapter.<n>.to_k_ip/to_v_ip` tensors sized for the UNet.
`<folder>/models/image_encoder` is the same tiny CLIP vision tower as the plain adapter's: Plus reads its
penultimate hidden states (one token per patch plus the class token) instead of the pooled image embedding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engines.tiny.ip_adapter import SUBFOLDER, ip_attention_weights, vision_encoder

WEIGHT_NAME = "ip-adapter-plus_tiny.safetensors"
# The vision tower's hidden size (what proj_in takes), the Resampler's width and the image tokens it makes
# (the real SD 1.5 Plus adapter has 16 tokens and a 768-wide Resampler).
VISION_HIDDEN = 32
RESAMPLER_WIDTH = 32
IMAGE_TOKENS = 4
# diffusers always builds four Resampler blocks and infers the heads as to_q's rows // 64.
DEPTH = 4
HEAD_DIM = 64
FFN_RATIO = 4


def resampler_state_dict(cross_dim: int, generator: torch.Generator, vision_hidden: int = VISION_HIDDEN,
                         width: int = RESAMPLER_WIDTH, tokens: int = IMAGE_TOKENS,
                         heads: int = 1) -> dict[str, torch.Tensor]:
    """The Resampler under h94's key names: `heads` 64-wide heads per block over `tokens` latents of `width`,
    from the vision tower's `vision_hidden` to the UNet's width (the tiny one: a single head)."""
    inner = HEAD_DIM * heads

    def linear(rows: int, cols: int) -> torch.Tensor:
        return torch.randn(rows, cols, generator=generator) / cols ** 0.5

    state = {
        "image_proj.latents": torch.randn(1, tokens, width, generator=generator) / width ** 0.5,
        "image_proj.proj_in.weight": linear(width, vision_hidden),
        "image_proj.proj_in.bias": torch.zeros(width),
        # Scaled up so a reference visibly moves a random-weight UNet's output (real ones are trained).
        "image_proj.proj_out.weight": linear(cross_dim, width) * 2.0,
        "image_proj.proj_out.bias": torch.zeros(cross_dim),
        "image_proj.norm_out.weight": torch.ones(cross_dim),
        "image_proj.norm_out.bias": torch.zeros(cross_dim),
    }
    for block in range(DEPTH):
        attention, feed_forward = f"image_proj.layers.{block}.0", f"image_proj.layers.{block}.1"
        for norm in ("norm1", "norm2"):
            state[f"{attention}.{norm}.weight"] = torch.ones(width)
            state[f"{attention}.{norm}.bias"] = torch.zeros(width)
        state[f"{attention}.to_q.weight"] = linear(inner, width)
        state[f"{attention}.to_kv.weight"] = linear(2 * inner, width)
        state[f"{attention}.to_out.weight"] = linear(width, inner)
        state[f"{feed_forward}.0.weight"] = torch.ones(width)
        state[f"{feed_forward}.0.bias"] = torch.zeros(width)
        state[f"{feed_forward}.1.weight"] = linear(FFN_RATIO * width, width)
        state[f"{feed_forward}.3.weight"] = linear(width, FFN_RATIO * width)
    return state


def adapter_state_dict(unet: Any, **resampler: int) -> dict[str, torch.Tensor]:
    """Random Plus weights shaped for `unet`, under the flat safetensors key names (`resampler`: the sizes
    resampler_state_dict takes; the tiny ones by default)."""
    generator = torch.Generator().manual_seed(5)
    state = resampler_state_dict(unet.config.cross_attention_dim, generator, **resampler)
    state.update(ip_attention_weights(unet, generator))
    return state


class TinyIpAdapterPlus:
    """What cache.py's build-once saves: the Plus weights beside their image encoder."""

    def __init__(self, unet: Any) -> None:
        self.state = adapter_state_dict(unet)
        self.encoder = vision_encoder()
        assert self.encoder.config.hidden_size == VISION_HIDDEN

    def save_pretrained(self, folder: Path) -> None:
        from safetensors.torch import save_file

        (folder / SUBFOLDER).mkdir(parents=True, exist_ok=True)
        save_file({key: value.contiguous() for key, value in self.state.items()}, folder / SUBFOLDER / WEIGHT_NAME)
        self.encoder.save_pretrained(folder / SUBFOLDER / "image_encoder")
