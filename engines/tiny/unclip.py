"""Tiny random-weight Kandinsky 2.2 components (the prior and the MoVQ decoder), after diffusers' own
test fixtures, with a four-block MoVQ (scale factor 8) so decoding stays fast at 128 px."""

from __future__ import annotations

from typing import Any

import torch

from engines.tiny.clip import clip_tokenizer, text_config

EMBED_DIM = 32


def build_unclip() -> dict[str, Any]:
    """Kandinsky 2.2: a prior (text -> CLIP image embedding) and a MoVQ decoder, as two pipelines."""
    return {"prior": build_prior(), "decoder": build_decoder()}


def build_prior() -> Any:
    from diffusers import KandinskyV22PriorPipeline, PriorTransformer, UnCLIPScheduler
    from transformers import (
        CLIPImageProcessor,
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    torch.manual_seed(0)
    text_encoder = CLIPTextModelWithProjection(text_config(projection_dim=EMBED_DIM))
    torch.manual_seed(0)
    # Any: diffusers types the prior's modules, not the clip_mean/clip_std parameters it registers.
    prior: Any = PriorTransformer(num_attention_heads=2, attention_head_dim=12, embedding_dim=EMBED_DIM, num_layers=1)
    # The real prior's clip_std is ~1; random init leaves it at 0, which would zero every embedding.
    prior.clip_std = torch.nn.Parameter(torch.ones(prior.clip_std.shape))
    torch.manual_seed(0)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, image_size=32, projection_dim=EMBED_DIM, intermediate_size=37, num_attention_heads=4,
        num_channels=3, num_hidden_layers=2, patch_size=8,
    ))
    image_processor = CLIPImageProcessor(crop_size=32, size=32, do_center_crop=True, do_normalize=True,
                                         do_resize=True, resample=3,
                                         image_mean=[0.48145466, 0.4578275, 0.40821073],
                                         image_std=[0.26862954, 0.26130258, 0.27577711])
    scheduler = UnCLIPScheduler(variance_type="fixed_small_log", prediction_type="sample",
                                num_train_timesteps=1000, clip_sample=True, clip_sample_range=10.0)
    return KandinskyV22PriorPipeline(prior=prior, image_encoder=image_encoder, text_encoder=text_encoder,
                                     tokenizer=clip_tokenizer(), scheduler=scheduler,
                                     image_processor=image_processor)


def build_decoder() -> Any:
    from diffusers import DDPMScheduler, KandinskyV22Pipeline, UNet2DConditionModel, VQModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        in_channels=4, out_channels=8, addition_embed_type="image",
        down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn", block_out_channels=(32, 64), layers_per_block=1,
        encoder_hid_dim=EMBED_DIM, encoder_hid_dim_type="image_proj", cross_attention_dim=32,
        attention_head_dim=4, resnet_time_scale_shift="scale_shift", class_embed_type=None,
    )
    torch.manual_seed(0)
    movq = VQModel(
        block_out_channels=[32] * 4, in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=["DownEncoderBlock2D"] * 3 + ["AttnDownEncoderBlock2D"],
        up_block_types=["AttnUpDecoderBlock2D"] + ["UpDecoderBlock2D"] * 3,
        norm_num_groups=8, norm_type="spatial", num_vq_embeddings=12, vq_embed_dim=4,
    )
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=0.00085, beta_end=0.012,
                              clip_sample=False, prediction_type="epsilon", variance_type="learned_range",
                              timestep_spacing="trailing")
    return KandinskyV22Pipeline(unet=unet, scheduler=scheduler, movq=movq)
