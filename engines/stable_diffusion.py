"""Stable Diffusion 1.x/2.x and SDXL: latent diffusion with CLIP text encoders and cross-attention, on the
shared latent driver (engines/latent.py); each family says only how it encodes a prompt."""

from __future__ import annotations

import torch

from engines import conditioning as cond
from engines.latent import LatentDiffusionEngine


class StableDiffusionEngine(LatentDiffusionEngine):
    family = "sd"

    def encode(self, text: str) -> cond.Conditioning:
        embeds, _ = self.pipe.encode_prompt(text, self.device, 1, False)
        return {"prompt_embeds": embeds}


class StableDiffusionXLEngine(LatentDiffusionEngine):
    family = "sdxl"

    def encode(self, text: str) -> cond.Conditioning:
        embeds, _, pooled, _ = self.pipe.encode_prompt(
            prompt=text, device=self.device, num_images_per_prompt=1, do_classifier_free_guidance=False
        )
        return {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled}

    def empty_negative(self) -> cond.Conditioning:
        # SDXL was trained with zeroed embeddings as the unconditional side (force_zeros_for_empty_prompt).
        if self.pipe.config.get("force_zeros_for_empty_prompt", False):
            return {key: torch.zeros_like(value) for key, value in self.encode("").items()}
        return self.encode("")
