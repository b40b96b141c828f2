"""A button press on a finished job -> the job it asks for (pure).

U<i> separates image i (no new pixels, Midjourney V5+), V<i> / Vary run an img2img variation of
image i, Vary (Region) repaints one rectangle of it, Upscale (2x/4x) runs the engine's upscaler on it,
Zoom Out / Custom Zoom / Make Square / Pan outpaint it (bot/outpaint.py), 🔄 re-runs the prompt with a
new seed (or the variation, region, zoom or pan).
"""

from __future__ import annotations

from bot.custom_ids import Action
from bot.outpaint import OUTPAINT_ACTIONS, OUTPAINT_OPERATIONS, OutpaintError, outpaint_spec
from bot.store import VariationMode
from engines.catalogue import Catalogue, EngineEntry
from engines.region import Region, region_spec
from midway.contract import GenerationSpec, Job, JobStatus, Lane, Operation, Requester, UpscaleMode


class DeriveError(ValueError):
    """The press cannot be served (the job has no such image); the message is for the user."""


_VARIATION_MODE = {Action.vary_subtle: VariationMode.low, Action.vary_strong: VariationMode.high}
_UPSCALE_FACTOR = {Action.upscale_2x: 2, Action.upscale_4x: 4}
# Rerolling these keeps their source images and operation (a new seed for the same zoom, pan, variation, blend).
_REROLL_IN_PLACE = OUTPAINT_OPERATIONS | {Operation.variation, Operation.blend, Operation.inpaint}


def variation_label(mode: VariationMode, remix: bool = False) -> str:
    strength = "Strong" if mode is VariationMode.high else "Subtle"
    return f"{'Remix' if remix else 'Variations'} ({strength})"


def source_image(parent: Job, index: int) -> str:
    if parent.status is not JobStatus.done or not parent.outputs:
        raise DeriveError("That job has no finished images yet.")
    if not 1 <= index <= len(parent.outputs):
        raise DeriveError(f"That job has {len(parent.outputs)} image(s); there is no image #{index}.")
    return parent.outputs[index - 1]


def derive(parent: Job, action: Action, index: int | None, clicker: Requester, *, lane: Lane,
           variation_mode: VariationMode, entry: EngineEntry, seed: int,
           remix: GenerationSpec | None = None, region: Region | None = None, zoom: float | None = None,
           max_side: int | None = None) -> Job:
    """The new job for `action` on `parent` (its requester is whoever clicked). `remix` is the prompt a
    modal returned; `region` (Vary (Region)) and `zoom` (Custom Zoom) are what their modals asked for;
    `max_side` is the channel's limit, which bounds a zoom or pan's canvas."""
    spec = parent.spec.model_copy(deep=True)
    if remix is not None:
        spec.prompt, spec.full_prompt = remix.prompt, remix.full_prompt
        spec.negative_prompt, spec.weights = remix.negative_prompt, remix.weights
    job = Job(spec=spec, requester=clicker, parent_job_id=parent.id, parent_index=index, lane=lane)
    spec.lane = lane
    if action is Action.reroll:
        return reroll(job, parent, seed)
    if action not in OUTPAINT_ACTIONS:
        spec.zoom = spec.pan = None
    spec.region = None
    if action is Action.upscale:
        # Separating one image: done at once, the job exists so its own buttons and /show work.
        image = source_image(parent, index or 1)
        spec.operation, spec.n_images, spec.upscale_factor = Operation.upscale, 1, 1
        spec.init_image = image
        job.outputs, job.status, job.label = [image], JobStatus.done, None
        return job
    image = source_image(parent, index or 1)
    if action in OUTPAINT_ACTIONS:
        try:
            job.spec, job.label = outpaint_spec(spec, action, entry, image, seed, zoom=zoom,
                                                aspect_ratio=remix.aspect_ratio if remix else None,
                                                max_side=max_side)
        except OutpaintError as error:
            raise DeriveError(str(error)) from None
        job.spec.lane = lane
        return job
    if action is Action.vary_region:
        return vary_region(job, entry, image, seed, region, remix is not None)
    if action in _UPSCALE_FACTOR:
        factor = _UPSCALE_FACTOR[action]
        spec.operation, spec.n_images, spec.init_image, spec.seed = Operation.upscale, 1, image, seed
        spec.upscale_factor, spec.upscale_mode = factor, UpscaleMode.subtle
        spec.strength = None
        job.label = f"Upscaled ({factor}x)"
        return job
    mode = _VARIATION_MODE.get(action, variation_mode)
    spec.operation, spec.n_images, spec.init_image, spec.seed = Operation.variation, 4, image, seed
    spec.upscale_factor = spec.upscale_mode = None
    spec.strength = entry.variation_strength_strong if mode is VariationMode.high else entry.variation_strength_subtle
    job.label = variation_label(mode, remix is not None)
    return job


def vary_region(job: Job, entry: EngineEntry, image: str, seed: int, region: Region | None, remix: bool) -> Job:
    """Vary (Region): the rectangle repainted from the (remixed) prompt, 4 images, the rest kept."""
    if Operation.inpaint not in entry.capabilities:
        raise DeriveError(f"The engine `{entry.name}` cannot vary a region.")
    if region is None:
        raise DeriveError("Vary (Region) needs a region.")
    try:
        job.spec = region_spec(job.spec, region)
    except ValueError:
        raise DeriveError(f"The region {region} does not lie inside the image.") from None
    job.spec.init_image, job.spec.seed = image, seed
    job.label = "Remix (Region)" if remix else "Variations (Region)"
    return job


def reroll(job: Job, parent: Job, seed: int) -> Job:
    """🔄: the prompt again with a new seed; on a variation, zoom or pan grid, that same edit again."""
    spec = job.spec
    spec.seed, spec.n_images = seed, 4
    if spec.operation in _REROLL_IN_PLACE:
        job.label = parent.label
        return job
    spec.operation, spec.init_image, spec.strength = Operation.reroll, None, None
    spec.upscale_factor = spec.upscale_mode = spec.zoom = spec.pan = spec.region = None
    job.label = None
    return job


def capabilities_of(catalogue: Catalogue, job: Job) -> frozenset[Operation]:
    """What the job's engine can do (none when it left the catalogue: no buttons that cannot work)."""
    engine = job.spec.engine
    return catalogue.get(engine).capabilities if engine and engine in catalogue else frozenset()
