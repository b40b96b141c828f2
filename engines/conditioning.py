"""Prompt -> conditioning tensors: `::` weights, `--no`, and `--chaos`, shared by every family.

A conditioning is a dict of the pipeline's embedding kwargs (`prompt_embeds`, `pooled_prompt_embeds`
for SDXL/Flux, `image_embeds` for unCLIP). Weighted prompts combine the embeddings of each part by
normalised weight (Midjourney normalises `::` weights too); parts with negative weights and the
`--no` text go to the negative side, combined the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from engines.params import chaos_amount, chaos_seed
from midway.contract import GenerationSpec

Conditioning = dict[str, torch.Tensor]
Encoder = Callable[[str], Conditioning]


def positive_parts(spec: GenerationSpec) -> list[tuple[str, float]]:
    parts = [(text, weight) for text, weight in spec.weights if weight > 0]
    if spec.weights:
        return parts or [("", 1.0)]
    return [(spec.prompt, 1.0)]


def negative_parts(spec: GenerationSpec) -> list[tuple[str, float]]:
    parts = [(text, -weight) for text, weight in spec.weights if weight < 0]
    if spec.negative_prompt:
        parts.append((spec.negative_prompt, 1.0))
    return parts


def weighted_sum(conditionings: list[Conditioning], weights: list[float]) -> Conditioning:
    total = sum(weights)
    return {
        key: sum(c[key] * (w / total) for c, w in zip(conditionings, weights, strict=True))
        for key in conditionings[0]
    }


def encode_weighted(encode: Encoder, parts: list[tuple[str, float]]) -> Conditioning:
    """Normalised weighted average of each part's conditioning (texts encoded once each)."""
    cache: dict[str, Conditioning] = {}
    for text, _ in parts:
        if text not in cache:
            cache[text] = encode(text)
    return weighted_sum([cache[text] for text, _ in parts], [weight for _, weight in parts])


def with_chaos(conditioning: Conditioning, seed: int, index: int, chaos: int) -> Conditioning:
    """Image `index`'s own perturbation of the conditioning: noise scaled by --chaos, from its seed.

    Generated on the CPU so the same seed gives the same noise on any device.
    """
    amount = chaos_amount(chaos)
    if amount == 0:
        return conditioning
    generator = torch.Generator("cpu").manual_seed(chaos_seed(seed, index))
    perturbed = {}
    for key, tensor in conditioning.items():
        noise = torch.randn(tensor.shape, generator=generator, dtype=torch.float32)
        scale = tensor.float().std() * amount
        perturbed[key] = tensor + (noise * scale).to(tensor.device, tensor.dtype)
    return perturbed


def slerp(start: torch.Tensor, end: torch.Tensor, fraction: float) -> torch.Tensor:
    """Spherical interpolation of the rows' directions, linear of their norms (DALL·E 2 §3 mixes
    CLIP embeddings this way: a straight line would pass through short, atypical embeddings)."""
    start_norm, end_norm = start.norm(dim=-1, keepdim=True), end.norm(dim=-1, keepdim=True)
    a, b = start / start_norm.clamp_min(1e-8), end / end_norm.clamp_min(1e-8)
    angle = torch.acos((a * b).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    direction = (torch.sin((1 - fraction) * angle) * a + torch.sin(fraction * angle) * b) / torch.sin(angle)
    return direction * (start_norm + fraction * (end_norm - start_norm))


def batch(conditionings: list[Conditioning], prefix: str = "") -> dict[str, torch.Tensor]:
    """Stack per-image conditionings (each batch 1) into pipeline kwargs, optionally `negative_`-prefixed."""
    return {prefix + key: torch.cat([c[key] for c in conditionings]) for key in conditionings[0]}


def per_image(conditioning: Conditioning, spec: GenerationSpec, indices: list[int]) -> list[Conditioning]:
    return [with_chaos(conditioning, spec.seed, index, spec.chaos) for index in indices]
