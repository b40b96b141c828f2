"""Tiny random-weight Stable Diffusion 1.x and SDXL pipelines (UNet, CLIP text encoders, VAE, Euler).

The VAE has four blocks (scale factor 8, like the real one): with the usual two-block test VAE a
256 px image has 16k latent tokens and attention makes it ~100x slower.
"""

from __future__ import annotations

from typing import Any

import torch

from engines.tiny.clip import clip_tokenizer, text_config


def _vae() -> Any:
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    # Any: diffusers' model classes type only part of their API (quant_conv, encode, register_to_config).
    vae: Any = AutoencoderKL(block_out_channels=[32] * 4, in_channels=3, out_channels=3, latent_channels=4,
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
    text_encoder = CLIPTextModel(text_config())
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
    text_encoder = CLIPTextModel(text_config())
    torch.manual_seed(1)
    text_encoder_2 = CLIPTextModelWithProjection(text_config())
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", steps_offset=1)
    return StableDiffusionXLPipeline(vae=_vae(), text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=clip_tokenizer(), tokenizer_2=clip_tokenizer(), unet=unet,
                                     scheduler=scheduler, add_watermarker=False)
