"""A tiny random-weight SD x4 upscaler (`StableDiffusionUpscalePipeline`), the `upscaler = "tiny-x4-upscaler"`
of tiny engines, so a 4x creative upscale runs the real upscaler code path offline.

The real x4 upscaler denoises latents at the *input* resolution, conditioned on the low-res image
concatenated as 3 extra UNet input channels (7 in all) and on its noise level (class embedding), then
decodes them with a 3-block VAE (scale factor 4): hence 4x. Self-attention is left out (cross-attention
only, no VAE mid-block attention): at the 4x output size it would be quadratic in the pixel count.
"""

from __future__ import annotations

from typing import Any

import torch

from engines.tiny.clip import clip_tokenizer, text_config


def build_upscaler() -> Any:
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16, 32), layers_per_block=1, sample_size=32, in_channels=7,
                                out_channels=4, down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=8, use_linear_projection=True, only_cross_attention=True,
                                num_class_embeds=1000, norm_num_groups=8)
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=[8, 16, 32], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
                        layers_per_block=1, norm_num_groups=8, sample_size=2048, mid_block_add_attention=False,
                        scaling_factor=0.08333)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(text_config())
    # The published x4 upscaler's schedulers: DDIM with v-prediction; DDPM noises the low-res input.
    scheduler = DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.0001, beta_end=0.02,
                              prediction_type="v_prediction", timestep_spacing="trailing", set_alpha_to_one=False)
    low_res_scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.0001, beta_end=0.02)
    return StableDiffusionUpscalePipeline(vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
                                          low_res_scheduler=low_res_scheduler, scheduler=scheduler,
                                          max_noise_level=350)
