"""Does a loaded checkpoint have the architecture of its catalogue kind? (`midway models add` asks.)

diffusers loads a folder into a pipeline class of another family without complaint (an SD 1.5 folder
becomes a StableDiffusionXLPipeline whose second text encoder is None), and the mistake would only show
on the first job as a shape error. These checks read the loaded modules' configs instead:
- sd: one CLIP text encoder whose width is the UNet's cross-attention width (768 for SD 1.x, 1024 for
  SD 2.x), and a UNet without SDXL's size/crop ("text_time") embeddings;
- sdxl: two text encoders and a UNet with "text_time" embeddings (SDXL's micro-conditioning);
- flux: a FluxTransformer2DModel as the denoiser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from midway.errors import EngineError

# The pipeline class each kind loads with (engines/registry.py), named as model_index.json names it.
PIPELINE_CLASSES = {"sd": "StableDiffusionPipeline", "sdxl": "StableDiffusionXLPipeline", "flux": "FluxPipeline"}
# What a folder declaring one of these classes is, for the message when it is given the wrong kind.
KIND_OF_CLASS = {cls: kind for kind, cls in PIPELINE_CLASSES.items()}


def architecture_problem(pipe: Any, kind: str) -> str | None:
    """Why `pipe` (loaded for `kind`) is not a `kind` model, or None when it is."""
    unet = getattr(pipe, "unet", None)
    embedding = getattr(getattr(unet, "config", None), "addition_embed_type", None)
    second_encoder = getattr(pipe, "text_encoder_2", None)
    if kind == "flux":
        transformer = getattr(pipe, "transformer", None)
        if type(transformer).__name__ != "FluxTransformer2DModel":
            return f"its denoiser is a {type(transformer).__name__}, not a FluxTransformer2DModel"
        return None
    if unet is None:
        return f"it has no UNet (a {type(getattr(pipe, 'transformer', None)).__name__} denoiser)"
    if kind == "sdxl":
        if embedding != "text_time" or second_encoder is None:
            return ("its UNet has no SDXL size/crop embeddings (addition_embed_type "
                    f"{embedding!r}) or it lacks the second text encoder: an SD 1.x/2.x checkpoint? (--kind sd)")
        return None
    if embedding == "text_time" or second_encoder is not None:
        return "its UNet takes SDXL's size/crop embeddings and a second text encoder: an SDXL checkpoint? (--kind sdxl)"
    width = getattr(getattr(getattr(pipe, "text_encoder", None), "config", None), "hidden_size", None)
    cross = unet.config.cross_attention_dim
    if width != cross:
        return f"its text encoder is {width} wide but its UNet attends to {cross}-wide text: not one SD model"
    return None


def declared_kind(source: str) -> str | None:
    """The kind a diffusers folder's model_index.json declares (None: not a folder, or another class)."""
    try:
        index = json.loads((Path(source).expanduser() / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return KIND_OF_CLASS.get(index.get("_class_name", "")) if isinstance(index, dict) else None


def check_architecture(pipe: Any, kind: str, name: str, source: str) -> None:
    """EngineError naming the entry and the source when the loaded pipeline is not of `kind`."""
    problem = architecture_problem(pipe, kind)
    if problem is not None:
        raise EngineError(f"engine {name!r}: {source} is not a {kind} model: {problem}")
