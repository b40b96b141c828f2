"""FLUX.1 Redux image prompts and --cref / --oref (Black Forest Labs 2024, "FLUX.1 Tools"): a SigLIP vision
tower and a small MLP (`ReduxImageEncoder`) turn a reference into tokens of T5's width, which FLUX attends to
after the prompt's own T5 tokens, as if the picture were more text.

A job's image prompt and its character / omni references are two groups of tokens, the image prompt's first:
each group is its images' tokens summed by their weights, at its own scale (`redux_scale` for --iw,
`character_scale` / `omni_scale` for --cw / --ow). All of a job's references go through the vision tower in one
pass (`encode_groups`), at plan time: never per image or step.

The catalogue's `redux` is loaded with diffusers' FluxPriorReduxPipeline on the first image reference and kept.
Its `__call__` is not used: it encodes the text again at a fixed 512 tokens and, without text encoders,
pads with zeros shaped for the real T5 (4096 wide). The engine keeps its own text conditioning (`::`
weights, `--no`, chaos) and asks the prior only for the image tokens, through the pipeline's own
`encode_image` and `image_embedder`; `append` then concatenates them, as the pipeline does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from engines.loading import load_pipeline, optimise
from engines.params import character_scale, omni_scale, redux_scale, source_weights
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec
from midway.errors import EngineError

# Where the prior comes from: (hub id or folder, extra from_pretrained kwargs).
ReduxSource = tuple[str, dict[str, Any]]


class ReduxPrior:
    def __init__(self, entry: EngineEntry, device: torch.device, dtype: torch.dtype,
                 source: Callable[[], ReduxSource]) -> None:
        self.entry = entry
        self.device = device
        self.dtype = dtype
        self.source = source
        self.pipe: Any = None
        self.loads = 0  # how often the prior was loaded: once per engine, on its first image reference

    def load(self) -> Any:
        if self.pipe is None:
            from diffusers import FluxPriorReduxPipeline

            repo, extra = self.source()
            # Loaded mid-job, inside the run's inference_mode: kept as ordinary tensors, as the IP-Adapter is.
            with torch.inference_mode(False):
                # The text encoders stay out: the FLUX pipeline's own encode the prompt (Redux-dev ships none).
                pipe = load_pipeline(FluxPriorReduxPipeline, self.entry, repo, self.dtype, text_encoder=None,
                                     tokenizer=None, text_encoder_2=None, tokenizer_2=None, **extra)
            self.pipe = optimise(pipe, self.entry, self.device)
            self.loads += 1
        return self.pipe

    def encode_groups(self, groups: Sequence[TokenGroup]) -> torch.Tensor | None:
        """(1, tokens, width): each group's tokens (its images' weighted sum, times its scale) one group after
        the other, every image of every group through the vision tower in one pass; None when no group adds
        any (no images, or scale 0)."""
        groups = [group for group in groups if group.images and group.scale != 0]
        if not groups:
            return None
        pipe = self.load()
        images = [image.convert("RGB") for group in groups for image in group.images]
        tokens = pipe.image_embedder(pipe.encode_image(images, self.device, 1)).image_embeds
        sides, start = [], 0
        for group in groups:
            mine = tokens[start:start + len(group.images)]
            start += len(group.images)
            # A weighted sum over the images, token by token, as FluxPriorReduxPipeline sums a batch of references.
            w = torch.tensor(group.weights, dtype=mine.dtype, device=mine.device)
            w = (w / w.sum()).reshape(-1, 1, 1)
            sides.append((mine * w).sum(0, keepdim=True) * group.scale)
        return torch.cat(sides, dim=1)


@dataclass(frozen=True)
class TokenGroup:
    """Images whose Redux tokens are summed by `weights` into one block of tokens at `scale`."""

    images: tuple[Image.Image, ...]
    weights: tuple[float, ...]
    scale: float


def image_prompt_group(spec: GenerationSpec, images: Sequence[Image.Image]) -> TokenGroup:
    """The image prompt's images, by their `::` weights (`image_weights`), at --iw's `redux_scale`."""
    scale = redux_scale(spec.image_weight)
    if not images or scale == 0:
        return TokenGroup((), (), 0.0)
    return TokenGroup(tuple(images), tuple(source_weights(spec, len(images))), scale)


def character_group(spec: GenerationSpec, images: Sequence[Image.Image]) -> TokenGroup:
    """--cref's images (their `::` weights) then --oref's (1 each), as `spec.character_refs + spec.omni_refs`;
    at --cref's scale where there is a --cref, else --oref's, as the IP-Adapter Plus path does.

    The scales are the IP-Adapter Plus ones (character_scale: 0.3 to 1.0 over --cw 0-100; omni_scale: up to
    0.8 at --ow 100): they fit Redux's token scale as they are, since 1.0 is FluxPriorReduxPipeline's own
    prompt_embeds_scale (the default --cw 100 is the prior at full strength, as --iw 1 is) and they stay
    below redux_scale's ceiling of 2, where the tokens would drown the prompt."""
    if not images:
        return TokenGroup((), (), 0.0)
    crefs = len(spec.character_refs)
    weights = [*(spec.character_ref_weights or [1.0] * crefs), *[1.0] * len(spec.omni_refs)]
    if len(weights) != len(images):
        raise EngineError(f"{len(images)} character / omni images for {len(weights)} --cref / --oref references")
    return TokenGroup(tuple(images), tuple(weights), character_scale(spec) if crefs else omni_scale(spec))


def append(conditioning: dict[str, torch.Tensor], tokens: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The conditioning with the image tokens after its T5 tokens (the pooled CLIP side is the text's)."""
    if tokens is None:
        return conditioning
    embeds = conditioning["prompt_embeds"]
    image = tokens.to(embeds.device, embeds.dtype).expand(embeds.shape[0], -1, -1)
    return {**conditioning, "prompt_embeds": torch.cat([embeds, image], dim=1)}
