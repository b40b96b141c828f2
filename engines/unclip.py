"""The DALL·E 2 recipe (Ramesh et al. 2022, "Hierarchical Text-Conditional Image Generation with CLIP
Latents"): CLIP text embedding -> diffusion prior -> CLIP image embedding -> diffusion decoder.

Served by diffusers' Kandinsky 2.2 prior + decoder (Karlo's UnCLIPPipeline is deprecated in diffusers
0.42). `::` weights mix the image embeddings of each part (the prior's output), `--no` texts become
the negative image embedding, `--weird` shifts all the images' embeddings alike, and `--chaos` perturbs
each image's embedding.

Variations follow the paper (§3.1, fig. 3): the source image goes through the prior's CLIP image
encoder, and that embedding is decoded again with new seeds (image i from (seed, i)). Strength moves
each image's embedding towards the prompt's prior embedding and adds noise to it (`embedding_drift` in
engines/params.py documents the mapping). A creative upscale keeps img2img: it must keep the layout.

Image embeddings are also what /blend and image prompts need (DALL·E 2 §3.3 interpolates them):
a blend decodes the spherical mean of its sources' CLIP image embeddings (no prior run unless `--no`
asks for a negative side); an image prompt slerps each image's prior embedding towards the images'
mean by iw / (iw + 1). params.py documents both mappings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from PIL import Image

from engines import conditioning as cond
from engines.diffusion import DiffusionEngine, Plan
from engines.monitor import StepMonitor, StopEarly
from engines.params import embedding_drift, image_prompt_share, source_weights, stop_steps, variation_seed
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec, Operation

PRIOR_GUIDANCE = 4.0


class UnclipEngine(DiffusionEngine):
    family = "unclip"
    implemented = DiffusionEngine.implemented | {Operation.blend}
    embeds_images = True

    def __init__(self, entry: EngineEntry, prior: Any, decoder: Any, device: torch.device,
                 dtype: torch.dtype) -> None:
        super().__init__(entry, device, dtype)
        self.prior = prior
        self.decoder = decoder
        self._img2img: Any = None

    @property
    def img2img(self) -> Any:
        if self._img2img is None:
            from diffusers import KandinskyV22Img2ImgPipeline

            self._img2img = KandinskyV22Img2ImgPipeline(**self.decoder.components)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def denoisers(self) -> list[Any]:
        return [self.decoder.unet, self.decoder.movq]

    @staticmethod
    def needs_prior(spec: GenerationSpec) -> bool:
        """A blend's positive side is its images alone: the prior runs only for a `--no` text."""
        return spec.operation != Operation.blend or bool(cond.negative_parts(spec))

    def plan(self, spec: GenerationSpec, init_image: Image.Image | None) -> Plan:
        plan = replace(super().plan(spec, init_image), prelude=self.entry.prior_steps if self.needs_prior(spec) else 0)
        if spec.operation != Operation.variation:
            return plan
        # An embedding variation decodes from pure noise: every step runs, as in text-to-image.
        steps = super().plan(spec, None).steps
        return replace(plan, steps=steps, executed=steps, stop_after=stop_steps(steps, spec.stop))

    def source_embedding(self, image: Image.Image) -> torch.Tensor:
        """(1, D): the CLIP image embedding of the source, from the prior pipeline's image encoder."""
        return self.image_embeddings([image])

    def image_embeddings(self, images: list[Image.Image]) -> torch.Tensor:
        """(N, D): the CLIP image embedding of each image, from the prior pipeline's image encoder."""
        encoder = self.prior.image_encoder
        rgb = [image.convert("RGB") for image in images]
        pixels = self.prior.image_processor(rgb, return_tensors="pt").pixel_values
        return encoder(pixels.to(self.device, encoder.dtype)).image_embeds

    def blend_embedding(self, spec: GenerationSpec, images: list[Image.Image] | tuple[Image.Image, ...]
                        ) -> torch.Tensor:
        """(1, D): the weighted spherical mean of the images' CLIP image embeddings (params.py)."""
        embeds = self.image_embeddings(list(images))
        return cond.spherical_mean(embeds, source_weights(spec, len(images))).to(embeds.dtype)

    def varied_embeddings(self, spec: GenerationSpec, indices: list[int], source: torch.Tensor,
                          prompted: torch.Tensor, strength: float) -> torch.Tensor:
        """Each image's embedding: the source's, pulled towards the prompt's and noised by `strength`."""
        pull, noise = embedding_drift(strength)
        moved = cond.slerp(source.expand_as(prompted).float(), prompted.float(), pull)
        rows = []
        for row, index in zip(moved, indices, strict=True):
            generator = torch.Generator("cpu").manual_seed(variation_seed(spec.seed, index))
            jitter = torch.randn(row.shape, generator=generator) * row.std().cpu() * noise
            rows.append(row + jitter.to(row.device))
        return torch.stack(rows).to(prompted.dtype)

    def prior_embeds(self, texts: list[str], spec: GenerationSpec, indices: list[int],
                     monitor: StepMonitor) -> torch.Tensor:
        """(len(texts), len(indices), D): the prior's CLIP image embedding of each text for each image.

        One batched prior call, so progress runs once through the prior steps; image i's sample of every
        text starts from image i's seed.
        """
        prior_monitor = StepMonitor(steps=self.entry.prior_steps, offset=monitor.offset - self.entry.prior_steps,
                                    total=monitor.total, on_progress=monitor.on_progress,
                                    should_cancel=monitor.should_cancel)
        generators = [g for _ in texts for g in self.generators(spec, indices)]
        with prior_monitor.attached(self.prior):
            output = self.prior(texts, num_images_per_prompt=len(indices), generator=generators,
                                num_inference_steps=self.entry.prior_steps, guidance_scale=PRIOR_GUIDANCE,
                                output_type="pt", callback_on_step_end=prior_monitor)
        return output.image_embeds.view(len(texts), len(indices), -1)

    def embeddings(self, spec: GenerationSpec, indices: list[int], monitor: StepMonitor,
                   sources: tuple[Image.Image, ...] = ()) -> dict[str, torch.Tensor]:
        blend = spec.operation == Operation.blend
        positives, negatives = [] if blend else cond.positive_parts(spec), cond.negative_parts(spec)
        parts = positives + negatives
        embeds = self.prior_embeds([text for text, _ in parts], spec, indices, monitor) if parts else None

        def mix(selected: range) -> torch.Tensor:
            assert embeds is not None  # mixed only from the parts, so only when there are some
            return cond.weighted_sum([{"e": embeds[k]} for k in selected], [parts[k][1] for k in selected])["e"]

        images = self.blend_embedding(spec, sources) if sources else None
        if blend:
            assert images is not None  # a blend always has its 2-5 sources (DiffusionEngine.run checks)
            positive = images.expand(len(indices), -1)
        else:
            positive = mix(range(len(positives)))
            if images is not None:
                positive = self.with_image_prompt(positive, images, spec.image_weight)
        positive = cond.with_weird({"image_embeds": positive}, spec.seed, spec.weird)["image_embeds"]
        chaotic = [cond.with_chaos({"image_embeds": positive[k : k + 1]}, spec.seed, index, spec.chaos)
                   for k, index in enumerate(indices)]
        if negatives:
            negative = mix(range(len(positives), len(parts)))
        else:
            negative = self.prior.get_zero_embed(len(indices), device=self.device)
        return {"image_embeds": cond.batch(chaotic)["image_embeds"], "negative_image_embeds": negative}

    @staticmethod
    def with_image_prompt(prompted: torch.Tensor, images: torch.Tensor, image_weight: float) -> torch.Tensor:
        """Each image's prior embedding slerped towards the image prompt's by iw / (iw + 1)."""
        share = image_prompt_share(image_weight)
        return cond.slerp(prompted.float(), images.float().expand_as(prompted), share).to(prompted.dtype)

    def generate_chunk(self, spec: GenerationSpec, indices: list[int], init_image: Image.Image | None,
                       plan: Plan, monitor: StepMonitor) -> list[Image.Image]:
        kwargs: dict[str, Any] = dict(
            self.embeddings(spec, indices, monitor, plan.sources), num_inference_steps=plan.steps,
            guidance_scale=plan.guidance, generator=self.generators(spec, indices), height=spec.height,
            width=spec.width, output_type="pil", callback_on_step_end=monitor,
            callback_on_step_end_tensor_inputs=["latents"],
        )
        pipe = self.decoder
        if init_image is not None and spec.operation == Operation.variation:
            source = self.source_embedding(init_image)
            kwargs["image_embeds"] = self.varied_embeddings(spec, indices, source, kwargs["image_embeds"],
                                                            plan.strength or 0.0)
        elif init_image is not None:
            pipe = self.img2img
            kwargs.update(image=[init_image.convert("RGB")] * len(indices), strength=plan.strength)
        try:
            with monitor.attached(pipe):
                return list(pipe(**kwargs).images)
        except StopEarly as stop:
            return self.decode(stop.latents)

    def decode(self, latents: torch.Tensor) -> list[Image.Image]:
        image = self.decoder.movq.decode(latents, force_not_quantize=True)["sample"]
        array = (image * 0.5 + 0.5).clamp(0, 1).cpu().permute(0, 2, 3, 1).float().numpy()
        return self.decoder.numpy_to_pil(array)
