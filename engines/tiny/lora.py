"""Tiny random-weight LoRAs for the tiny engines: peft adapters on the tiny denoiser, saved as a LoRA file.

Each is made the way a trained LoRA is shipped: peft's LoraConfig adds low-rank matrices to the attention
projections of the family's tiny UNet (or FLUX transformer), the pipeline class's `save_lora_weights` writes
them as `pytorch_lora_weights.safetensors`, and the engine loads that folder with the same
`load_lora_weights` call a downloaded LoRA goes through (engines/lora.py). Only the denoiser's shapes matter,
and the tiny builders are seeded, so one file fits every tiny engine of its family.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

# Catalogue `model` value -> (family, seed of its random matrices): two sd ones, to switch between.
TINY_LORAS: dict[str, tuple[str, int]] = {
    "tiny-lora-sd": ("sd", 1),
    "tiny-lora-sd-ink": ("sd", 2),
    "tiny-lora-sdxl": ("sdxl", 1),
    "tiny-lora-flux": ("flux", 1),
}
RANK = 4
# The attention projections every diffusers UNet and the FLUX transformer name alike.
TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
# nn.Linear's default init gives the up matrices a std near 1/sqrt(3 * rank): scaled up so that weight 1
# moves a 256 px tiny image by many grey levels (a test would not tell a weak LoRA from a leak). FLUX's
# tiny transformer mixes text and image tokens in a few joint blocks and needs more to show as much.
UP_SCALE = {"sd": 3.0, "sdxl": 3.0, "flux": 12.0}


class TinyLoraFile:
    """The built adapter, with the `save_pretrained` the tiny cache calls on whatever it builds."""

    def __init__(self, pipeline_cls: Any, layers: dict[str, torch.Tensor], key: str) -> None:
        self.pipeline_cls = pipeline_cls
        self.layers = layers
        self.key = key

    def save_pretrained(self, folder: Path) -> None:
        self.pipeline_cls.save_lora_weights(folder, safe_serialization=True, **{self.key: self.layers})


def build_lora(model: str) -> TinyLoraFile:
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from engines.tiny.cache import BUILDERS

    family, seed = TINY_LORAS[model]
    pipe = BUILDERS[family]()
    denoiser, key = (pipe.transformer, "transformer_lora_layers") if family == "flux" else (pipe.unet,
                                                                                             "unet_lora_layers")
    torch.manual_seed(seed)
    # init_lora_weights=False keeps both matrices random (peft's default zeroes the up one: a no-op LoRA).
    denoiser.add_adapter(LoraConfig(r=RANK, lora_alpha=RANK, target_modules=TARGETS, init_lora_weights=False))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(denoiser))
    with torch.no_grad():
        for name, tensor in layers.items():
            if ".up." in name or "lora_B" in name:
                tensor.mul_(UP_SCALE[family])
    return TinyLoraFile(type(pipe), {name: tensor.contiguous() for name, tensor in layers.items()}, key)
