"""IP-Adapter conditioning for the latent families (Ye et al. 2023, "IP-Adapter: Text Compatible Image
Prompt Adapter"): image prompts as content references and --sref as style references.

The catalogue's `ip_adapter` is loaded twice into the UNet through diffusers' `load_ip_adapter`, on the
first job that needs it: adapter 0 takes the image prompt over every cross-attention, scaled by --iw;
adapter 1 takes the style reference over the style blocks alone (InstantStyle's layer selection,
`set_ip_adapter_scale` with the catalogue's `style_blocks`), scaled by --sw. The references are encoded
once per job (`encode`); each chunk of images then only repeats the embeddings (`pipeline_kwargs`).
An entry with a `character_adapter` (an IP-Adapter Plus: a Resampler over the vision tower's hidden states)
loads it beside them as adapter 2, over every cross-attention: --cref's images (their `::` weights) at
`character_scale` (--cw), --oref's at `omni_scale` (--ow).

Once loaded, every call through the shared UNet needs image embeddings, so jobs without references pass
empty ones at scale 0: the adapter then adds exactly nothing and the pixels are those of no adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from engines.params import adapter_scale, character_scale, omni_scale, source_weights, style_scale
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec
from midway.errors import EngineError

# Where one adapter comes from: (hub id or folder, subfolder, weight file, image encoder folder, extra kwargs).
AdapterSource = tuple[str, str, str, str, dict[str, Any]]
CONTENT, STYLE, CHARACTER = 0, 1, 2


def parse_source(value: str) -> tuple[str, str, str]:
    """`"h94/IP-Adapter:sdxl_models/ip-adapter_sdxl.safetensors"` -> (repo, subfolder, weight name)."""
    repo, separator, path = value.rpartition(":")
    if not separator or not repo or not path.endswith((".safetensors", ".bin")):
        raise EngineError(f"ip_adapter {value!r} must read <hub id or folder>:<subfolder>/<weights>.safetensors")
    subfolder, _, weight_name = path.rpartition("/")
    return repo, subfolder, weight_name


@dataclass(frozen=True)
class Reference:
    """One side's embeddings, (1, ...) each: the weighted mean of its images, and the negative side."""

    positive: torch.Tensor
    negative: torch.Tensor
    scale: float


@dataclass(frozen=True)
class References:
    content: Reference | None = None
    style: Reference | None = None
    character: Reference | None = None


class ImageAdapter:
    def __init__(self, pipe: Any, entry: EngineEntry, source: Callable[[], AdapterSource],
                 character_source: Callable[[], AdapterSource] | None = None) -> None:
        self.pipe = pipe
        self.entry = entry
        self.source = source
        # The Plus adapter for --cref / --oref, where the entry has one (loaded with the others).
        self.character_source = character_source
        self.loaded = False
        self._blanks: dict[int, Reference] = {}
        self._zero_hidden_states: torch.Tensor | None = None

    def load(self) -> None:
        if self.loaded:
            return
        try:
            sources = [self.source()]
            if self.character_source is not None:
                sources.append(self.character_source())
            # Loaded mid-job, inside the run's inference_mode: its weights must still be ordinary tensors,
            # or a LoRA loaded later (peft sets requires_grad on the UNet's modules) fails on them.
            with torch.inference_mode(False):
                self._load(sources)
        except (OSError, ValueError, KeyError) as exc:
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            names = " and ".join(repr(name) for name in (self.entry.ip_adapter, self.entry.character_adapter) if name)
            raise EngineError(f"engine {self.entry.name!r}: cannot load its IP-Adapters {names} ({reason}); "
                              "download them first or fix the catalogue's ip_adapter / character_adapter") from exc
        self.pipe.image_encoder.to(self.pipe.unet.device)
        self.loaded = True

    def _load(self, sources: list[AdapterSource]) -> None:
        # ip_adapter twice: adapter 0 for the image prompt, adapter 1 for the style reference (each its own
        # scales); then the Plus adapter, if any. diffusers keeps one image encoder, the first adapter's: the
        # Plus adapter must be made for the same vision tower. load_ip_adapter reads a bare
        # `image_encoder_folder` next to the first adapter's weights (sd15: models/image_encoder) and one with
        # a '/' from the repo's root (sdxl's vit-h adapters under sdxl_models/: "models/image_encoder").
        repo, subfolder, weight_name, encoder, extra = sources[0]
        adapters = [(repo, subfolder, weight_name), (repo, subfolder, weight_name)]
        adapters += [(source[0], source[1], source[2]) for source in sources[1:]]
        self.pipe.load_ip_adapter([a[0] for a in adapters], subfolder=[a[1] for a in adapters],
                                  weight_name=[a[2] for a in adapters],
                                  image_encoder_folder=encoder or "image_encoder", **extra)

    def encode(self, spec: GenerationSpec, content: Sequence[Image.Image], style: Sequence[Image.Image],
               style_weights: Sequence[float] = (), characters: Sequence[Image.Image] = ()) -> References:
        """The job's references, each image through the CLIP vision encoder once. `characters`: the --cref
        images then the --oref ones, as in `spec.character_refs + spec.omni_refs`."""
        if not content and not style and not characters:
            return References()
        self.load()
        image_side = self._mean(content, source_weights(spec, len(content)), adapter_scale(spec.image_weight))
        style_side = self._mean(style, list(style_weights) or [1.0] * len(style), style_scale(spec), STYLE)
        return References(content=image_side, style=style_side, character=self.character_side(spec, characters))

    def character_side(self, spec: GenerationSpec, images: Sequence[Image.Image]) -> Reference | None:
        """--cref and --oref through the Plus adapter: the images' weighted mean (--cref's `::` weights, each
        --oref 1), at --cref's scale where there is a --cref, else --oref's."""
        if not images:
            return None
        if self.character_source is None:
            raise EngineError(f"engine {self.entry.name!r} has no character_adapter for --cref / --oref")
        crefs = len(spec.character_refs)
        weights = list(spec.character_ref_weights) or [1.0] * crefs
        weights += [1.0] * len(spec.omni_refs)
        if len(weights) != len(images):
            raise EngineError(f"{len(images)} character / omni images for {len(weights)} --cref / --oref references")
        scale = character_scale(spec) if crefs else omni_scale(spec)
        return self._mean(images, weights, scale, CHARACTER)

    def pipeline_kwargs(self, references: References, batch: int, guided: bool) -> dict[str, Any]:
        """`ip_adapter_image_embeds` for `batch` images (negative half first when guided); sets the scales."""
        if not self.loaded:
            return {}
        sides = [references.content or self.blank(CONTENT), references.style or self.blank(STYLE)]
        if self.character_source is not None:
            sides.append(references.character or self.blank(CHARACTER))
        style_blocks = scaled(self.entry.style_block_scales, sides[STYLE].scale)
        self.pipe.set_ip_adapter_scale([sides[CONTENT].scale, style_blocks, *[side.scale for side in sides[2:]]])
        embeds = []
        for side in sides:
            positive = side.positive[None].expand(batch, *side.positive.shape)
            negative = side.negative[None].expand(batch, *side.negative.shape)
            embeds.append(torch.cat([negative, positive]) if guided else positive)
        return {"ip_adapter_image_embeds": embeds}

    def blank(self, adapter: int) -> Reference:
        """Zero embeddings at scale 0, shaped as that adapter's: for a job without its references."""
        if adapter not in self._blanks:
            encoded = self._encode([Image.new("RGB", (8, 8))], adapter)
            zeros = torch.zeros_like(encoded[0][:1])
            self._blanks[adapter] = Reference(zeros, zeros, 0.0)
        return self._blanks[adapter]

    def _mean(self, images: Sequence[Image.Image], weights: Sequence[float], scale: float,
              adapter: int = CONTENT) -> Reference | None:
        if not images:
            return None
        positive, negative = self._encode(images, adapter)
        w = torch.tensor(weights, dtype=positive.dtype, device=positive.device)
        w = (w / w.sum()).reshape(-1, *[1] * (positive.dim() - 1))
        return Reference((positive * w).sum(0, keepdim=True), (negative * w).sum(0, keepdim=True), scale)

    def _encode(self, images: Sequence[Image.Image], adapter: int) -> tuple[torch.Tensor, torch.Tensor]:
        from diffusers.models.embeddings import ImageProjection

        # Plain IP-Adapters project the pooled embedding; the "plus" ones resample the hidden states.
        layer = self.pipe.unet.encoder_hid_proj.image_projection_layers[adapter]
        rgb = [image.convert("RGB") for image in images]
        if isinstance(layer, ImageProjection):
            positive, negative = self.pipe.encode_image(rgb, self.pipe.unet.device, 1, False)
            return positive, negative
        return self._hidden_states(rgb)

    def _hidden_states(self, rgb: list[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        """The vision tower's penultimate hidden states, as diffusers' encode_image returns them for a Plus
        adapter. Its negative side is the tower's output for an all-zero input, the same for every job: encoded
        once per engine, not once per reference and job (encode_image runs the tower twice per call)."""
        encoder = self.pipe.image_encoder
        pixels = self.pipe.feature_extractor(rgb, return_tensors="pt").pixel_values
        pixels = pixels.to(device=self.pipe.unet.device, dtype=next(encoder.parameters()).dtype)
        positive = encoder(pixels, output_hidden_states=True).hidden_states[-2]
        if self._zero_hidden_states is None:
            zeros = torch.zeros_like(pixels[:1])
            self._zero_hidden_states = encoder(zeros, output_hidden_states=True).hidden_states[-2]
        return positive, self._zero_hidden_states.to(positive).expand_as(positive)


def scaled(blocks: Any, factor: float) -> Any:
    """The InstantStyle block table with every scale multiplied by `factor`."""
    if isinstance(blocks, dict):
        return {key: scaled(value, factor) for key, value in blocks.items()}
    if isinstance(blocks, list):
        return [scaled(value, factor) for value in blocks]
    return float(blocks) * factor
