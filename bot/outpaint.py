"""Zoom Out and Pan under a single image (pure): which buttons an engine gets, and the job each press makes.

Midjourney's layout (reference §3b): row 2 `Zoom Out 2x` `Zoom Out 1.5x` `Custom Zoom` `Make Square`
(non-square images only), row 3 ⬅️ ➡️ ⬆️ ⬇️; the result says `- Zoom Out by <@user>` (Make Square
too: the reference has no text of its own for it) / `- Pan Left by <@user>`, and a pan or Make Square
rewrites `--ar` in the echoed prompt (a 1:1 image panned left becomes `--ar 3:2`). Custom Zoom's modal
holds the prompt plus `--zoom 1.0-2.0` and may change `--ar`. The canvas arithmetic lives with the
engines (engines/outpaint.py, Pillow and numpy only), so bot and worker agree on sizes.
"""

from __future__ import annotations

import math
import re

from bot.custom_ids import Action
from midway.catalogue import EngineEntry
from midway.contract import GenerationSpec, Operation, PanDirection
from midway.sizing import size_for_aspect
from midway.spec_edits import MAX_ZOOM, MIN_ZOOM, canvas_limit, pan_spec, zoom_spec

ZOOM_FACTORS = {Action.zoom_2x: 2.0, Action.zoom_15x: 1.5}
PAN_DIRECTIONS = {Action.pan_left: PanDirection.left, Action.pan_right: PanDirection.right,
                  Action.pan_up: PanDirection.up, Action.pan_down: PanDirection.down}
PAN_ARROWS = {PanDirection.left: "⬅️", PanDirection.right: "➡️", PanDirection.up: "⬆️", PanDirection.down: "⬇️"}
OUTPAINT_ACTIONS = frozenset(ZOOM_FACTORS) | frozenset(PAN_DIRECTIONS) | {Action.custom_zoom, Action.make_square}
OUTPAINT_OPERATIONS = frozenset({Operation.zoom, Operation.pan})

_ASPECT = re.compile(r"(?<!\S)--(?:ar|aspect)\s+\S+")
# `--zoom` exists only inside the Custom Zoom modal (the prompt parser refuses it elsewhere).
_ZOOM = re.compile(r"(?<!\S)--zoom(?:\s+(?P<value>(?!--)\S+))?", re.IGNORECASE)


class OutpaintError(ValueError):
    """The engine cannot zoom or pan (a stale or forged button); the message is for the user."""


def operation_of(action: Action) -> Operation:
    return Operation.pan if action in PAN_DIRECTIONS else Operation.zoom


def custom_zoom_text(full_prompt: str) -> str:
    """What Custom Zoom's modal is prefilled with: the prompt plus `--zoom 2`."""
    return f"{full_prompt.strip()} --zoom 2"


def split_zoom(text: str) -> tuple[float, str]:
    """Custom Zoom's modal text -> (the `--zoom` factor, the prompt without it); OutpaintError names the
    problem with the value as typed."""
    found = list(_ZOOM.finditer(text))
    if len(found) != 1:
        problem = "needs" if not found else "takes only one"
        raise OutpaintError(f"Custom Zoom {problem} `--zoom <{MIN_ZOOM}-{MAX_ZOOM}>` in the prompt.")
    typed = found[0]["value"] or ""
    try:
        factor = float(typed)
    except ValueError:
        factor = math.nan
    if not MIN_ZOOM <= factor <= MAX_ZOOM:
        raise OutpaintError(f"`--zoom {typed}` is not a zoom: Custom Zoom takes a number from {MIN_ZOOM} to "
                            f"{MAX_ZOOM}.")
    rest = (text[: found[0].start()] + text[found[0].end():]).split()
    return factor, " ".join(rest)


def square_side(width: int, height: int, multiple: int) -> int:
    """Make Square's canvas: the long side (rounded up to the engine's multiple), so the source keeps
    its size and only the short side grows."""
    return math.ceil(max(width, height) / multiple) * multiple


def with_aspect(full_prompt: str, aspect_ratio: str) -> str:
    """The echoed prompt with `--ar` set to the new canvas (replaced where typed, else appended)."""
    replacement = f"--ar {aspect_ratio}"
    if _ASPECT.search(full_prompt):
        return _ASPECT.sub(replacement, full_prompt, count=1)
    return f"{full_prompt.rstrip()} {replacement}".strip()


def outpaint_spec(source: GenerationSpec, action: Action, entry: EngineEntry, image: str, seed: int, *,
                  zoom: float | None = None, aspect_ratio: str | None = None,
                  max_side: int | None = None) -> tuple[GenerationSpec, str]:
    """The spec and label of a Zoom Out / Pan / Custom Zoom / Make Square of `image`, whose own spec is
    `source`. Custom Zoom passes its `zoom` factor and the `aspect_ratio` its prompt asked for; a canvas
    above the channel's `max_side` (else engines/outpaint.py's default bound) is refused."""
    operation = operation_of(action)
    if operation not in entry.capabilities:
        verb = "zoom out" if operation is Operation.zoom else "pan"
        raise OutpaintError(f"The engine `{entry.name}` cannot {verb}.")
    base = source.model_copy(update={"upscale_factor": None, "upscale_mode": None, "region": None})
    if action is Action.custom_zoom:
        spec, label = custom_zoom_spec(base, entry, zoom or MAX_ZOOM, aspect_ratio), "Zoom Out"
    elif action is Action.make_square:
        if source.width == source.height:
            raise OutpaintError("That image is already square.")
        side = square_side(source.width, source.height, entry.size_multiple)
        spec, label = _reshaped(zoom_spec(base, MIN_ZOOM), side, side, "1:1"), "Zoom Out"
    elif operation is Operation.zoom:
        spec, label = zoom_spec(base, ZOOM_FACTORS[action]), "Zoom Out"
    else:
        direction = PAN_DIRECTIONS[action]
        spec = pan_spec(base, direction, entry.size_multiple)
        spec.full_prompt = with_aspect(spec.full_prompt or spec.prompt, spec.aspect_ratio)
        label = f"Pan {direction.value.title()}"
    if limit := canvas_limit(spec.width, spec.height, entry.base_width, entry.base_height, max_side):
        raise OutpaintError(f"That would make a {spec.width}x{spec.height} image, above {limit}. "
                            "Try a smaller zoom, or edit an earlier image.")
    spec.init_image, spec.seed = image, seed
    return spec, label


def custom_zoom_spec(base: GenerationSpec, entry: EngineEntry, factor: float,
                     aspect_ratio: str | None) -> GenerationSpec:
    """Zoom Out by `factor`; a changed `--ar` gives the canvas the engine's size for that ratio."""
    spec = zoom_spec(base, factor)
    if aspect_ratio is None or aspect_ratio == base.aspect_ratio:
        return spec
    width_ratio, height_ratio = (int(side) for side in aspect_ratio.split(":"))
    width, height = size_for_aspect(width_ratio, height_ratio, entry.base_width, entry.base_height,
                                    entry.size_multiple)
    return _reshaped(spec, width, height, aspect_ratio)


def _reshaped(spec: GenerationSpec, width: int, height: int, aspect_ratio: str) -> GenerationSpec:
    spec = spec.model_copy(update={"width": width, "height": height, "aspect_ratio": aspect_ratio})
    spec.full_prompt = with_aspect(spec.full_prompt or spec.prompt, aspect_ratio)
    return spec
