"""A tiny random-weight Stable Diffusion safety checker (the class issue 21's filter loads for real).

A `StableDiffusionSafetyChecker` from a small CLIPConfig (a 2-layer, 32-wide vision tower on 32 px
images, projected to 16) with a fixed seed, and a `CLIPImageProcessor` at 32 px, saved side by side in
one folder as `CompVis/stable-diffusion-safety-checker` ships them, so `engines.safety.load_safety_checker`
loads it through the same `from_pretrained` code. Its scores mean nothing by design; the path is real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engines.tiny.clip import text_config

IMAGE_SIZE = 32
PROJECTION_DIM = 16
# The real checker has 17 concepts and 3 special-care ones; the tiny one keeps the shapes.
CONCEPTS = 17
SPECIAL_CARE = 3
# Random unit vectors in 16 dimensions reach a cosine of about 0.45-0.55 with this tower's embeddings
# (its outputs of different images are alike); thresholds there put scores in the middle of [0, 1],
# where tests can tell images apart, and most images fall below the default line of 0.5.
CONCEPT_THRESHOLD = 0.55
SPECIAL_CARE_THRESHOLD = 0.5


class TinySafetyChecker:
    """The checker and its processor, saved into one folder (weights, config.json, preprocessor_config.json)."""

    def __init__(self, checker: Any, processor: Any) -> None:
        self.checker = checker
        self.processor = processor

    def save_pretrained(self, folder: Path) -> None:
        self.checker.save_pretrained(folder)
        self.processor.save_pretrained(folder)


def unit_vectors(count: int, generator: torch.Generator) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(count, PROJECTION_DIM, generator=generator), dim=-1)


def build_safety_checker() -> TinySafetyChecker:
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config=text_config(PROJECTION_DIM).to_dict(),
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
                       "image_size": IMAGE_SIZE, "patch_size": 8, "projection_dim": PROJECTION_DIM},
        projection_dim=PROJECTION_DIM)
    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(config).eval()
    # Its __init__ makes every concept a vector of ones (the real ones come with the weights): all
    # concepts would then be one direction, so give them seeded random directions instead.
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        checker.concept_embeds.copy_(unit_vectors(CONCEPTS, generator))
        checker.special_care_embeds.copy_(unit_vectors(SPECIAL_CARE, generator))
        checker.concept_embeds_weights.fill_(CONCEPT_THRESHOLD)
        checker.special_care_embeds_weights.fill_(SPECIAL_CARE_THRESHOLD)
    processor = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                                   crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return TinySafetyChecker(checker, processor)
