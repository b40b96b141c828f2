"""Midjourney parameters -> sampler settings. Pure functions, no torch: the bot may show these too.

The mappings are documented here and nowhere else:
- seeds: image i of a job with seed s uses seed (s + i) mod 2**32, for its latent noise and for its
  chaos perturbation alike, so image i re-runs alone as a single-image job with seed s + i;
- `--q` scales the step count (Midjourney: "only changes GPU time");
- `--draft` runs the catalogue's `draft_steps` instead of `steps` (and its `draft_guidance`, if any, as the
  base guidance below); an engine with a `draft_engine` has its drafts planned onto that engine instead;
- `--s` maps to guidance: guidance = base * (0.5 + 0.5 * sqrt(s / 100)), so s=100 keeps the
  catalogue's guidance, s=0 halves it and s=1000 roughly doubles it (more "opinionated" images);
  an engine whose base guidance is 0 (turbo, schnell) stays at 0;
- `--style raw` ("less of Midjourney's default aesthetic, closer to the literal prompt") scales the
  stylize that goes into that formula by RAW_STYLIZE, so raw at the default s=100 guides like s=25
  (3/4 of the catalogue's guidance; `guidance_scale` and RAW_STYLIZE live in midway/catalogue.py, since the
  bot reads them too); other styles (4a-4c, Niji 5's, tuner codes) have no counterpart;
- `--stop N` runs ceil(steps * N / 100) steps, then decodes the model's denoised estimate;
- `--chaos C` perturbs each image's text embedding by C/100 * CHAOS_SCALE of its spread, with noise
  from that image's seed, so the four images drift apart as C grows;
- `--weird W` moves the whole job's conditioning (all four images alike, before chaos) by
  WEIRD_SCALE * sqrt(W / 3000) of its spread, in a direction drawn from the job's seed: the grid stays
  a set of siblings that together leave the prompt's usual look, further as W grows (sqrt, so the
  250-1000 range Midjourney suggests is already visible); derived jobs have new seeds, so a variation
  of a weird image is weird in its own way (Midjourney: weird is "only partly compatible with seeds");
- unCLIP variations (DALL·E 2): the source image's CLIP image embedding is decoded with new seeds;
  strength s moves image i's embedding along the great circle towards the prompt's prior embedding
  by s * EMBED_PULL of the arc, then adds noise of s * EMBED_NOISE of its spread (from image i's seed),
  so subtle (0.35) stays near the source and strong (0.7) drifts further; s = 0 re-decodes the source;
- image prompts (`/imagine <url> text --iw W`): the image side gets the share W / (W + 1) and the text
  side 1 / (W + 1) (Midjourney's 2022 docs weigh the image against the text the same way; --iw 1, the
  default, is half and half; --iw 0 ignores the image; --iw 3 is 3/4 image). unCLIP slerps each image's
  prior embedding towards the images' CLIP embedding by that share; latent-diffusion engines run img2img
  from the first image with strength 1 / (W + 1), the share of the noise schedule the text re-paints;
  engines whose catalogue entry has an `ip_adapter` (image_prompts = "adapter") instead condition every
  cross-attention on the images' mean CLIP image embedding (weighted by `image_weights`) through
  IP-Adapter at scale W / (W + 1) (`adapter_scale`; engines/image_adapter.py); FLUX engines with a `redux`
  (image_prompts = "redux") append the images' FLUX Redux tokens (weighted by `image_weights`) to the
  prompt's T5 tokens, scaled by 2 W / (W + 1) (`redux_scale`: --iw 1 is the prior's own scale 1.0, --iw 0
  drops the tokens, --iw 3 is 1.5; engines/redux.py);
- `--cref` / `--oref` (character / omni references): through the IP-Adapter Plus on sd/sdxl, through FLUX
  Redux's tokens (after the image prompt's) on flux, at `character_scale` (--cw) where there is a --cref,
  else `omni_scale` (--ow); the same scales serve both, since 1.0 is the Plus adapter's full scale and
  Redux's own token scale alike;
- `--sref` (style references, IP-Adapter engines): the references' weighted mean embedding goes only
  to the style blocks (InstantStyle), at sqrt(sw / 100) times the block's scale (`style_scale`);
- /blend (unCLIP only): the weighted spherical mean of the 2-5 images' CLIP image embeddings (the
  Karcher mean on the unit sphere, with the weighted mean of their norms), decoded with the four seeds.
  Order does not matter, weights (`image_weights`, equal by default) do; for two images of weights a
  and b it is the slerp from the first to the second by b / (a + b).
"""

from __future__ import annotations

import math

from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec, Operation
from midway.errors import EngineError

SEED_MODULUS = 2**32
# Relative std of the per-image embedding noise at --chaos 100.
CHAOS_SCALE = 0.6
# Relative std of the job-wide embedding shift at --weird 3000, and the style whose stylize is scaled.
WEIRD_SCALE = 0.5
WEIRD_MAX = 3000
WEIRD_STREAM = 0xC2B2AE35
# Offset that keeps the chaos generator's stream apart from the latent-noise stream of the same seed.
CHAOS_STREAM = 0x9E3779B9
# unCLIP variations: fraction of the arc towards the prompt's embedding, and relative noise, at strength 1.
EMBED_PULL = 0.5
EMBED_NOISE = 0.5
# Keeps the variation-noise stream apart from the latent-noise and chaos streams of the same seed.
VARIATION_STREAM = 0x85EBCA6B
# /blend takes 2-5 images, as Midjourney's does.
BLEND_MIN_IMAGES = 2
BLEND_MAX_IMAGES = 5
# Image-prompt img2img never goes below this strength: at 0 the text could change nothing at all.
MIN_IMAGE_PROMPT_STRENGTH = 0.05


def image_seed(seed: int, index: int) -> int:
    """The seed of image `index` of a job seeded `seed`."""
    return (seed + index) % SEED_MODULUS


def chaos_seed(seed: int, index: int) -> int:
    return (image_seed(seed, index) ^ CHAOS_STREAM) % SEED_MODULUS


def weird_seed(seed: int) -> int:
    """The seed of a job's --weird direction: the job's, not an image's, so all four share it."""
    return (seed ^ WEIRD_STREAM) % SEED_MODULUS


def weird_amount(weird: int) -> float:
    return WEIRD_SCALE * math.sqrt(max(0, min(weird, WEIRD_MAX)) / WEIRD_MAX)


def variation_seed(seed: int, index: int) -> int:
    return (image_seed(seed, index) ^ VARIATION_STREAM) % SEED_MODULUS


def embedding_drift(strength: float) -> tuple[float, float]:
    """(arc fraction towards the prompt, relative noise) of an unCLIP variation of this strength."""
    strength = max(0.0, min(strength, 1.0))
    return strength * EMBED_PULL, strength * EMBED_NOISE


def image_prompt_share(image_weight: float) -> float:
    """The image side's share of an image prompt: iw / (iw + 1)."""
    image_weight = max(0.0, image_weight)
    return image_weight / (image_weight + 1)


def image_prompt_strength(image_weight: float) -> float:
    """Img2img strength of an image prompt on a latent-diffusion engine: the text's share, 1 / (iw + 1)."""
    return max(MIN_IMAGE_PROMPT_STRENGTH, 1 - image_prompt_share(image_weight))


def adapter_scale(image_weight: float) -> float:
    """IP-Adapter scale of an image prompt: the image side's share, so --iw 1 is the adapter's usual 0.5
    (half image, half text), --iw 0 adds nothing and --iw 3 is 0.75."""
    return image_prompt_share(image_weight)


def redux_scale(image_weight: float) -> float:
    """Scale of an image prompt's FLUX Redux tokens: twice the image side's share, so the default --iw 1 is
    FluxPriorReduxPipeline's own prompt_embeds_scale of 1.0, --iw 0 adds nothing and the scale stays below 2
    (beyond it the tokens outweigh the text entirely)."""
    return 2 * image_prompt_share(image_weight)


def character_scale(spec: GenerationSpec) -> float:
    """IP-Adapter Plus scale of --cref: 0.3 + 0.7 * cw / 100, so --cw 0 is a light touch that keeps mostly the
    face / identity and the default --cw 100 is the adapter's full 1.0 (the whole character: face, hair,
    clothes). The tiny and the catalogue's adapters are one image adapter: --cw scales it, it does not crop."""
    return 0.3 + 0.7 * spec.character_weight / 100


def omni_scale(spec: GenerationSpec) -> float:
    """IP-Adapter Plus scale of --oref (the whole image): min(1, ow / 100) * 0.8, so the default --ow 100 is
    0.8 and lower --ow fades it linearly; above 100 it stays at 0.8 (higher scales drown the prompt)."""
    return min(1.0, spec.omni_weight / 100) * 0.8


def style_scale(spec: GenerationSpec) -> float:
    """IP-Adapter scale of the style blocks under --sref: sqrt(sw / 100), so the default --sw 100 is
    InstantStyle's 1.0, --sw 0 adds nothing and --sw 1000 about 3.2 (Midjourney's top is "strong", not
    "ten times"; the square root keeps it in the range where a UNet still draws)."""
    return math.sqrt(max(0, spec.style_weight) / 100)


def source_weights(spec: GenerationSpec, count: int) -> list[float]:
    """Relative weights of the spec's `count` source images (equal unless `image_weights` says)."""
    if not spec.image_weights:
        return [1.0] * count
    weights = spec.image_weights
    if len(weights) != count or min(weights) < 0 or sum(weights) <= 0:
        raise EngineError(f"image weights {weights} do not fit {count} images (one non-negative weight each)")
    return list(spec.image_weights)


def chaos_amount(chaos: int) -> float:
    return CHAOS_SCALE * max(0, min(chaos, 100)) / 100


def step_count(spec: GenerationSpec, entry: EngineEntry) -> int:
    """Steps before `--stop`: the spec's steps or the catalogue's (its `draft_steps` for a `--draft`),
    scaled by `--q`."""
    base = spec.steps or entry.steps
    if spec.draft and entry.draft_steps is not None:
        base = min(base, entry.draft_steps)
    quality = spec.quality if spec.operation in (Operation.imagine, Operation.reroll) else 1.0
    return max(1, round(base * quality))


def stop_steps(total: int, stop: int) -> int:
    """How many of `total` steps run under `--stop` (10-100 percent)."""
    return max(1, min(total, math.ceil(total * stop / 100)))


def variation_strength(spec: GenerationSpec, entry: EngineEntry) -> float:
    """Img2img strength of a variation; Midjourney's default variation mode is High (strong)."""
    if spec.strength is not None:
        return spec.strength
    return entry.variation_strength_strong


def upscale_strength(spec: GenerationSpec, entry: EngineEntry) -> float:
    return spec.strength if spec.strength is not None else entry.upscale_strength
