"""The job contract: the only thing bot/, worker/ and engines/ share.

Pydantic v2 models that travel through Redis as JSON (never pickle). Every model here must survive
``model_dump_json`` -> ``model_validate_json`` unchanged; tests/midway/test_contract.py checks that.
What comes back from Redis is read with ``from_record``, which tolerates fields of other releases.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Operation(StrEnum):
    imagine = "imagine"
    variation = "variation"
    upscale = "upscale"
    reroll = "reroll"
    zoom = "zoom"
    pan = "pan"
    # Vary (Region): repaint one rectangle of the source (`GenerationSpec.region`), keep the rest.
    inpaint = "inpaint"
    blend = "blend"
    # /describe: an image (`image_urls[0]`) -> four prompts (`Job.texts`), on a `caption` engine.
    describe = "describe"
    # /shorten: the prompt's words scored by the engine's text encoder (`Job.word_scores`) and five
    # shorter prompts (`Job.texts`); midway/prompt/shorten.py says how.
    shorten = "shorten"


class Lane(StrEnum):
    fast = "fast"
    relax = "relax"
    turbo = "turbo"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.done, JobStatus.failed, JobStatus.cancelled)


class EventKind(StrEnum):
    queued = "queued"
    started = "started"
    progress = "progress"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class UpscaleMode(StrEnum):
    # "subtle" keeps the pixels (high-quality resize); "creative" re-diffuses at low strength.
    subtle = "subtle"
    creative = "creative"


class PanDirection(StrEnum):
    # Midjourney's ⬅️ ➡️ ⬆️ ⬇️: the side of the image the canvas grows on.
    left = "left"
    right = "right"
    up = "up"
    down = "down"


# Rounds of `salvage`: each drops every field that failed, so more are needed only when dropping one
# uncovers another problem (an optional object left without a required member is dropped next).
_SALVAGE_ROUNDS = 4


class _Model(BaseModel):
    # Strict where models are made: in code, from parsed prompts and options, an unknown field is a bug
    # (a misspelt keyword) to fail on. Records read back from Redis go through `from_record` instead.
    model_config = ConfigDict(extra="forbid", frozen=False, use_enum_values=False)

    @classmethod
    def from_record(cls, raw: str | bytes | bytearray) -> Self:
        """The model as stored in Redis, without the fields this release does not know.

        Every release adds fields, and in a rolling deploy an older worker or bot reads records a newer
        one wrote: refusing them would strand those jobs. Any other problem still raises ValidationError.
        """
        try:
            return cls.model_validate_json(raw)
        except ValidationError as error:
            unknown = [detail["loc"] for detail in error.errors() if detail["type"] == "extra_forbidden"]
            if len(unknown) < error.error_count():
                raise
        data = json.loads(raw)
        for loc in unknown:
            _drop(data, loc)
        return cls.model_validate_json(json.dumps(data))

    @classmethod
    def salvage(cls, data: Any) -> Self | None:
        """What can still be read of a decoded record that `from_record` refuses (say a value of an enum
        only a newer release has): each field that fails is dropped and takes its default; None when a
        required one fails. For ending and listing such a job (its message names its prompt and user),
        never for running it: the spec may have lost fields."""
        if not isinstance(data, dict):
            return None
        data = copy.deepcopy(data)
        for _ in range(_SALVAGE_ROUNDS):
            try:
                return cls.model_validate_json(json.dumps(data))
            except ValidationError as error:
                if not any([_drop(data, detail["loc"]) for detail in error.errors()]):
                    return None
        return None


def _drop(data: dict[str, Any], loc: tuple[int | str, ...]) -> bool:
    """Delete the innermost object member on the error location's path (a bad list or tuple item takes
    its whole field with it). False when nothing on the path is there to delete (a missing field)."""
    parent: dict[str, Any] | None = None
    name: Any = None
    node: Any = data
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            break
        parent, name, node = node, part, node[part]
    if parent is None:
        return False
    del parent[name]
    return True


# Past this an adapter's scale only burns the image (slider LoRAs use negative scales, so both signs count).
MAX_LORA_WEIGHT = 4.0


class LoraChoice(_Model):
    """One `--lora name::weight` of a prompt: a catalogue `[loras.<name>]` entry and how strongly it applies."""

    name: str
    # The adapter's scale (diffusers `set_adapters`); None: the catalogue's default weight, resolved when the
    # prompt is planned (midway/loras.py), so a stored job always names the weight it ran with.
    weight: float | None = Field(default=None, ge=-MAX_LORA_WEIGHT, le=MAX_LORA_WEIGHT)


class GenerationSpec(_Model):
    """What to generate: everything an engine needs, nothing about Discord or Redis."""

    operation: Operation = Operation.imagine
    # The prompt text without parameters, as the user sees it echoed (`**<prompt>**`).
    prompt: str = ""
    # The whole final prompt including parameters, after suffix/option expansion; echoed in messages.
    full_prompt: str = ""
    negative_prompt: str | None = None
    # `::` multi-prompts as (text, weight) pairs; empty when the prompt has no `::`.
    weights: list[tuple[str, float]] = Field(default_factory=list)
    aspect_ratio: str = "1:1"
    width: int = 1024
    height: int = 1024
    seed: int = Field(default=0, ge=0, le=4294967295)
    # None: the engine's catalogue default.
    steps: int | None = None
    guidance: float | None = None
    chaos: int = Field(default=0, ge=0, le=100)
    stylize: int = Field(default=100, ge=0, le=1000)
    quality: float = 1.0
    stop: int = Field(default=100, ge=10, le=100)
    tile: bool = False
    weird: int = Field(default=0, ge=0, le=3000)
    # Image prompts and /blend sources: URLs or blob refs. `image_weight` is `--iw` (image vs text);
    # `image_weights` weighs the images against each other (empty: equal), see engines/params.py.
    image_urls: list[str] = Field(default_factory=list)
    image_weight: float = Field(default=1.0, ge=0, le=3)
    image_weights: list[float] = Field(default_factory=list)
    # --sref style references: URLs or blob refs, their `::` weights (empty: equal) and --sw; `style_code`
    # is `--sref <code>` / `--sref random`'s code, a seeded random style (engines/style_codes.py).
    style_refs: list[str] = Field(default_factory=list)
    style_ref_weights: list[float] = Field(default_factory=list)
    style_weight: int = Field(default=100, ge=0, le=1000)
    style_code: int | None = Field(default=None, ge=0, le=4294967295)
    # --cref character references (their `::` weights, empty: equal) and --cw; --oref's omni references
    # and --ow. Both condition through the engine's `character_adapter` (engines/image_adapter.py), or on
    # FLUX through its `redux` (engines/redux.py).
    character_refs: list[str] = Field(default_factory=list)
    character_ref_weights: list[float] = Field(default_factory=list)
    character_weight: int = Field(default=100, ge=0, le=100)
    omni_refs: list[str] = Field(default_factory=list)
    omni_weight: int = Field(default=100, ge=1, le=1000)
    style: str | None = None
    # `--v 6` / `--niji 6` as typed ("6", "niji 6"); `engine` is what it resolved to, if anything.
    version: str | None = None
    engine: str | None = None
    lane: Lane = Lane.fast
    n_images: int = Field(default=4, ge=1, le=16)
    # Derived operations (variation, upscale): the source image (a blob ref or URL) and strength.
    init_image: str | None = None
    strength: float | None = Field(default=None, ge=0, le=1)
    upscale_factor: int | None = None
    upscale_mode: UpscaleMode | None = None
    # Outpainting (engines/outpaint.py): `zoom` shrinks the source into the middle of the canvas by this
    # factor (Zoom Out 2x / 1.5x); `pan` grows the canvas on one side. width/height are the new canvas.
    zoom: float | None = Field(default=None, ge=1.0, le=2.0)
    pan: PanDirection | None = None
    # Vary (Region) (`operation = "inpaint"`): the rectangle to repaint as fractions of the image,
    # (left, top, width, height), each in [0, 1]; everything outside it is kept (engines/region.py).
    region: tuple[float, float, float, float] | None = None
    # `--draft` (Midjourney V7 Draft mode): the engine's few-step draft setting (catalogue `draft_steps` /
    # `draft_guidance`, or its `draft_engine`) at a fraction of the cost; the grid gets an Enhance button.
    draft: bool = False
    # `--lora`: adapters applied on top of the engine's base model, in the order typed. Empty in records
    # older than LoRAs, which therefore read back as jobs without any.
    loras: list[LoraChoice] = Field(default_factory=list)

    @field_validator("region")
    @classmethod
    def _region_inside_image(cls, region: tuple[float, float, float, float] | None
                             ) -> tuple[float, float, float, float] | None:
        if region is None:
            return None
        left, top, width, height = region
        if min(region) < 0 or width <= 0 or height <= 0 or left + width > 1 + 1e-6 or top + height > 1 + 1e-6:
            raise ValueError(f"region {region} must lie inside the image: fractions with width, height > 0")
        return region


class Requester(_Model):
    user_id: str
    user_name: str = ""
    guild_id: str | None = None
    channel_id: str | None = None


class MessageRef(_Model):
    """Where the job's Discord message lives, so any bot process can edit it after a restart."""

    channel_id: str
    message_id: str | None = None
    application_id: str | None = None
    interaction_token: str | None = None
    # Epoch seconds; interaction tokens die after 15 minutes, channel messages never do.
    token_expires_at: float | None = None
    # The interaction's `attachment_size_limit` (bytes): results are encoded to fit it (bot/delivery.py).
    attachment_size_limit: int | None = None


def new_job_id() -> str:
    return str(uuid.uuid4())


class Job(_Model):
    id: str = Field(default_factory=new_job_id)
    spec: GenerationSpec
    requester: Requester
    message: MessageRef | None = None
    parent_job_id: str | None = None
    parent_index: int | None = None
    # Human label of what this job is, used in the result message ("Variations (Strong)").
    label: str | None = None
    lane: Lane = Lane.fast
    # What the job counts as against the user's caps (midway/catalogue.job_cost, set by the bot's
    # admission): 1 for a full job, less for a draft. Records without it count as full jobs.
    cost: float = 1.0
    status: JobStatus = JobStatus.queued
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    max_attempts: int = 3
    # Times the reconciler put this job back on its queue after RQ lost track of it (bounded by max_attempts).
    recoveries: int = 0
    worker: str | None = None
    # Blob refs of the individual images (cell refs into the grid when there is one: midway/blobs.py),
    # and of the composed 2x2 grid.
    outputs: list[str] = Field(default_factory=list)
    grid: str | None = None
    error: str | None = None
    # GPU (or CPU) seconds the engine spent on the job, for /info accounting.
    compute_s: float | None = None
    # Text results: /describe's four prompts, /shorten's five shorter prompts.
    texts: list[str] = Field(default_factory=list)
    # /shorten: one score per word of the prompt's text (midway/prompt/shorten.py `shorten_input`).
    word_scores: list[float] = Field(default_factory=list)
    # The safety filter's verdict on `outputs` (worker/safety.py), one entry per image: its score in [0, 1]
    # and whether it is above the worker's MIDWAY_SAFETY_THRESHOLD. Empty: not checked (a text job, the
    # filter off, a record older than the filter). `safety_failed`: the checker itself failed, so every
    # image is flagged unchecked (fail closed) and `safety_scores` stays empty.
    safety_scores: list[float] = Field(default_factory=list)
    safety_flagged: list[bool] = Field(default_factory=list)
    safety_failed: bool = False


class Event(_Model):
    job_id: str
    kind: EventKind
    at: float = Field(default_factory=time.time)
    position: int | None = None
    step: int | None = None
    total: int | None = None
    preview: str | None = None
    outputs: list[str] = Field(default_factory=list)
    grid: str | None = None
    # A `done` event of /describe or /shorten carries the job's text results too (Job.texts, word_scores).
    texts: list[str] = Field(default_factory=list)
    word_scores: list[float] = Field(default_factory=list)
    # A `done` event of an image job carries the safety filter's verdict too (Job.safety_*).
    safety_scores: list[float] = Field(default_factory=list)
    safety_flagged: list[bool] = Field(default_factory=list)
    safety_failed: bool = False
    # Text a Discord user may see: never a traceback.
    error: str | None = None
    worker: str | None = None
    attempt: int | None = None

    @property
    def percent(self) -> int | None:
        if self.step is None or not self.total:
            return None
        return int(100 * self.step / self.total)
