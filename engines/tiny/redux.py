"""A tiny random-weight FLUX.1 Redux prior: diffusers' FluxPriorReduxPipeline with a toy SigLIP vision tower
and a `ReduxImageEncoder` that maps its patch features to the tiny FLUX's text-token width.

Saved without text encoders, as black-forest-labs/FLUX.1-Redux-dev ships (image_encoder, feature_extractor,
image_embedder only), and loaded back through the same `FluxPriorReduxPipeline.from_pretrained` as the real one.
"""

from __future__ import annotations

from typing import Any

import torch

# The SigLIP tower's input side and patch: (32 / 4)^2 = 64 image tokens, as many as the tiny T5's context
# (the real so400m-384 makes 729 against T5's 512).
IMAGE_SIZE = 32
PATCH_SIZE = 4
VISION_WIDTH = 32
TOKEN_GAIN = 3.0


def build_redux(joint_attention_dim: int) -> Any:
    """The prior for a FLUX transformer whose text tokens are `joint_attention_dim` wide."""
    from diffusers import FluxPriorReduxPipeline
    from diffusers.pipelines.flux.modeling_flux import ReduxImageEncoder
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(5)
    encoder = SiglipVisionModel(SiglipVisionConfig(hidden_size=VISION_WIDTH, intermediate_size=37,
                                                   num_attention_heads=4, num_hidden_layers=2,
                                                   image_size=IMAGE_SIZE, patch_size=PATCH_SIZE))
    torch.manual_seed(6)
    embedder = ReduxImageEncoder(redux_dim=VISION_WIDTH, txt_in_features=joint_attention_dim)
    with torch.no_grad():
        # Tokens about as strong as the tiny T5's, so a reference visibly moves a random-weight transformer
        # (default initialisation leaves them a fifth of the text's spread; the real ones are trained).
        embedder.redux_down.weight.mul_(TOKEN_GAIN)
    # SigLIP's own preprocessing (resize, rescale, normalise to [-1, 1]) at the tower's size.
    processor = SiglipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return FluxPriorReduxPipeline(image_encoder=encoder, feature_extractor=processor, image_embedder=embedder)
