"""What every diffusers-backed engine shares: operations, chunking, seeds, tiling, upscales, OOM.

A family subclass (stable_diffusion.py, flux.py, unclip.py) supplies `generate_chunk`, which runs
the model over a few image indices; this module decides which indices, with which settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from PIL import Image, ImageOps

from engines.base import CancelCheck, Engine, ProgressCallback
from engines.loading import load_pipeline, optimise
from engines.monitor import StepMonitor
from engines.params import (
    BLEND_MAX_IMAGES,
    BLEND_MIN_IMAGES,
    image_prompt_strength,
    image_seed,
    step_count,
    stop_steps,
    upscale_strength,
    variation_strength,
)
from engines.preview import preview_image
from engines.tiling import circular_padding
from midway.catalogue import EngineEntry, guidance_scale
from midway.contract import GenerationSpec, Operation, UpscaleMode
from midway.errors import EngineError, EngineOutOfMemory, UnsupportedOperation

NEEDS_SOURCE = (Operation.variation, Operation.upscale, Operation.zoom, Operation.pan, Operation.inpaint)
# Outpainting paints the new area from pure noise: the kept area is re-imposed at every step instead.
OUTPAINT_STRENGTH = 1.0
# Vary (Region) repaints its rectangle from pure noise too (Midjourney regenerates the selection from the
# prompt), unless the spec asks for less: `spec.strength` then keeps some of the old content.
INPAINT_STRENGTH = 1.0

_OOM_ERRORS: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None)) if cls
)


@dataclass
class Plan:
    """The sampler settings of one job, resolved from the spec and the catalogue."""

    steps: int  # num_inference_steps passed to the pipeline
    executed: int  # steps the pipeline actually runs (img2img runs steps * strength)
    stop_after: int  # --stop
    guidance: float
    strength: float | None  # img2img strength, None for text-to-image
    prelude: int = 0  # steps reported before the denoising loop of each chunk (the unCLIP prior)
    # Image prompts and /blend sources, for families that condition on them (unCLIP's image embeddings).
    sources: tuple[Image.Image, ...] = ()
    # The image prompt's and the --sref's encoded references (engines/image_adapter.py), for adapter families.
    references: Any = None
    # FLUX Redux: the image prompt's tokens, appended to the text's (engines/redux.py), encoded once per job.
    image_tokens: Any = None


class DiffusionEngine(Engine):
    family: str = ""
    # What the family's code can do; the catalogue's capabilities say what an engine offers.
    implemented: frozenset[Operation] = frozenset({Operation.imagine, Operation.variation, Operation.upscale})
    # unCLIP conditions on image embeddings; latent families turn an image prompt into an img2img init.
    embeds_images: bool = False

    def __init__(self, entry: EngineEntry, device: torch.device, dtype: torch.dtype) -> None:
        self.entry = entry
        self.name = entry.name
        self.capabilities = frozenset(entry.capabilities)
        self.device = device
        self.dtype = dtype
        # Where the 4x upscaler loads from: (source, extra from_pretrained kwargs). The catalogue's value
        # as it stands; the registry points an offline engine at its built tiny upscaler instead, so this
        # production class never needs to know the tiny builders.
        self.upscaler_source: Callable[[], tuple[str, dict[str, Any]]] = lambda: (entry.upscaler, {})

    # --- hooks for the families -------------------------------------------------------------------
    def generate_chunk(self, spec: GenerationSpec, indices: list[int], init_image: Image.Image | None,
                       plan: Plan, monitor: StepMonitor) -> list[Image.Image]:
        raise NotImplementedError

    def denoisers(self) -> list[Any]:
        """The modules whose convolutions `--tile` makes circular."""
        return []

    def prelude_steps(self, plan: Plan) -> int:
        """Steps reported before the denoising loop of each chunk (the unCLIP prior)."""
        return plan.prelude

    def use_loras(self, spec: GenerationSpec) -> None:
        """Switch the pipeline to the spec's LoRAs (none: the base model); families without a LoRA loader
        refuse a spec that names any rather than ignore them."""
        if spec.loras:
            raise UnsupportedOperation(f"engine {self.name!r} ({self.family}) cannot apply LoRAs")

    # --- the Engine API ---------------------------------------------------------------------------
    def run(self, spec: GenerationSpec, *, init_image: Image.Image | None = None,
            on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
            max_batch: int | None = None, source_images: Sequence[Image.Image] = (),
            style_images: Sequence[Image.Image] = (), character_images: Sequence[Image.Image] = ()
            ) -> list[Image.Image]:
        """`source_images`: the images of an image prompt (imagine, reroll) or of a blend (2-5);
        `style_images`: the --sref references (`spec.style_refs`, in order); `character_images`: the --cref
        then the --oref references (`spec.character_refs + spec.omni_refs`, in order)."""
        operation = Operation.imagine if spec.operation == Operation.reroll else spec.operation
        if spec.operation not in self.capabilities and operation not in self.capabilities:
            supported = ", ".join(sorted(op.value for op in self.capabilities))
            raise UnsupportedOperation(f"engine {self.name!r} cannot {spec.operation.value} (it can: {supported})")
        if operation not in self.implemented:
            raise UnsupportedOperation(f"engine {self.name!r} cannot {operation.value} yet")
        if operation in NEEDS_SOURCE and init_image is None:
            raise EngineError(f"{operation.value} needs a source image")
        sources = tuple(source_images) if operation in (Operation.imagine, Operation.blend) else ()
        if operation == Operation.blend and not BLEND_MIN_IMAGES <= len(sources) <= BLEND_MAX_IMAGES:
            raise EngineError(f"blend needs {BLEND_MIN_IMAGES} to {BLEND_MAX_IMAGES} images, got {len(sources)}")
        if (spec.style_refs or spec.style_code is not None) and not self.entry.serves_style_refs:
            raise UnsupportedOperation(f"--sref needs an engine whose catalogue entry lists it (an ip_adapter); "
                                       f"engine {self.name!r} has none")
        self.check_character_refs(spec)
        if sources and operation == Operation.imagine and not self.conditions_on_images():
            spec, init_image, sources = self.image_prompt_as_init(spec, sources)
        self.use_loras(spec)
        try:
            with torch.inference_mode(), circular_padding(self.denoisers(), spec.tile):
                if operation == Operation.upscale:
                    assert init_image is not None  # upscale is in NEEDS_SOURCE, checked above
                    return self.upscale(spec, init_image, on_progress, should_cancel)
                return self.generate(spec, init_image, on_progress, should_cancel, max_batch, sources,
                                     tuple(style_images), tuple(character_images))
        except _OOM_ERRORS as exc:
            raise EngineOutOfMemory(f"engine {self.name!r} ran out of GPU memory") from exc

    def conditions_on_images(self) -> bool:
        """Whether an image prompt conditions the model itself (unCLIP's embeddings, an IP-Adapter), rather
        than becoming an img2img start."""
        return self.embeds_images

    def with_references(self, spec: GenerationSpec, plan: Plan, style: tuple[Image.Image, ...],
                        characters: tuple[Image.Image, ...] = ()) -> Plan:
        """The plan with the job's image references encoded (once per job); families with an adapter."""
        return plan

    def check_character_refs(self, spec: GenerationSpec) -> None:
        """--cref / --oref: refused by name on an engine without a character_adapter (sd, sdxl) or a redux (flux);
        the bot refuses first."""
        for name, refs in (("--cref", spec.character_refs), ("--oref", spec.omni_refs)):
            if refs and not self.entry.serves_character_refs:
                raise UnsupportedOperation(f"{name} needs an engine whose catalogue entry lists it (a "
                                           f"character_adapter, or a redux on flux); engine {self.name!r} has none")

    @staticmethod
    def image_prompt_as_init(spec: GenerationSpec, sources: tuple[Image.Image, ...]
                             ) -> tuple[GenerationSpec, Image.Image, tuple[Image.Image, ...]]:
        """Latent diffusion has no image embedding to mix in: the first image becomes an img2img init
        whose strength is the text's share, 1 / (iw + 1) (params.py); the other images are unused."""
        # Cropped to the spec's aspect ratio rather than stretched (Midjourney keeps the image's look).
        init = ImageOps.fit(sources[0].convert("RGB"), (spec.width, spec.height), Image.Resampling.LANCZOS)
        return spec.model_copy(update={"strength": image_prompt_strength(spec.image_weight)}), init, ()

    def plan(self, spec: GenerationSpec, init_image: Image.Image | None) -> Plan:
        steps = step_count(spec, self.entry)
        strength = None
        if init_image is not None:
            if spec.operation in (Operation.zoom, Operation.pan):
                strength = OUTPAINT_STRENGTH
            elif spec.operation is Operation.inpaint:
                strength = spec.strength if spec.strength is not None else INPAINT_STRENGTH
            else:
                strength = variation_strength(spec, self.entry)
            steps, executed = self.img2img_steps(steps, strength)
        else:
            executed = self.loop_length(steps)[0]
        return Plan(steps=steps, executed=executed, stop_after=stop_steps(executed, spec.stop),
                    guidance=guidance_scale(spec, self.entry), strength=strength)

    def loop_length(self, steps: int) -> tuple[int, int]:
        """(denoising-loop iterations for `steps`, the sampler's order): the progress total and what
        `--stop` counts. One per step here; engines whose sampler runs more override it."""
        return steps, 1

    def img2img_steps(self, steps: int, strength: float) -> tuple[int, int]:
        """(steps to schedule, iterations the img2img pipeline then runs), as the SD pipelines count
        them: they skip the first steps - int(steps * strength) steps of the schedule (each `order`
        iterations long), keeping one at least (diffusers breaks on zero)."""
        steps = max(steps, math.ceil(1 / max(strength, 1e-3)))
        iterations, order = self.loop_length(steps)
        skipped = steps - min(int(steps * strength), steps)
        return steps, max(1, iterations - skipped * order)

    def generate(self, spec: GenerationSpec, init_image: Image.Image | None, on_progress: ProgressCallback | None,
                 should_cancel: CancelCheck | None, max_batch: int | None,
                 sources: tuple[Image.Image, ...] = (), style: tuple[Image.Image, ...] = (),
                 characters: tuple[Image.Image, ...] = ()) -> list[Image.Image]:
        """Images 0..n-1 in chunks of at most `max_batch`; image i depends only on (seed, i)."""
        plan = self.with_references(spec, replace(self.plan(spec, init_image), sources=sources), style,
                                    characters)
        size = max(1, max_batch or spec.n_images)
        chunks = [list(range(start, min(spec.n_images, start + size))) for start in range(0, spec.n_images, size)]
        per_chunk = self.prelude_steps(plan) + plan.executed
        images: list[Image.Image] = []
        for number, indices in enumerate(chunks):
            monitor = StepMonitor(steps=plan.executed, offset=number * per_chunk + self.prelude_steps(plan),
                                  total=per_chunk * len(chunks), stop_after=plan.stop_after,
                                  on_progress=on_progress, should_cancel=should_cancel,
                                  preview=self.preview)
            images.extend(self.generate_chunk(spec, indices, init_image, plan, monitor))
        return images

    def preview(self, latents: torch.Tensor) -> Image.Image | None:
        return preview_image(latents, self.family)

    def generators(self, spec: GenerationSpec, indices: list[int]) -> list[torch.Generator]:
        # CPU generators: the same seed gives the same noise on any GPU (diffusers moves it across).
        return [torch.Generator("cpu").manual_seed(image_seed(spec.seed, index)) for index in indices]

    # --- upscale ----------------------------------------------------------------------------------
    def upscale(self, spec: GenerationSpec, image: Image.Image, on_progress: ProgressCallback | None,
                should_cancel: CancelCheck | None) -> list[Image.Image]:
        """2x/4x of one image: "subtle" resizes (Lanczos), "creative" re-diffuses at low strength."""
        factor = spec.upscale_factor or 2
        if factor not in (2, 4):
            raise EngineError(f"upscale factor must be 2 or 4, got {factor}")
        target = (image.width * factor, image.height * factor)
        resized = image.convert("RGB").resize(target, Image.Resampling.LANCZOS)
        if (spec.upscale_mode or UpscaleMode.subtle) == UpscaleMode.subtle:
            if on_progress is not None:
                on_progress(1, 1, None)
            return [resized]
        if factor == 4 and self.entry.upscaler:
            return [self.upscale_with_pipeline(spec, image, on_progress, should_cancel)]
        # Still an upscale (not a variation): families tell a creative upscale's img2img from a Vary.
        creative = spec.model_copy(update={
            "operation": Operation.upscale, "n_images": 1, "width": target[0], "height": target[1],
            "strength": upscale_strength(spec, self.entry), "chaos": 0, "stop": 100,
        })
        result = self.generate(creative, resized, on_progress, should_cancel, max_batch=1)[0]
        return [result if result.size == target else result.resize(target, Image.Resampling.LANCZOS)]

    def upscale_with_pipeline(self, spec: GenerationSpec, image: Image.Image, on_progress: ProgressCallback | None,
                              should_cancel: CancelCheck | None) -> Image.Image:
        """4x through the catalogue's upscaler (a text-guided latent upscaler such as SD x4), loaded on
        first use and kept."""
        if getattr(self, "_upscaler", None) is None:
            # Imported on first use: diffusers' lazy module loads each pipeline class when named.
            from diffusers import StableDiffusionUpscalePipeline

            source, kwargs = self.upscaler_source()
            pipe = load_pipeline(StableDiffusionUpscalePipeline, self.entry, source, self.dtype, **kwargs)
            self._upscaler = optimise(pipe, self.entry, self.device)
            self._upscaler.vae.enable_tiling()  # the decoded 4x image is where memory runs out
        steps = step_count(spec.model_copy(update={"quality": 1.0}), self.entry)
        monitor = StepMonitor(steps=steps, on_progress=on_progress, should_cancel=should_cancel)
        pipe = self._upscaler

        # This pipeline still has only the legacy per-step `callback(step, timestep, latents)`.
        def callback(index: int, timestep: Any, latents: torch.Tensor) -> None:
            monitor(pipe, index, timestep, {"latents": latents})

        with monitor.attached(pipe):
            return pipe(prompt=spec.prompt, negative_prompt=spec.negative_prompt, image=image.convert("RGB"),
                        num_inference_steps=steps, generator=self.generators(spec, [0])[0],
                        callback=callback, callback_steps=1).images[0]
