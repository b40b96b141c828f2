"""Random-weight twins of h94/IP-Adapter's real files, for the shipped sd15 / sdxl entries: the real key names,
the real shapes and h94's folder layout (no download: the hub cannot be reached offline).

What each twin copies from the published checkpoint:
- `models/image_encoder`: OpenCLIP ViT-H/14 as CLIPVisionModelWithProjection (hidden 1280, 32 layers,
  16 heads, MLP 5120, patch 14, 224 px, projection 1024): the one vision tower all four adapters read.
- `models/ip-adapter_sd15`: ImageProjection `image_proj.proj` (1024 -> 4 x 768) + `norm`.
- `models/ip-adapter-plus_sd15`: Resampler, 16 latents of width 768, 12 heads, proj_in 1280 -> 768.
- `sdxl_models/ip-adapter_sdxl_vit-h`: 4 tokens of 2048; `-plus_sdxl_vit-h`: 16 latents of width 1280,
  20 heads, proj_in 1280 -> 1280, proj_out 1280 -> 2048.
Every adapter also has `ip_adapter.<n>.to_k_ip/to_v_ip` for each of the UNet's cross-attentions, numbered
as load_ip_adapter numbers them (engines/tiny/ip_adapter.py). bench/real_adapter_shapes.py loads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engines.tiny import ip_adapter, ip_adapter_plus

# h94/IP-Adapter's models/image_encoder/config.json (OpenCLIP ViT-H/14, laion2B).
VIT_H: dict[str, Any] = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=16, num_hidden_layers=32,
                             patch_size=14, image_size=224, projection_dim=1024, hidden_act="gelu",
                             layer_norm_eps=1e-5)
ENCODER_FOLDER = "models/image_encoder"


@dataclass(frozen=True)
class AdapterTwin:
    """One h94 file: where it lives, and the sizes its projection has (`resampler` empty: a plain adapter)."""

    path: str
    tokens: int
    resampler: dict[str, int] = field(default_factory=dict)

    def state_dict(self, unet: Any) -> dict[str, torch.Tensor]:
        if self.resampler:
            return ip_adapter_plus.adapter_state_dict(unet, tokens=self.tokens, vision_hidden=VIT_H["hidden_size"],
                                                      **self.resampler)
        return ip_adapter.adapter_state_dict(unet, tokens=self.tokens, embed_dim=VIT_H["projection_dim"])


# Per family: (the plain adapter, the Plus one), as the shipped catalogue names them.
TWINS: dict[str, tuple[AdapterTwin, AdapterTwin]] = {
    "sd": (AdapterTwin("models/ip-adapter_sd15.safetensors", 4),
           AdapterTwin("models/ip-adapter-plus_sd15.safetensors", 16, {"width": 768, "heads": 12})),
    "sdxl": (AdapterTwin("sdxl_models/ip-adapter_sdxl_vit-h.safetensors", 4),
             AdapterTwin("sdxl_models/ip-adapter-plus_sdxl_vit-h.safetensors", 16, {"width": 1280, "heads": 20})),
}


def vit_h_encoder() -> Any:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(2)
    return CLIPVisionModelWithProjection(CLIPVisionConfig(**VIT_H))


def save_encoder(repo: Path) -> Path:
    """The ViT-H/14 twin at `<repo>/models/image_encoder` (built once; ~2.5 GB in float32)."""
    folder = repo / ENCODER_FOLDER
    if not (folder / "config.json").exists():
        vit_h_encoder().save_pretrained(folder)
    return folder


def save_adapters(repo: Path, family: str, unet: Any) -> list[Path]:
    """`family`'s plain and Plus twins under `repo`, shaped for `unet` (the real model's UNet config)."""
    from safetensors.torch import save_file

    paths = []
    for twin in TWINS[family]:
        path = repo / twin.path
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({key: value.contiguous() for key, value in twin.state_dict(unet).items()}, path)
        paths.append(path)
    return paths
