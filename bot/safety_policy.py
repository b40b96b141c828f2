"""What a result whose images the safety filter flagged gets in a channel (issue 21), as a pure function.

The worker scores every output (worker/safety.py) and records which are flagged (Job.safety_flagged);
each server's policy, set with `/moderation safety`, decides what the bot posts:

- `off`: the images, plainly;
- `spoiler` (the default): the attachment as `SPOILER_<name>` (Discord blurs it until clicked) and a line
  naming the reason;
- `block`: no image, a line naming the reason, and no button that would show a flagged image again (U,
  V, Vary, Upscale, Zoom, Pan of it); 🔄 stays, since it makes new images that are scored in turn.

Age-restricted (`nsfw`) channels post plainly while the server exempts them (the default). A verdict is
never a silent drop: a spoilered or refused result always says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.custom_ids import CustomIdError, decode
from bot.messages import ButtonSpec
from midway.contract import Job


class SafetyMode(StrEnum):
    off = "off"
    spoiler = "spoiler"
    block = "block"


REASON = "flagged by the safety filter"


@dataclass(frozen=True)
class Treatment:
    """How to post one result: `spoiler` its attachment, or `block` it; `note` is the line that says why."""

    spoiler: bool = False
    blocked: bool = False
    note: str = ""
    # 1-based indices of the flagged images (the buttons of these go under `block`).
    flagged: tuple[int, ...] = ()


PLAIN = Treatment()


def flagged_images(job: Job) -> tuple[int, ...]:
    """The 1-based indices of the job's images that the safety filter flagged (or could not check)."""
    return tuple(index for index, flagged in enumerate(job.safety_flagged, start=1) if flagged)


def treatment(job: Job, mode: SafetyMode, *, channel_nsfw: bool, nsfw_exempt: bool) -> Treatment:
    """The server's policy applied to the job's verdict in its channel."""
    flagged = flagged_images(job)
    if not flagged or mode is SafetyMode.off or (channel_nsfw and nsfw_exempt):
        return PLAIN
    reason = why(job, flagged)
    if mode is SafetyMode.spoiler:
        return Treatment(spoiler=True, note=f"-# ⚠️ Spoilered: {reason}.", flagged=flagged)
    return Treatment(blocked=True, note=f"⚠️ **Not shown**: {reason}. Use 🔄 to make new ones.", flagged=flagged)


def why(job: Job, flagged: tuple[int, ...]) -> str:
    """The reason in words: which images, and whether the filter judged them or could not check them."""
    if len(job.safety_flagged) == 1:
        which = "the image"
    else:
        which = ("image " if len(flagged) == 1 else "images ") + ", ".join(f"#{index}" for index in flagged)
    if job.safety_failed:
        return f"the safety filter could not check {which}"
    return f"{which} {'was' if len(flagged) == 1 else 'were'} {REASON}"


def allowed_buttons(buttons: list[ButtonSpec], treated: Treatment) -> list[ButtonSpec]:
    """A blocked result's buttons without those acting on a flagged image (they would show it again)."""
    if not treated.blocked:
        return buttons
    return [button for button in buttons if _image_of(button) not in treated.flagged]


def _image_of(button: ButtonSpec) -> int | None:
    try:
        return decode(button.custom_id).index
    except CustomIdError:
        return None
