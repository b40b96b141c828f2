"""FLUX.1 (schnell/dev): a rectified-flow transformer with CLIP + T5 text encoders, via FluxPipeline.

Flux is guidance-distilled: `guidance` is an input of the model (dev) or ignored (schnell), so there
is no unconditional pass. `--no` therefore switches on diffusers' "true CFG" with TRUE_CFG_SCALE,
which doubles the compute of that job.

Image prompts go through the catalogue's FLUX Redux prior when the entry has one (engines/redux.py): the
images' tokens follow the prompt's T5 tokens; otherwise the first image is the img2img start. --cref / --oref
go through the same prior whenever the entry has one (whatever its image_prompts): their tokens follow the
image prompt's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from PIL import Image

from engines import conditioning as cond
from engines.diffusion import Plan
from engines.latent import REFERENCE_OPERATIONS, LatentDiffusionEngine
from engines.monitor import StepMonitor
from engines.preview import preview_image
from engines.redux import ReduxPrior, ReduxSource, append, character_group, image_prompt_group
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec

TRUE_CFG_SCALE = 4.0
MAX_SEQUENCE_LENGTH = 512


class FluxEngine(LatentDiffusionEngine):
    family = "flux"
    _size: tuple[int, int] = (1024, 1024)

    def __init__(self, entry: EngineEntry, pipe: Any, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__(entry, pipe, device, dtype)
        # Loaded on the first image prompt or --cref / --oref; the registry points "tiny-redux" at its built folder.
        self.redux_source: Callable[[], ReduxSource] = lambda: (entry.redux, {})
        self.redux = ReduxPrior(entry, device, dtype, lambda: self.redux_source()) if entry.redux else None

    def conditions_on_images(self) -> bool:
        return self.redux is not None and self.entry.image_prompt_mode == "redux"

    def with_references(self, spec: GenerationSpec, plan: Plan, style: tuple[Image.Image, ...],
                        characters: tuple[Image.Image, ...] = ()) -> Plan:
        plan = super().with_references(spec, plan, style, characters)
        if self.redux is None or spec.operation not in REFERENCE_OPERATIONS:
            return plan
        content = plan.sources if self.conditions_on_images() else ()
        if not content and not characters:
            return plan  # nothing to encode: the prior is not even loaded
        tokens = self.redux.encode_groups([image_prompt_group(spec, content), character_group(spec, characters)])
        return replace(plan, image_tokens=tokens)

    def encode(self, text: str) -> cond.Conditioning:
        # T5's context is padded to max_sequence_length (512 at most); a smaller tokenizer caps it.
        length = min(MAX_SEQUENCE_LENGTH, self.pipe.tokenizer_2.model_max_length)
        embeds, pooled, _ = self.pipe.encode_prompt(prompt=text, prompt_2=None, device=self.device,
                                                    num_images_per_prompt=1, max_sequence_length=length)
        return {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled}

    def conditioning_kwargs(self, spec: GenerationSpec, indices: list[int], plan: Plan) -> dict[str, Any]:
        # The image tokens join before --weird and --chaos, which then move the whole conditioning.
        positive = append(cond.encode_weighted(self.encode, cond.positive_parts(spec)), plan.image_tokens)
        kwargs: dict[str, Any] = cond.batch(cond.per_image(positive, spec, indices))
        negatives = cond.negative_parts(spec)
        if negatives:
            # True CFG needs both sides the same length; with the image on both, `--no` removes only its text.
            negative = append(cond.encode_weighted(self.encode, negatives), plan.image_tokens)
            kwargs.update(cond.batch([negative] * len(indices), prefix="negative_"))
            kwargs["true_cfg_scale"] = TRUE_CFG_SCALE
        return kwargs

    def img2img_steps(self, steps: int, strength: float) -> tuple[int, int]:
        """FluxImg2ImgPipeline counts differently from SD's: it skips int(steps - steps * strength) of the
        schedule and runs the rest (its get_timesteps, mirrored here so progress and --stop match).
        A schedule that skips nothing starts at sigma 1, pure noise, and ignores the source image:
        with FLUX's few steps (4 for schnell) Vary (Strong) did, so the schedule grows until it skips one."""
        def skipped(count: int) -> int:
            return int(max(count - min(count * strength, count), 0))

        while strength < 1 and skipped(steps) < 1:
            steps += 1
        return steps, steps - skipped(steps)

    def generate_chunk(self, spec: GenerationSpec, indices: list[int], init_image: Image.Image | None,
                       plan: Plan, monitor: StepMonitor) -> list[Image.Image]:
        self._size = (spec.width, spec.height)
        return super().generate_chunk(spec, indices, init_image, plan, monitor)

    def preview(self, latents: torch.Tensor) -> Image.Image | None:
        # Flux latents travel packed as 2x2 patches: (B, tokens, 64) -> (B, 16, h, w).
        width, height = self._size
        spatial = self.pipe._unpack_latents(latents, height, width, self.pipe.vae_scale_factor)
        return preview_image(spatial, self.family)
