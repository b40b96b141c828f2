"""A tiny random-weight IP-Adapter for the tiny SD / SDXL UNets, in the layout of h94/IP-Adapter.

`<folder>/models/ip-adapter_tiny.safetensors` holds the `image_proj.*` (diffusers' ImageProjection:
`proj`, `norm`) and `ip_adapter.<n>.to_k_ip/to_v_ip` tensors, numbered as load_ip_adapter numbers the
UNet's cross-attention processors (1, 3, 5, ...);
`<folder>/models/image_encoder` is a tiny CLIPVisionModelWithProjection. The engine then loads it with
`load_ip_adapter(folder, subfolder="models", weight_name=...)`, exactly as a real checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

SUBFOLDER = "models"
WEIGHT_NAME = "ip-adapter_tiny.safetensors"
# Image tokens the projection makes from one CLIP image embedding (the real SD 1.5 adapter has 4).
IMAGE_TOKENS = 4
# The CLIP vision tower's input side and its embedding size (ViT-H's are 224 and 1024).
IMAGE_SIZE = 32
PROJECTION_DIM = 32


def vision_encoder() -> Any:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(2)
    config = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                              image_size=IMAGE_SIZE, patch_size=8, projection_dim=PROJECTION_DIM)
    return CLIPVisionModelWithProjection(config)


def adapter_state_dict(unet: Any, tokens: int = IMAGE_TOKENS,
                       embed_dim: int = PROJECTION_DIM) -> dict[str, torch.Tensor]:
    """Random weights shaped for `unet`'s attention processors, under the flat safetensors key names: `tokens`
    image tokens from a `embed_dim` CLIP image embedding (engines/tiny/real_adapters.py passes real sizes)."""
    generator = torch.Generator().manual_seed(3)
    cross_dim = unet.config.cross_attention_dim
    # Large enough that a reference visibly moves a random-weight UNet's output (real ones are trained).
    state = {
        "image_proj.proj.weight": torch.randn(tokens * cross_dim, embed_dim, generator=generator) * 0.5,
        "image_proj.proj.bias": torch.zeros(tokens * cross_dim),
        "image_proj.norm.weight": torch.ones(cross_dim),
        "image_proj.norm.bias": torch.zeros(cross_dim),
    }
    state.update(ip_attention_weights(unet, generator))
    return state


def ip_attention_weights(unet: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """`ip_adapter.<n>.to_k_ip/to_v_ip` for every cross-attention of `unet` (plain and Plus adapters alike)."""
    cross_dim = unet.config.cross_attention_dim
    state = {}
    cross_attentions = [name for name in unet.attn_processors if not name.endswith("attn1.processor")]
    for index, name in enumerate(cross_attentions):
        hidden_size = unet.get_submodule(name.removesuffix(".processor")).to_k.weight.shape[0]
        # load_ip_adapter numbers the cross-attentions 1, 3, 5, ... (the original checkpoints counted
        # every processor, and self-attentions, which have no adapter, took the even numbers).
        for key in ("to_k_ip", "to_v_ip"):
            weight = torch.randn(hidden_size, cross_dim, generator=generator) * 0.3
            state[f"ip_adapter.{2 * index + 1}.{key}.weight"] = weight
    return state


class TinyIpAdapter:
    """What cache.py's build-once saves: the adapter weights beside their image encoder."""

    def __init__(self, unet: Any) -> None:
        self.state = adapter_state_dict(unet)
        self.encoder = vision_encoder()

    def save_pretrained(self, folder: Path) -> None:
        from safetensors.torch import save_file

        (folder / SUBFOLDER).mkdir(parents=True, exist_ok=True)
        save_file({key: value.contiguous() for key, value in self.state.items()}, folder / SUBFOLDER / WEIGHT_NAME)
        self.encoder.save_pretrained(folder / SUBFOLDER / "image_encoder")
