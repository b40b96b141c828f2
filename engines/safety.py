"""The image safety classifier (issue 21): a score in [0, 1] per output image, from Stable Diffusion's checker.

The model is diffusers' `StableDiffusionSafetyChecker` with a `CLIPImageProcessor`, which is what
`CompVis/stable-diffusion-safety-checker` ships: a CLIP ViT-L/14 image tower and projection, 17 "concept"
embeddings with a cosine threshold each, and 3 "special care" ones that, when any is crossed, tighten
every concept threshold by 0.01. Its own `forward` blacks out flagged images and returns only booleans,
so this module reads its weights and follows the same math (`forward_onnx`, which skips the rounding
to 3 decimals of `forward`) to keep the margin:

    margin = max_j (cos(image, concept_j) - threshold_j) + 0.01 * any_k (cos(image, special_k) > threshold_k)

The checker flags an image when margin > 0. A margin is a difference of cosines, and the checker's own
steps are hundredths (the 0.01 special-care tightening; its comments suggest raising an `adjustment` to
filter harder), so the score is a logistic of the margin in units of MARGIN_SCALE = 0.02:
score = sigmoid(margin / 0.02). It is monotone in the margin (a threshold on it is a threshold on the
margin), bounded in [0, 1] for any checkpoint, and 0.5 is exactly the checker's line; a threshold t means
margin >= 0.02 * logit(t), so 0.27 loosens the filter by 0.02 and 0.73 tightens it by 0.02. A linear map
of the whole margin range (-2 to about 1) would turn a 0.02 step into under 0.01 of score.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from midway.errors import EngineError

# The cosine margin that moves the score from 0.5 to sigmoid(1) ~ 0.73 (see the module docstring).
MARGIN_SCALE = 0.02
# At score 0.5 the margin is 0: the checker's own decision.
DEFAULT_THRESHOLD = 0.5
# What crossing any special-care concept adds to every concept margin, as in the checker's forward.
SPECIAL_CARE_ADJUSTMENT = 0.01


def score_of(margin: float) -> float:
    """The logistic of a cosine margin in units of MARGIN_SCALE, in [0, 1]; 0.5 at margin 0."""
    x = margin / MARGIN_SCALE
    # The two-sided form never overflows `exp`, whatever the checkpoint's thresholds.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class SafetyClassifier:
    """A safety checker and its processor resident on the worker; `scores(images)` in one forward pass."""

    def __init__(self, checker: Any, processor: Any, device: torch.device, dtype: torch.dtype) -> None:
        self.checker = checker.to(device=device, dtype=dtype).eval()
        self.processor = processor
        self.device = device
        self.dtype = dtype

    @torch.no_grad()
    def margins(self, images: list[Image.Image]) -> list[float]:
        """Each image's cosine margin past its nearest concept threshold (> 0: the checker flags it)."""
        if not images:
            return []
        # 1. Resize, crop and normalise all images into one batch (224 px for the real checker).
        pixels = self.processor(images=[image.convert("RGB") for image in images], return_tensors="pt")
        pixel_values = pixels["pixel_values"].to(device=self.device, dtype=self.dtype)
        # 2. Embed: the image tower's pooled output through the projection, as the checker's forward does.
        pooled = self.checker.vision_model(pixel_values).pooler_output
        embeds = self.checker.visual_projection(pooled)
        # 3. Cosines in float32 from float32 embeddings: margins are hundredths, finer than half precision's step.
        special = self._past(embeds, self.checker.special_care_embeds, self.checker.special_care_embeds_weights)
        concepts = self._past(embeds, self.checker.concept_embeds, self.checker.concept_embeds_weights)
        # 4. Any special-care concept crossed tightens every concept threshold.
        adjustment = (special > 0).any(dim=1).float() * SPECIAL_CARE_ADJUSTMENT
        margin = concepts.max(dim=1).values + adjustment
        return [float(value) for value in margin.cpu()]

    def scores(self, images: list[Image.Image]) -> list[float]:
        """Each image's score in [0, 1]: `score_of` its margin; the same images always give the same scores."""
        return [score_of(margin) for margin in self.margins(images)]

    def flagged(self, images: list[Image.Image], threshold: float = DEFAULT_THRESHOLD) -> list[bool]:
        """Whether each image's score is above `threshold` (0 flags every image, 1 none)."""
        # Strictly above, as the checker flags a margin > 0: at 0.5 the two decide alike, ties included.
        # Every margin of a checkpoint with thresholds in [-1, 1] is above -3, so its score is above 0.
        return [score > threshold for score in self.scores(images)]

    @staticmethod
    def _past(embeds: torch.Tensor, concepts: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
        """cos(image, concept) - threshold for every image (rows) and concept (columns), in float32."""
        image = torch.nn.functional.normalize(embeds.float(), dim=-1)
        concept = torch.nn.functional.normalize(concepts.float(), dim=-1)
        return image @ concept.T - thresholds.float()


def load_safety_checker(source: str, device: torch.device, dtype: torch.dtype,
                        **kwargs: Any) -> SafetyClassifier:
    """The safety classifier from a hub id (`CompVis/stable-diffusion-safety-checker`) or a folder holding
    the checker's weights and its `preprocessor_config.json`, through `from_pretrained`."""
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPImageProcessor

    path = Path(source).expanduser()
    where = str(path) if path.is_dir() else source
    try:
        if source.startswith(("/", ".", "~")) and not path.is_dir():
            raise EngineError(f"safety checker folder not found: {source}")
        checker = StableDiffusionSafetyChecker.from_pretrained(where, dtype=dtype, **kwargs)
        # The processor takes no dtype; it comes from the same folder, as the checkpoint ships it.
        processor = CLIPImageProcessor.from_pretrained(where, **kwargs)
    except (OSError, ValueError) as exc:
        # Offline hub ids land here quickly (HF_HUB_OFFLINE=1 or no network); say what to do.
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise EngineError(
            f"cannot load the safety checker {source!r} ({reason}). Download it first "
            f"(huggingface-cli download {source}) or point it at a local folder."
        ) from exc
    return SafetyClassifier(checker, processor, device, dtype)


# The checker Stable Diffusion ships with (a CLIP ViT-L/14 image tower: about 1.2 GB in float32).
COMPVIS_SAFETY_CHECKER = "CompVis/stable-diffusion-safety-checker"


def open_safety_checker(source: str, state_dir: Path | None = None) -> SafetyClassifier:
    """The checker MIDWAY_SAFETY_CHECKER names: `tiny-safety-checker` (built once into the tiny cache), a
    folder or a hub id; on the GPU in float16 when there is one (the margins are still taken in float32)."""
    from engines.loading import pick_device
    from engines.tiny.cache import TINY_SAFETY_CHECKER, ensure_tiny_safety_checker

    device = pick_device()
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    if source == TINY_SAFETY_CHECKER:
        return load_safety_checker(str(ensure_tiny_safety_checker(state_dir)), device, dtype, local_files_only=True)
    return load_safety_checker(source, device, dtype)
