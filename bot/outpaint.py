"""Zoom Out and Pan under a single image (pure): which buttons an engine gets, and the job each press makes.

Midjourney's layout (reference §3b): row 2 `Zoom Out 2x` `Zoom Out 1.5x`, row 3 ⬅️ ➡️ ⬆️ ⬇️; the
result says `- Zoom Out by <@user>` / `- Pan Left by <@user>`, and a pan rewrites `--ar` in the
echoed prompt (a 1:1 image panned left becomes `--ar 3:2`). The canvas arithmetic lives with the
engines (engines/outpaint.py, Pillow and numpy only), so bot and worker agree on sizes.
"""

from __future__ import annotations

import re

from bot.custom_ids import Action
from engines.catalogue import EngineEntry
from engines.outpaint import pan_spec, zoom_spec
from midway.contract import GenerationSpec, Operation, PanDirection

ZOOM_FACTORS = {Action.zoom_2x: 2.0, Action.zoom_15x: 1.5}
PAN_DIRECTIONS = {Action.pan_left: PanDirection.left, Action.pan_right: PanDirection.right,
                  Action.pan_up: PanDirection.up, Action.pan_down: PanDirection.down}
PAN_ARROWS = {PanDirection.left: "⬅️", PanDirection.right: "➡️", PanDirection.up: "⬆️", PanDirection.down: "⬇️"}
OUTPAINT_ACTIONS = frozenset(ZOOM_FACTORS) | frozenset(PAN_DIRECTIONS)
OUTPAINT_OPERATIONS = frozenset({Operation.zoom, Operation.pan})

_ASPECT = re.compile(r"(?<!\S)--(?:ar|aspect)\s+\S+")


class OutpaintError(ValueError):
    """The engine cannot zoom or pan (a stale or forged button); the message is for the user."""


def operation_of(action: Action) -> Operation:
    return Operation.zoom if action in ZOOM_FACTORS else Operation.pan


def with_aspect(full_prompt: str, aspect_ratio: str) -> str:
    """The echoed prompt with `--ar` set to the new canvas (replaced where typed, else appended)."""
    replacement = f"--ar {aspect_ratio}"
    if _ASPECT.search(full_prompt):
        return _ASPECT.sub(replacement, full_prompt, count=1)
    return f"{full_prompt.rstrip()} {replacement}".strip()


def outpaint_spec(source: GenerationSpec, action: Action, entry: EngineEntry, image: str,
                  seed: int) -> tuple[GenerationSpec, str]:
    """The spec and label of a Zoom Out / Pan of `image`, whose own spec is `source`."""
    operation = operation_of(action)
    if operation not in entry.capabilities:
        verb = "zoom out" if operation is Operation.zoom else "pan"
        raise OutpaintError(f"The engine `{entry.name}` cannot {verb}.")
    base = source.model_copy(update={"upscale_factor": None, "upscale_mode": None})
    if operation is Operation.zoom:
        spec, label = zoom_spec(base, ZOOM_FACTORS[action]), "Zoom Out"
    else:
        direction = PAN_DIRECTIONS[action]
        spec = pan_spec(base, direction, entry.size_multiple)
        spec.full_prompt = with_aspect(spec.full_prompt or spec.prompt, spec.aspect_ratio)
        label = f"Pan {direction.value.title()}"
    spec.init_image, spec.seed = image, seed
    return spec, label
