"""The latent-diffusion driver that Stable Diffusion 1.x/2.x, SDXL and FLUX share.

Conditioning is computed by the family (weights, `--no`, chaos: `encode`), then the stock diffusers
text-to-image, image-to-image or inpainting pipeline runs with per-image generators and our monitor.
The families live in engines/stable_diffusion.py and engines/flux.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from PIL import Image

from engines import conditioning as cond
from engines import outpaint, region
from engines.diffusion import OUTPAINT_STRENGTH, DiffusionEngine, Plan
from engines.image_adapter import AdapterSource, ImageAdapter, References, parse_source
from engines.lora import LoraAdapters
from engines.monitor import StepMonitor
from engines.style_codes import style_image
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec, Operation
from midway.errors import EngineError

# The operations an image reference conditions (an upscale re-diffuses its own image only).
REFERENCE_OPERATIONS = (Operation.imagine, Operation.reroll, Operation.variation, Operation.zoom, Operation.pan,
                        Operation.inpaint)


def default_adapter_source(entry: EngineEntry) -> AdapterSource:
    repo, subfolder, weight_name = parse_source(entry.ip_adapter)
    return repo, subfolder, weight_name, entry.image_encoder, {}


def default_character_source(entry: EngineEntry) -> AdapterSource:
    repo, subfolder, weight_name = parse_source(entry.character_adapter)
    return repo, subfolder, weight_name, "", {}


def accepts(pipe: Any, name: str) -> bool:
    return name in inspect.signature(pipe.__call__).parameters


class LatentDiffusionEngine(DiffusionEngine):
    """A text-to-image pipeline plus the image-to-image and inpainting pipelines sharing its modules."""

    implemented = DiffusionEngine.implemented | {Operation.zoom, Operation.pan, Operation.inpaint}

    def __init__(self, entry: EngineEntry, pipe: Any, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__(entry, device, dtype)
        self.pipe = pipe
        self._img2img: Any = None
        self._inpaint: Any = None
        # Keyed by the active LoRAs: a LoRA with text-encoder layers changes the unconditional side too.
        self._unconditional: dict[tuple[tuple[str, float], ...], cond.Conditioning] = {}
        # The registry hands in the catalogue's LoRAs (and, offline, where the tiny ones are built).
        self.loras = LoraAdapters(pipe, self.family, {})
        # Loaded on the first job with an image reference; the registry points a tiny engine's
        # "tiny-ip-adapter" at its built folder (adapter_source), as it does the tiny upscaler.
        self.adapter_source: Callable[[], AdapterSource] = lambda: default_adapter_source(entry)
        self.character_source: Callable[[], AdapterSource] = lambda: default_character_source(entry)
        characters = (lambda: self.character_source()) if entry.character_adapter else None
        self.adapter = (ImageAdapter(pipe, entry, lambda: self.adapter_source(), characters)
                        if entry.ip_adapter else None)

    @property
    def img2img(self) -> Any:
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            # from_pipe shares the loaded modules: no second copy of the weights.
            self._img2img = AutoPipelineForImage2Image.from_pipe(self.pipe)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    @property
    def inpaint(self) -> Any:
        if self._inpaint is None:
            from diffusers import AutoPipelineForInpainting

            # A base checkpoint's 4-channel UNet runs in diffusers' legacy mask-blending mode: the kept
            # area is re-noised from the source and pasted into the latents at every step.
            self._inpaint = AutoPipelineForInpainting.from_pipe(self.pipe)
            self._inpaint.set_progress_bar_config(disable=True)
        return self._inpaint

    def conditions_on_images(self) -> bool:
        return self.adapter is not None and self.entry.image_prompt_mode == "adapter"

    def with_references(self, spec: GenerationSpec, plan: Plan, style: tuple[Image.Image, ...],
                        characters: tuple[Image.Image, ...] = ()) -> Plan:
        if self.adapter is None or spec.operation not in REFERENCE_OPERATIONS:
            return plan
        content = plan.sources if self.conditions_on_images() else ()
        styles, weights = list(style), list(spec.style_ref_weights) or [1.0] * len(style)
        if spec.style_code is not None:
            styles.append(style_image(spec.style_code))
            weights.append(1.0)
        if len(weights) != len(styles):
            raise EngineError(f"style weights {spec.style_ref_weights} do not fit {len(style)} style references")
        return replace(plan, references=self.adapter.encode(spec, content, styles, weights, characters))

    def denoisers(self) -> list[Any]:
        return [getattr(self.pipe, "unet", None), getattr(self.pipe, "transformer", None), self.pipe.vae]

    def loop_length(self, steps: int) -> tuple[int, int]:
        """The loop runs once per timestep the sampler schedules, which is not always `steps`: PNDM (SD
        1.5's own) adds one, second-order samplers (Heun) nearly double them. Asked of a copy."""
        scheduler = self.pipe.scheduler
        order = int(getattr(scheduler, "order", 1))
        try:
            probe = type(scheduler).from_config(scheduler.config)
            probe.set_timesteps(steps, device="cpu")
            return len(probe.timesteps), order
        except Exception:  # a sampler that needs more to schedule (flow matching's shift): its own count
            return steps * order, order

    # Family hooks: one text -> conditioning dict, and the negative side when no text is given.
    def encode(self, text: str) -> cond.Conditioning:
        raise NotImplementedError

    def empty_negative(self) -> cond.Conditioning:
        return self.encode("")

    def unconditional(self) -> cond.Conditioning:
        """The negative side of a prompt without `--no`: the same for every job, so encoded once
        (a pass of every text encoder per job saved; the pipelines never write to their inputs)."""
        key = self.loras.active
        if key not in self._unconditional:
            self._unconditional[key] = self.empty_negative()
        return self._unconditional[key]

    def use_loras(self, spec: GenerationSpec) -> None:
        # The img2img and inpainting pipelines are made with from_pipe and share these very modules, so
        # the adapters set here apply to every operation.
        self.loras.activate(spec.loras)

    def extra_kwargs(self, spec: GenerationSpec, has_negative: bool) -> dict[str, Any]:
        return {}

    def conditioning_kwargs(self, spec: GenerationSpec, indices: list[int], plan: Plan) -> dict[str, Any]:
        positive = cond.encode_weighted(self.encode, cond.positive_parts(spec))
        kwargs = cond.batch(cond.per_image(positive, spec, indices))
        negatives = cond.negative_parts(spec)
        if plan.guidance > 1 or negatives:
            negative = cond.encode_weighted(self.encode, negatives) if negatives else self.unconditional()
            kwargs.update(cond.batch([negative] * len(indices), prefix="negative_"))
        kwargs.update(self.extra_kwargs(spec, bool(negatives)))
        if self.adapter is not None:
            kwargs.update(self.adapter.pipeline_kwargs(plan.references or References(), len(indices),
                                                       guided=plan.guidance > 1))
        return kwargs

    def generate_chunk(self, spec: GenerationSpec, indices: list[int], init_image: Image.Image | None,
                       plan: Plan, monitor: StepMonitor) -> list[Image.Image]:
        kwargs = self.conditioning_kwargs(spec, indices, plan)
        kwargs.update(
            num_inference_steps=plan.steps, guidance_scale=plan.guidance, generator=self.generators(spec, indices),
            callback_on_step_end=monitor, callback_on_step_end_tensor_inputs=["latents"], output_type="pil",
        )
        if spec.operation in (Operation.zoom, Operation.pan):
            return self.outpaint_chunk(spec, init_image, kwargs, monitor)
        if spec.operation is Operation.inpaint:
            return self.region_chunk(spec, init_image, kwargs, plan, monitor)
        pipe = self.pipe
        if init_image is not None:
            pipe = self.img2img
            source = init_image.convert("RGB")
            if source.size != (spec.width, spec.height):
                source = source.resize((spec.width, spec.height), Image.Resampling.LANCZOS)
            kwargs.update(image=source, strength=plan.strength)
            if accepts(pipe, "width"):
                # Flux's img2img renders at its default 1024 px unless told the size.
                kwargs.update(width=spec.width, height=spec.height)
        else:
            kwargs.update(width=spec.width, height=spec.height)
        with monitor.attached(pipe):
            return list(pipe(**kwargs).images)


    def outpaint_chunk(self, spec: GenerationSpec, source: Image.Image | None, kwargs: dict[str, Any],
                       monitor: StepMonitor) -> list[Image.Image]:
        """Zoom out / pan: the source on the larger canvas, its new area inpainted, its pixels kept."""
        if source is None:
            raise EngineError(f"{spec.operation.value} needs a source image")
        plan = outpaint.layout(spec, source.size)
        canvas, mask = outpaint.canvas_and_mask(source, plan)
        kwargs.update(image=canvas, mask_image=mask, strength=OUTPAINT_STRENGTH, width=spec.width,
                      height=spec.height)
        with monitor.attached(self.inpaint):
            painted = self.inpaint(**kwargs).images
        return [outpaint.paste_back(image, source, plan) for image in painted]

    def region_chunk(self, spec: GenerationSpec, source: Image.Image | None, kwargs: dict[str, Any], plan: Plan,
                     monitor: StepMonitor) -> list[Image.Image]:
        """Vary (Region): the rectangle repainted by the same inpainting pipeline, the rest kept."""
        if source is None or spec.region is None:
            raise EngineError("a region variation needs a source image and a region")
        image, mask = region.source_and_mask(source, spec)
        kwargs.update(image=image, mask_image=mask, strength=plan.strength, width=spec.width, height=spec.height)
        with monitor.attached(self.inpaint):
            painted = self.inpaint(**kwargs).images
        return [region.paste_back(result, image, spec.region) for result in painted]
