"""A button press on a finished job -> the job it asks for (pure).

U<i> separates image i (no new pixels, Midjourney V5+), V<i> / Vary run an img2img variation of
image i, Vary (Region) repaints one rectangle of it, Upscale (2x/4x) runs the engine's upscaler on it,
Zoom Out / Custom Zoom / Make Square / Pan outpaint it (bot/outpaint.py), 🔄 re-runs the prompt with a
new seed (or the variation, region, zoom or pan). With Remix on, V / Vary / 🔄 (and the Vary (Region)
and Custom Zoom modals) also take an edited prompt: its words, and each parameter edited from the
parent's prompt where that kind of job can apply it (remix_changes).
"""

from __future__ import annotations

from typing import Any

from bot.custom_ids import Action
from bot.outpaint import OUTPAINT_ACTIONS, OUTPAINT_OPERATIONS, OutpaintError, operation_of, outpaint_spec
from bot.store import VariationMode
from midway.catalogue import Catalogue, EngineEntry
from midway.contract import GenerationSpec, Job, JobStatus, Lane, Operation, Requester, UpscaleMode
from midway.drafts import enhanced_spec
from midway.prompt.errors import PromptError
from midway.prompt.params import apply_params
from midway.prompt.tokens import split_sections
from midway.region import Region
from midway.sizing import size_for_aspect
from midway.spec_edits import region_spec


class DeriveError(ValueError):
    """The press cannot be served (the job has no such image); the message is for the user."""


_VARIATION_MODE = {Action.vary_subtle: VariationMode.low, Action.vary_strong: VariationMode.high}
_UPSCALE_FACTOR = {Action.upscale_2x: 2, Action.upscale_4x: 4}
# Rerolling these keeps their source images and operation (a new seed for the same zoom, pan, variation, blend).
_REROLL_IN_PLACE = OUTPAINT_OPERATIONS | {Operation.variation, Operation.blend, Operation.inpaint, Operation.describe}

# A pseudo-field of remix_changes: the image URLs before the text, with their `::` weights.
IMAGE_PROMPTS = "image prompts"
# What a Remix cannot change, by the job it makes. `--quality` and image prompts shape only a grid made
# from the prompt (engines/params.step_count, worker/sources.PROMPT_IMAGE_OPERATIONS); Vary (Region),
# Zoom and Pan keep the image's canvas, so neither its `--ar` nor `--tile` (reference §3d lists what
# Vary (Region) honours: --chaos --iw --no --stylize --style --version --weird and the speed).
_NEW_GRID_ONLY = frozenset({"quality", "image_weight", IMAGE_PROMPTS})
_CANVAS_KEPT = _NEW_GRID_ONLY | {"aspect_ratio", "tile"}
_FIXED_BY_REMIX = {Operation.variation: _NEW_GRID_ONLY, Operation.blend: _NEW_GRID_ONLY,
                   Operation.inpaint: _CANVAS_KEPT, Operation.zoom: _CANVAS_KEPT, Operation.pan: _CANVAS_KEPT}
_KIND = {Operation.variation: "A variation", Operation.blend: "A /blend grid", Operation.inpaint: "Vary (Region)",
         Operation.zoom: "Zoom Out", Operation.pan: "Pan"}
_WHY_FIXED = {
    "quality": "`--quality` only changes a grid made from the prompt alone",
    "image_weight": "image prompts only guide a grid made from the prompt alone",
    IMAGE_PROMPTS: "image prompts only guide a grid made from the prompt alone",
    "aspect_ratio": "it keeps the image's canvas",
    "tile": "it keeps the rest of the image as it is, so the result cannot tile",
}


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
           max_side: int | None = None, catalogue: Catalogue | None = None) -> Job:
    """The new job for `action` on `parent` (its requester is whoever clicked). `remix` is the prompt a
    modal returned; `region` (Vary (Region)) and `zoom` (Custom Zoom) are what their modals asked for;
    `max_side` is the channel's limit, which bounds a zoom or pan's canvas. A draft's V, Vary, 🔄, Zoom,
    Pan and Remix stay drafts (Midjourney: a variation of a draft is a draft); its Upscale (2x/4x) and
    Enhance run at full quality. `catalogue` finds the engine an Enhance returns to."""
    if action is Action.enhance:
        return enhance(parent, clicker, lane, catalogue)
    spec = parent.spec.model_copy(deep=True)
    if remix is not None:
        changes = remix_changes(parent.spec, remix, action, entry)
        seed, lane = changes.pop("seed", seed), changes.pop("lane", lane)
        spec = spec.model_copy(update=changes)
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
        # No worker sees these pixels again: the image keeps the verdict its grid got.
        cell = slice((index or 1) - 1, index or 1)
        job.safety_scores, job.safety_flagged = parent.safety_scores[cell], parent.safety_flagged[cell]
        job.safety_failed = parent.safety_failed
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
        spec.strength, spec.draft = None, False
        job.label = f"Upscaled ({factor}x)"
        return job
    mode = _VARIATION_MODE.get(action, variation_mode)
    spec.operation, spec.n_images, spec.init_image, spec.seed = Operation.variation, 4, image, seed
    spec.upscale_factor = spec.upscale_mode = None
    spec.strength = entry.variation_strength_strong if mode is VariationMode.high else entry.variation_strength_subtle
    job.label = variation_label(mode, remix is not None)
    return job


def enhance(parent: Job, clicker: Requester, lane: Lane, catalogue: Catalogue | None) -> Job:
    """Enhance: the draft again, same prompt, seed and parameters (and source image, for a drafted
    variation or zoom), at full quality on the engine the draft was made for."""
    if not parent.spec.draft:
        raise DeriveError("That job is not a draft; only a draft grid can be enhanced.")
    if parent.status is not JobStatus.done:
        raise DeriveError("That draft has not finished yet.")
    spec = enhanced_spec(parent.spec, catalogue) if catalogue is not None else parent.spec.model_copy(
        update={"draft": False}, deep=True)
    spec.lane = lane
    label = f"{parent.label} (Enhanced)" if parent.label else "Enhanced"
    return Job(spec=spec, requester=clicker, parent_job_id=parent.id, lane=lane, label=label)


def operation_after(parent: GenerationSpec, action: Action) -> Operation:
    """The kind of job `action` makes from a job whose spec is `parent`."""
    if action is Action.enhance:
        return parent.operation
    if action is Action.reroll:
        return parent.operation if parent.operation in _REROLL_IN_PLACE else Operation.reroll
    if action is Action.vary_region:
        return Operation.inpaint
    if action in OUTPAINT_ACTIONS:
        return operation_of(action)
    if action is Action.upscale or action in _UPSCALE_FACTOR:
        return Operation.upscale
    return Operation.variation


def asked_params(full_prompt: str) -> dict[str, Any]:
    """The parameters (GenerationSpec fields) and image prompts a prompt's text asks for."""
    try:
        sections = split_sections(full_prompt)
        asked = dict(apply_params(sections.params).fields)
    except PromptError:  # not one of our echoes (an old job): everything in the remix counts as edited
        return {}
    asked.pop("repeat", None)
    if sections.image_urls:
        asked[IMAGE_PROMPTS] = (tuple(sections.image_urls), tuple(sections.image_weights))
    return asked


def remix_changes(parent: GenerationSpec, remix: GenerationSpec, action: Action, entry: EngineEntry) -> dict[str, Any]:
    """The spec fields a Remix sets: its words, and each parameter edited from the parent's prompt (so an
    unchanged prompt is a normal press, with a new seed unless `--seed` was edited). DeriveError for an
    edit the job cannot apply, rather than echoing a parameter that would do nothing."""
    if remix.engine is not None and remix.engine != entry.name:
        raise DeriveError(f"Remix keeps the image's engine `{entry.name}`, but the prompt asks for "
                          f"`{remix.engine}`. Use /imagine to start over with another engine.")
    before, after = asked_params(parent.full_prompt or parent.prompt), asked_params(remix.full_prompt)
    edited = {field for field in before.keys() | after.keys() if before.get(field) != after.get(field)}
    if "draft" in edited and remix.draft and not entry.drafts:
        raise DeriveError(f"The engine `{entry.name}` has no draft mode: take `--draft` out of the prompt.")
    operation = operation_after(parent, action)
    # Custom Zoom's modal may change `--ar`: the zoomed canvas takes the new ratio (bot/outpaint.py).
    fixed = _FIXED_BY_REMIX.get(operation, frozenset()) - ({"aspect_ratio"} if action is Action.custom_zoom else set())
    if blocked := sorted(edited & fixed):
        field = blocked[0]
        was, asked = (before.get(field), after.get(field)) if field == IMAGE_PROMPTS else (
            getattr(parent, field), getattr(remix, field))
        raise DeriveError(f"{_KIND[operation]} can't take {_shown(field, asked)} (this image has "
                          f"{_shown(field, was)}): {_WHY_FIXED[field]}. Edit it back, or use /imagine.")
    changes: dict[str, Any] = {"prompt": remix.prompt, "full_prompt": remix.full_prompt,
                               "negative_prompt": remix.negative_prompt, "weights": remix.weights}
    for field in edited - {IMAGE_PROMPTS, "aspect_ratio", "seed"}:
        changes[field] = getattr(remix, field)
    if IMAGE_PROMPTS in edited:
        changes.update(image_urls=remix.image_urls, image_weights=remix.image_weights)
    if "aspect_ratio" in edited and action is not Action.custom_zoom:
        # A variation stretches its source to the new ratio, as Midjourney's Remix does (reference §3d).
        width, height = size_for_aspect(*(int(side) for side in remix.aspect_ratio.split(":")),
                                        entry.base_width, entry.base_height, entry.size_multiple)
        changes.update(aspect_ratio=remix.aspect_ratio, width=width, height=height)
    if "seed" in edited and "seed" in after:
        changes["seed"] = remix.seed
    return changes


def _shown(field: str, value: Any) -> str:
    if field == IMAGE_PROMPTS:
        count = len(value[0]) if value else 0
        return f"{count} image prompt{'s' if count != 1 else ''}" if count else "no image prompt"
    if field == "tile":
        return "`--tile`" if value else "no `--tile`"
    name = {"aspect_ratio": "ar", "image_weight": "iw"}.get(field, field)
    return f"`--{name} {value:g}`" if isinstance(value, float) else f"`--{name} {value}`"


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
    spec.seed = seed
    if spec.operation is not Operation.describe:  # a describe job reads one image, whatever its seed
        spec.n_images = 4
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
