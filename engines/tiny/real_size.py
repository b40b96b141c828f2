"""Real-size `sd` (SD 1.5) and `sdxl` pipelines with random weights, built from configs (no download).

For GPU benchmarks: same architecture, same FLOPs and memory as the real checkpoints, so step
timings transfer. The configs are those of the published checkpoints' `config.json` files.
"""

from __future__ import annotations

from typing import Any

import torch

from engines.tiny.clip import clip_tokenizer

SD15_UNET: dict[str, Any] = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8,
)
SDXL_UNET: dict[str, Any] = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)
VAE: dict[str, Any] = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
)
# CLIP ViT-L/14 text tower (SD 1.5, SDXL's first encoder) and OpenCLIP ViT-bigG/14 (SDXL's second).
CLIP_L: dict[str, Any] = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                              vocab_size=49408, max_position_embeddings=77, projection_dim=768,
                              hidden_act="quick_gelu")
CLIP_BIGG: dict[str, Any] = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32,
                                 vocab_size=49408, max_position_embeddings=77, projection_dim=1280,
                                 hidden_act="gelu")
UNET_CONFIGS = {"sd": SD15_UNET, "sdxl": SDXL_UNET}
# Rough published parameter counts, for structure tests.
UNET_PARAMS = {"sd": 859_520_964, "sdxl": 2_567_463_684}


def build_unet(kind: str, **overrides: Any) -> Any:
    """The real model's UNet; `overrides` change its config (e.g. fewer transformer layers per block)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**{**UNET_CONFIGS[kind], **overrides})


def _text_encoders(kind: str) -> dict[str, Any]:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    # The in-memory byte tokenizer only emits ids < 514: fine for timing, the vocab size stays real.
    ids: dict[str, Any] = dict(bos_token_id=512, eos_token_id=513, pad_token_id=513)
    first = CLIPTextModel(CLIPTextConfig(**CLIP_L, **ids))
    if kind == "sd":
        return {"text_encoder": first, "tokenizer": clip_tokenizer()}
    second = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_BIGG, **ids))
    return {"text_encoder": first, "tokenizer": clip_tokenizer(),
            "text_encoder_2": second, "tokenizer_2": clip_tokenizer()}


def build_pipeline(kind: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                   seed: int = 0, unet_overrides: dict[str, Any] | None = None) -> Any:
    """A real-architecture SD 1.5 (`sd`) or SDXL (`sdxl`) pipeline with random weights on `device`
    (`unet_overrides`: see build_unet)."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
    )

    if kind not in UNET_CONFIGS:
        raise ValueError(f"kind must be one of {sorted(UNET_CONFIGS)}, got {kind!r}")
    torch.manual_seed(seed)
    # Creating the parameters on the target device skips a slow CPU init and a copy.
    with torch.device(device):
        unet = build_unet(kind, **(unet_overrides or {}))
        vae = AutoencoderKL(**VAE, scaling_factor=0.18215 if kind == "sd" else 0.13025)
        encoders = _text_encoders(kind)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       steps_offset=1, timestep_spacing="leading")
    # Under mypy, diffusers' lazy `__init__` resolves the pipeline names to its dummy placeholder
    # classes (no `.to`), so the pipeline is held as Any.
    pipe: Any
    if kind == "sd":
        pipe = StableDiffusionPipeline(unet=unet, vae=vae, scheduler=scheduler, safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False, **encoders)
    else:
        pipe = StableDiffusionXLPipeline(unet=unet, vae=vae, scheduler=scheduler, add_watermarker=False, **encoders)
    pipe = pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe
