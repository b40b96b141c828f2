"""A tiny random-weight FLUX.1 pipeline: the real classes (CLIP + T5 text encoders, a rectified-flow
`FluxTransformer2DModel`, a 16-channel VAE, `FlowMatchEulerDiscreteScheduler`) at toy sizes.

FLUX's second tokenizer is T5's SentencePiece Unigram model, which cannot be downloaded offline, so
`t5_tokenizer` builds one in memory: a Unigram vocabulary of single characters (every printable
ASCII character, with and without the word-start marker `▁`), wrapped in transformers' T5 tokenizer
class so it saves as `tokenizer.json` and loads back through `from_pretrained` like the real one.
"""

from __future__ import annotations

import string
from typing import Any

import torch

from engines.tiny.clip import clip_tokenizer, text_config

# The tiny T5's context: Flux pads prompts to max_sequence_length; 512 tokens would be wasted here.
T5_MAX_LENGTH = 64
LATENT_CHANNELS = 16


def t5_tokenizer() -> Any:
    """A character-level T5 tokenizer (Unigram), built without files."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    characters = string.ascii_letters + string.digits + string.punctuation
    pieces += [("▁" + char, -3.0) for char in characters] + [(char, -4.0) for char in characters]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=T5_MAX_LENGTH)


def _t5_encoder(vocab_size: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    # The token ids go through PretrainedConfig's **kwargs, which T5Config's typed signature leaves out.
    token_ids: dict[str, Any] = {"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0}
    torch.manual_seed(0)
    return T5EncoderModel(T5Config(vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                   relative_attention_num_buckets=8, **token_ids))


def _vae() -> Any:
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    # Four blocks (scale factor 8) like FLUX's own VAE; FLUX has no quant convs.
    vae = AutoencoderKL(block_out_channels=[32] * 4, in_channels=3, out_channels=3,
                        latent_channels=LATENT_CHANNELS, down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=1, norm_num_groups=32,
                        sample_size=128, use_quant_conv=False, use_post_quant_conv=False,
                        shift_factor=0.0, scaling_factor=1.0)
    return vae


def build_flux() -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    tokenizer_2 = t5_tokenizer()
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(text_config())
    # in_channels = 16 latent channels x a 2x2 patch, as FLUX packs them; guidance is a model input (dev).
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(patch_size=1, in_channels=4 * LATENT_CHANNELS, num_layers=1,
                                         num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
                                         joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=True,
                                         axes_dims_rope=[4, 4, 8])
    # FLUX.1-dev's schedule: the shift grows with the image's token count.
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True,
                                                base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
                                                max_image_seq_len=4096)
    return FluxPipeline(scheduler=scheduler, vae=_vae(), text_encoder=text_encoder, tokenizer=clip_tokenizer(),
                        text_encoder_2=_t5_encoder(len(tokenizer_2)), tokenizer_2=tokenizer_2,
                        transformer=transformer)
