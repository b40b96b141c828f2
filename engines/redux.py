"""FLUX.1 Redux image prompts (Black Forest Labs 2024, "FLUX.1 Tools"): a SigLIP vision tower and a small
MLP (`ReduxImageEncoder`) turn a reference into tokens of T5's width, which FLUX attends to after the
prompt's own T5 tokens, as if the picture were more text.

The catalogue's `redux` is loaded with diffusers' FluxPriorReduxPipeline on the first image prompt and kept.
Its `__call__` is not used: it encodes the text again at a fixed 512 tokens and, without text encoders,
pads with zeros shaped for the real T5 (4096 wide). The engine keeps its own text conditioning (`::`
weights, `--no`, chaos) and asks the prior only for the image tokens, through the pipeline's own
`encode_image` and `image_embedder`; `append` then concatenates them, as the pipeline does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image

from engines.loading import load_pipeline, optimise
from engines.params import redux_scale, source_weights
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec

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
        self.loads = 0  # how often the prior was loaded: once per engine, on its first image prompt

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

    def encode(self, spec: GenerationSpec, images: Sequence[Image.Image]) -> torch.Tensor | None:
        """(1, tokens, width): the images' Redux tokens averaged by their `::` weights and scaled by --iw;
        None at --iw 0 (no tokens at all: zero tokens would still shift FLUX's attention)."""
        scale = redux_scale(spec.image_weight)
        if not images or scale == 0:
            return None
        weights = source_weights(spec, len(images))
        pipe = self.load()
        hidden = pipe.encode_image([image.convert("RGB") for image in images], self.device, 1)
        tokens = pipe.image_embedder(hidden).image_embeds
        # A weighted sum over the images, token by token, as FluxPriorReduxPipeline sums a batch of references.
        w = torch.tensor(weights, dtype=tokens.dtype, device=tokens.device)
        w = (w / w.sum()).reshape(-1, 1, 1)
        return (tokens * w).sum(0, keepdim=True) * scale


def append(conditioning: dict[str, torch.Tensor], tokens: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The conditioning with the image tokens after its T5 tokens (the pooled CLIP side is the text's)."""
    if tokens is None:
        return conditioning
    embeds = conditioning["prompt_embeds"]
    image = tokens.to(embeds.device, embeds.dtype).expand(embeds.shape[0], -1, -1)
    return {**conditioning, "prompt_embeds": torch.cat([embeds, image], dim=1)}
