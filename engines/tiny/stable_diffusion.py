"""Tiny random-weight pipelines of the real diffusers (and transformers) classes, for tests and the offline demo.

This package builds them (SD and SDXL here; engines/tiny/flux.py, unclip.py, upscaler.py and caption.py the
others); production code never imports it: the registry resolves a `tiny` entry to its built folder.

Built from small configs with fixed seeds, saved once with `save_pretrained` into
`<state_dir>/models/<name>`, then loaded through the same `from_pretrained` path as real engines.
The VAE has four blocks (scale factor 8, like the real one): with the usual two-block test VAE a
256 px image has 16k latent tokens and attention makes it ~100x slower.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from midway.catalogue import EngineEntry

# Bump when a recipe changes, so stale caches are rebuilt.
RECIPE_VERSION = 3
MARKER = "midway-tiny.json"
# The catalogue value of `upscaler` that selects the tiny x4 upscaler, and its cache folder name.
TINY_UPSCALER = "tiny-x4-upscaler"


def clip_tokenizer() -> Any:
    """A byte-level CLIP tokenizer built in memory (no files, no download): every byte is a token."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab: dict[str, int] = {}
    for symbol in alphabet + [s + "</w>" for s in alphabet] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(symbol, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _text_config(projection_dim: int = 32) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                          vocab_size=514, max_position_embeddings=77, projection_dim=projection_dim,
                          bos_token_id=512, eos_token_id=513, pad_token_id=513)


def _vae() -> Any:
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=[32] * 4, in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        layers_per_block=1, norm_num_groups=32, sample_size=128)
    # A trained VAE's posterior is nearly a point; random weights give std ~1, which would drown the
    # image in img2img. Pin the log-variance half of quant_conv to a trained-like -12.
    with torch.no_grad():
        vae.quant_conv.weight[4:] = 0
        vae.quant_conv.bias[4:] = -12.0
    # Like SD's 0.18215: scale latents to unit variance, so img2img noise levels mean what they say.
    images = torch.nn.functional.interpolate(torch.rand(8, 3, 8, 8, generator=torch.Generator().manual_seed(0)),
                                             size=64, mode="bilinear") * 2 - 1
    with torch.no_grad():
        spread = vae.encode(images).latent_dist.mean.std().item()
    vae.register_to_config(scaling_factor=round(1 / spread, 5))
    return vae


def build_sd() -> Any:
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=32, attention_head_dim=8)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_text_config())
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", steps_offset=1)
    return StableDiffusionPipeline(vae=_vae(), text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)


def build_sdxl() -> Any:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
                                use_linear_projection=True, addition_embed_type="text_time",
                                addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
                                projection_class_embeddings_input_dim=80, cross_attention_dim=64,
                                norm_num_groups=32)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_text_config())
    torch.manual_seed(1)
    text_encoder_2 = CLIPTextModelWithProjection(_text_config())
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", steps_offset=1)
    return StableDiffusionXLPipeline(vae=_vae(), text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=clip_tokenizer(), tokenizer_2=clip_tokenizer(), unet=unet,
                                     scheduler=scheduler, add_watermarker=False)


def build_unclip() -> dict[str, Any]:
    """Kandinsky 2.2: a prior (text -> CLIP image embedding) and a MoVQ decoder, as two pipelines."""
    from engines.tiny.unclip import build_decoder, build_prior

    return {"prior": build_prior(clip_tokenizer, _text_config), "decoder": build_decoder()}


def build_flux() -> Any:
    from engines.tiny.flux import build_flux as build

    return build(clip_tokenizer, _text_config)


def build_caption() -> Any:
    """BLIP, the captioner /describe runs: a vision encoder and a text decoder, with its processor."""
    from engines.tiny.caption import build_caption as build

    return build()


BUILDERS = {"sd": build_sd, "sdxl": build_sdxl, "unclip": build_unclip, "flux": build_flux, "caption": build_caption}


def tiny_dir(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    if state_dir is None:
        from midway.settings import Settings

        # Read the environment now (not the cached settings), so tests can point MIDWAY_STATE_DIR anywhere.
        state_dir = Settings().state_dir
    return Path(state_dir) / "models" / entry.name


def ensure_tiny(entry: EngineEntry, state_dir: Path | None = None) -> Path:
    """The cache folder of a tiny engine, built (once) if missing or from an older recipe."""
    return _build_once(tiny_dir(entry, state_dir), entry.family, BUILDERS[entry.family])


def ensure_tiny_upscaler(state_dir: Path | None = None) -> Path:
    """The cache folder of the tiny SD x4 upscaler (`upscaler = "tiny"` in the catalogue), shared by
    every tiny engine that names it."""
    from engines.tiny.upscaler import build_upscaler

    folder = tiny_dir(EngineEntry(name=TINY_UPSCALER, kind="tiny"), state_dir)
    return _build_once(folder, "x4-upscaler", lambda: build_upscaler(clip_tokenizer, _text_config))


def _build_once(folder: Path, family: str, build: Callable[[], Any]) -> Path:
    marker = {"family": family, "recipe": RECIPE_VERSION}
    try:
        if json.loads((folder / MARKER).read_text()) == marker:
            return folder
    except (OSError, ValueError):
        pass
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    built = build()
    if isinstance(built, dict):
        for part, pipe in built.items():
            pipe.save_pretrained(staging / part)
    else:
        built.save_pretrained(staging)
    (staging / MARKER).write_text(json.dumps(marker))
    # Build aside, then swap in: a concurrent reader never sees a half-written folder.
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process won the race; its copy is identical
    return folder
