"""Prompt -> conditioning tensors: `::` weights, `--no`, `--weird` and `--chaos`, shared by every family.

A conditioning is a dict of the pipeline's embedding kwargs (`prompt_embeds`, `pooled_prompt_embeds`
for SDXL/Flux, `image_embeds` for unCLIP). Weighted prompts combine the embeddings of each part by
normalised weight (Midjourney normalises `::` weights too); parts with negative weights and the
`--no` text go to the negative side, combined the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch

from engines.params import chaos_amount, chaos_seed, weird_amount, weird_seed
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
    # In a `::` multi-prompt the `--no` items are among the weights already, at -0.5 each
    # (midway/prompt/multiprompt.py): adding negative_prompt too would count them twice.
    if spec.negative_prompt and not spec.weights:
        parts.append((spec.negative_prompt, 1.0))
    return parts


def weighted_sum(conditionings: list[Conditioning], weights: list[float]) -> Conditioning:
    total = sum(weights)
    # sum() starts from 0, so its type admits 0; with at least one conditioning it is a tensor.
    return {
        key: cast(torch.Tensor, sum(c[key] * (w / total) for c, w in zip(conditionings, weights, strict=True)))
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
    return _with_noise(conditioning, chaos_seed(seed, index), chaos_amount(chaos), per_row=True)


def with_weird(conditioning: Conditioning, seed: int, weird: int) -> Conditioning:
    """The job's --weird shift of the conditioning: one noise direction from the job's seed, the same for
    every row of a batched tensor (every image), scaled by weird_amount of the tensor's spread."""
    return _with_noise(conditioning, weird_seed(seed), weird_amount(weird), per_row=False)


def _with_noise(conditioning: Conditioning, seed: int, amount: float, *, per_row: bool) -> Conditioning:
    """Each tensor plus CPU-seeded Gaussian noise of `amount` times its spread: noise of its own for each
    row (`per_row`), or one row of noise shared by all rows."""
    if amount == 0:
        return conditioning
    generator = torch.Generator("cpu").manual_seed(seed)
    noisy = {}
    for key, tensor in conditioning.items():
        shape = tensor.shape if per_row else (1, *tensor.shape[1:])
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        scale = tensor.float().std() * amount
        noisy[key] = tensor + (noise * scale).to(tensor.device, tensor.dtype)
    return noisy


def slerp(start: torch.Tensor, end: torch.Tensor, fraction: float) -> torch.Tensor:
    """Spherical interpolation of the rows' directions, linear of their norms (DALL·E 2 §3 mixes
    CLIP embeddings this way: a straight line would pass through short, atypical embeddings)."""
    start_norm, end_norm = start.norm(dim=-1, keepdim=True), end.norm(dim=-1, keepdim=True)
    a, b = start / start_norm.clamp_min(1e-8), end / end_norm.clamp_min(1e-8)
    angle = torch.acos((a * b).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    direction = (torch.sin((1 - fraction) * angle) * a + torch.sin(fraction * angle) * b) / torch.sin(angle)
    return direction * (start_norm + fraction * (end_norm - start_norm))


def spherical_mean(rows: torch.Tensor, weights: list[float], iterations: int = 50) -> torch.Tensor:
    """(1, D): the weighted Karcher mean of the rows' directions on the unit sphere (Buss & Fillmore 2001,
    "Spherical averages and applications"), with the weighted mean of their norms.

    Unlike chained slerps it does not depend on the rows' order; for two rows it is exactly
    slerp(first, second, w2 / (w1 + w2)). Fixed-point iteration: average the rows in the tangent space at
    the current estimate (log map), step there (exp map), until the step vanishes.
    """
    rows = rows.float()
    w = torch.tensor(weights, dtype=rows.dtype, device=rows.device).unsqueeze(-1)
    w = w / w.sum()
    norms = rows.norm(dim=-1, keepdim=True)
    units = rows / norms.clamp_min(1e-8)
    mean = (w * units).sum(0, keepdim=True)
    mean = mean / mean.norm().clamp_min(1e-8)
    for _ in range(iterations):
        cos = (units * mean).sum(-1, keepdim=True).clamp(-1.0, 1.0)
        tangent = units - cos * mean
        length = tangent.norm(dim=-1, keepdim=True)
        logs = tangent / length.clamp_min(1e-12) * torch.acos(cos)
        step = (w * logs).sum(0, keepdim=True)
        size = step.norm()
        if size < 1e-7:
            break
        mean = torch.cos(size) * mean + torch.sin(size) * step / size
        mean = mean / mean.norm()
    return mean * (w * norms).sum()


def batch(conditionings: list[Conditioning], prefix: str = "") -> dict[str, torch.Tensor]:
    """Stack per-image conditionings (each batch 1) into pipeline kwargs, optionally `negative_`-prefixed."""
    return {prefix + key: torch.cat([c[key] for c in conditionings]) for key in conditionings[0]}


def per_image(conditioning: Conditioning, spec: GenerationSpec, indices: list[int]) -> list[Conditioning]:
    shifted = with_weird(conditioning, spec.seed, spec.weird)
    return [with_chaos(shifted, spec.seed, index, spec.chaos) for index in indices]
