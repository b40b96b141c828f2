"""The custom_id codec for every Midway button and modal (pure).

A custom_id is the only state a button carries across bot restarts, so it names the action and the
job (and image index) and nothing else; everything else is looked up in Redis when it is clicked.
A modal a button opens (Remix, Vary (Region), Custom Zoom) carries that button's id under the prefix
``mwm`` instead of ``mw``, so a modal opened before a restart can still be submitted after it.
Discord caps custom_ids at 100 characters: ours are at most ``mwm:`` + 5 + 1 + 36 + 2 = 48.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from midway.discord_limits import CUSTOM_ID as MAX_CUSTOM_ID

PREFIX = "mw"
MODAL_PREFIX = "mwm"


class Action(StrEnum):
    """Short codes, because they travel in every custom_id."""

    upscale = "u"  # U1–U4: separate image i from the grid
    variation = "v"  # V1–V4: a variation grid of image i (mode from the user's settings)
    reroll = "r"  # 🔄: same prompt, new seed
    vary_subtle = "vs"  # single image: Vary (Subtle)
    vary_strong = "vx"  # single image: Vary (Strong)
    upscale_2x = "u2"
    upscale_4x = "u4"
    zoom_2x = "z2"  # single image: Zoom Out 2x (outpainting)
    zoom_15x = "z15"  # single image: Zoom Out 1.5x
    custom_zoom = "cz"  # single image: Custom Zoom (a modal: the prompt plus `--zoom 1.0-2.0`, maybe `--ar`)
    make_square = "sq"  # single image, non-square only: Make Square (outpaints to 1:1)
    vary_region = "vr"  # single image: Vary (Region) (a modal: the rectangle to repaint)
    pan_left = "pl"  # single image: ⬅️ ➡️ ⬆️ ⬇️ (outpainting one side)
    pan_right = "pr"
    pan_up = "pu"
    pan_down = "pd"
    cancel = "x"  # cancel a queued or running job
    confirm = "ok"  # run a permutation / --repeat batch awaiting confirmation
    decline = "no"  # drop that batch
    pick = "p"  # /describe's 1️⃣–4️⃣, /shorten's 1️⃣–5️⃣: a modal prefilled with that prompt, to imagine
    imagine_all = "ia"  # /describe's 🎉 Imagine all: the four prompts at once
    enhance = "e"  # a `--draft` grid's Enhance: the same prompt, seed and parameters at full quality


# Actions that point at one image of a job; the rest point at the whole job.
INDEXED = frozenset({Action.upscale, Action.variation, Action.vary_subtle, Action.vary_strong,
                     Action.upscale_2x, Action.upscale_4x, Action.zoom_2x, Action.zoom_15x, Action.pan_left,
                     Action.pan_right, Action.pan_up, Action.pan_down, Action.custom_zoom, Action.make_square,
                     Action.vary_region, Action.pick})
# The largest index of an indexed action: four images, or /shorten's five prompts.
MAX_INDEX = {Action.pick: 5}

# Buttons that may open a modal before they act: V / Vary / 🔄 with Remix on, Vary (Region), Custom Zoom.
MODAL_ACTIONS = frozenset({Action.variation, Action.vary_subtle, Action.vary_strong, Action.reroll,
                           Action.pan_left, Action.pan_right, Action.pan_up, Action.pan_down,
                           Action.vary_region, Action.custom_zoom, Action.pick})

# Job ids are uuid4 strings; batch ids (confirm/decline) are the same shape.
_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ID_PATTERN = re.compile(_ID)  # compiled once: encode() runs for every button a message shows
_ACTIONS = "|".join(sorted((a.value for a in Action), key=len, reverse=True))
PATTERN = re.compile(rf"^{PREFIX}:(?P<action>{_ACTIONS}):(?P<job>{_ID})(?::(?P<index>[0-9]+))?$")


def is_job_button(custom_id: str) -> bool:
    """Whether bot/routing.py routes this id to the job buttons: every `mw:` id, even ones decode()
    rejects, so that a forged or outdated button gets an explanation instead of "This interaction failed"."""
    return custom_id.startswith(f"{PREFIX}:")


class CustomIdError(ValueError):
    """A custom_id we did not issue (forged, or from a newer/older bot version)."""


@dataclass(frozen=True)
class ButtonRef:
    action: Action
    job_id: str
    index: int | None = None

    @property
    def custom_id(self) -> str:
        return encode(self.action, self.job_id, self.index)

    @property
    def modal_id(self) -> str:
        """The custom_id of the modal this button opens."""
        return encode_modal(self)


def encode(action: Action, job_id: str, index: int | None = None) -> str:
    """custom_id for `action` on `job_id` (image `index`, 1-based, for indexed actions)."""
    if not _ID_PATTERN.fullmatch(job_id):
        raise CustomIdError(f"not a job id: {job_id!r}")
    if action in INDEXED:
        top = MAX_INDEX.get(action, 4)
        if index is None or not 1 <= index <= top:
            raise CustomIdError(f"{action.name} needs an index 1-{top}, got {index!r}")
        custom_id = f"{PREFIX}:{action.value}:{job_id}:{index}"
    else:
        if index is not None:
            raise CustomIdError(f"{action.name} takes no image index")
        custom_id = f"{PREFIX}:{action.value}:{job_id}"
    assert len(custom_id) <= MAX_CUSTOM_ID
    return custom_id


def decode(custom_id: str) -> ButtonRef:
    """The button a custom_id stands for; CustomIdError when we could not have issued it."""
    match = PATTERN.match(custom_id)
    if match is None:
        raise CustomIdError(f"unknown button {custom_id[:MAX_CUSTOM_ID]!r}")
    action = Action(match["action"])
    index = int(match["index"]) if match["index"] is not None else None
    # Re-encoding rejects a missing, extra or out-of-range index with the same rules encode() uses.
    ref = ButtonRef(action, match["job"], index)
    if encode(ref.action, ref.job_id, ref.index) != custom_id:
        raise CustomIdError(f"malformed button {custom_id!r}")
    return ref


def is_modal(custom_id: str) -> bool:
    """Whether a modal submit names one of our modals (decode_modal() may still refuse it)."""
    return custom_id.startswith(f"{MODAL_PREFIX}:")


def encode_modal(ref: ButtonRef) -> str:
    """The modal's custom_id: the button's, under the modal prefix."""
    if ref.action not in MODAL_ACTIONS:
        raise CustomIdError(f"{ref.action.name} opens no modal")
    return MODAL_PREFIX + ref.custom_id[len(PREFIX):]


def decode_modal(custom_id: str) -> ButtonRef:
    """The button whose modal was submitted; CustomIdError when we could not have issued the modal."""
    if not is_modal(custom_id):
        raise CustomIdError(f"unknown modal {custom_id[:MAX_CUSTOM_ID]!r}")
    ref = decode(PREFIX + custom_id[len(MODAL_PREFIX):])
    if ref.action not in MODAL_ACTIONS:
        raise CustomIdError(f"{ref.action.name} opens no modal")
    return ref
