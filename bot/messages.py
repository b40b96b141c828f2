"""Every text and button layout the bot shows, as pure functions of the job (no Discord calls).

The formats are Midjourney's (see shared/reference/midjourney.md §2a, §3): proxies and users parse
them, so they stay verbatim: `**<prompt>** - <@user> (Waiting to start)`, `(NN%) (fast)`, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.custom_ids import Action, encode
from bot.outpaint import PAN_ARROWS, PAN_DIRECTIONS
from midway.contract import Job, Lane, Operation
from midway.discord_limits import MESSAGE_CONTENT
from midway.loras import choice_echo

# Discord rejects content above MESSAGE_CONTENT characters; the prompt is the only unbounded part,
# so it gets what the longest fixed text (a failure reason of 200 characters) leaves over.
MAX_PROMPT_ECHO = MESSAGE_CONTENT - 300

LANE_TAGS = {Lane.fast: "fast", Lane.relax: "relaxed", Lane.turbo: "turbo"}


# In a job's pressed buttons, what follows the custom_id of one pressed through Remix (bot/store.py).
REMIXED_SUFFIX = "#remix"


class Style(StrEnum):
    """discord.ButtonStyle names: grey until used, blue once used, green once used through Remix
    (Midjourney's convention)."""

    grey = "secondary"
    blue = "primary"
    green = "success"
    red = "danger"


@dataclass(frozen=True)
class ButtonSpec:
    label: str | None
    custom_id: str
    row: int
    style: Style = Style.grey
    emoji: str | None = None


def echo_prompt(job: Job) -> str:
    """The final prompt as Midjourney echoes it (suffix and options applied, parameters included)."""
    text = (job.spec.full_prompt or job.spec.prompt).strip()
    if len(text) > MAX_PROMPT_ECHO:
        text = text[: MAX_PROMPT_ECHO - 1] + "…"
    return text


def loras_text(job: Job) -> str:
    """The job's LoRAs with the weights they ran at, e.g. "`tiny-style::0.8`, `tiny-ink::1`"; "" for none."""
    return ", ".join(f"`{choice_echo(choice)}`" for choice in job.spec.loras)


def mention(job: Job) -> str:
    return f"<@{job.requester.user_id}>"


def _headline(job: Job) -> str:
    """`**<prompt>** - <@user>` or, for derived jobs, `**<prompt>** - Variations (Strong) by <@user>`."""
    if job.label:
        return f"**{echo_prompt(job)}** - {job.label} by {mention(job)}"
    return f"**{echo_prompt(job)}** - {mention(job)}"


def _draft_tag(job: Job) -> str:
    """Every message of a draft says so: its prompt may not (the /settings Draft toggle drafts without
    the parameter)."""
    return " (Draft)" if job.spec.draft else ""


def lane_tag(job: Job) -> str:
    return LANE_TAGS.get(job.lane, job.lane.value)


def waiting(job: Job, position: int | None = None, served: bool = True, eta_s: float | None = None) -> str:
    """The acknowledgement, then the live queue position (and, once the workers have timed a job, about
    how long until it starts: the jobs ahead, plus loading its engine where no worker has it on a device)."""
    text = f"{_headline(job)}{_draft_tag(job)} (Waiting to start)"
    if not served:
        return f"{text} (no worker is serving `{job.spec.engine}` right now; it will start when one joins)"
    if position is not None and position > 0:
        return f"{text} (#{position} in queue{_about(eta_s)})"
    return text


def _about(eta_s: float | None) -> str:
    """", about 40 s" / ", about 3 min"; nothing under a second or when unknown (rounded, so the message is
    not edited for every tenth of a second the estimate moves)."""
    if eta_s is None or eta_s < 1:
        return ""
    if eta_s < 90:
        return f", about {max(5, round(eta_s / 5) * 5)} s"
    return f", about {round(eta_s / 60)} min"


def progress(job: Job, percent: int) -> str:
    return f"{_headline(job)}{_draft_tag(job)} ({max(0, min(100, percent))}%) ({lane_tag(job)})"


def finished(job: Job) -> str:
    """The result message: a new message replying to the job's progress message."""
    return f"{_headline(job)}{_draft_tag(job)} ({lane_tag(job)})"


def single_image(job: Job, index: int) -> str:
    """U<i>: Midjourney shows no mode tag on a separated image."""
    return f"**{echo_prompt(job)}** - Image #{index} {mention(job)}"


def is_split(job: Job) -> bool:
    """A U<i> job: image i separated from its grid, no new pixels (Midjourney V5+ semantics)."""
    return job.spec.operation == Operation.upscale and job.spec.upscale_factor in (None, 1)


# /describe and /shorten results: prompts, not images (their embeds are bot/text_answers.py's).
TEXT_OPERATIONS = frozenset({Operation.describe, Operation.shorten})
NUMBERS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")


def text_buttons(job: Job, used: set[str] | frozenset[str] = frozenset()) -> list[ButtonSpec]:
    """A prompt per number (each opens it, editable, to imagine); /describe's also get 🔄 (describe again)
    and 🎉 Imagine all."""
    count = min(len(job.texts), 4 if job.spec.operation is Operation.describe else 5)
    specs = [ButtonSpec(None, encode(Action.pick, job.id, i), 0, emoji=NUMBERS[i - 1]) for i in range(1, count + 1)]
    if job.spec.operation is Operation.describe:
        specs.append(ButtonSpec(None, encode(Action.reroll, job.id), 0, emoji="🔄"))
        if count:
            specs.append(ButtonSpec("Imagine all", encode(Action.imagine_all, job.id), 1, emoji="🎉"))
    return [_mark(spec, set(used)) for spec in specs]


def result_text(job: Job) -> str:
    """An image job's result content (/describe's and /shorten's answers are bot/text_answers.py's embeds)."""
    if is_split(job):
        return single_image(job, job.parent_index or 1)
    return finished(job)


def result_buttons(job: Job, used: set[str] | frozenset[str] = frozenset(),
                   capabilities: frozenset[Operation] = frozenset()) -> list[ButtonSpec]:
    """Grids get U/V/🔄; single images (U, upscales) get the single-image rows, and a U image also gets
    Vary (Region), Zoom Out / Custom Zoom / Make Square and Pan when its engine's `capabilities` include
    them. /describe and /shorten results get their numbered prompts' buttons."""
    if job.spec.operation in TEXT_OPERATIONS:
        return text_buttons(job, used)
    if len(job.outputs) == 1 or job.spec.n_images == 1:
        return single_buttons(job.id, 1, used, capabilities if is_split(job) else frozenset(),
                              square=job.spec.width == job.spec.height)
    if job.spec.draft:
        return grid_buttons(job.id, used) + [_mark(enhance_button(job.id), set(used))]
    return grid_buttons(job.id, used)


def enhance_button(job_id: str) -> ButtonSpec:
    """A draft grid's third row: the same prompt and seed again at full quality."""
    return ButtonSpec("Enhance", encode(Action.enhance, job_id), 2, emoji="✨")


def stopped(job: Job) -> str:
    return f"{_headline(job)} (Stopped)"


def failed(job: Job, error: str | None) -> str:
    reason = (error or "something went wrong").strip().splitlines()[0][:200]
    return f"{_headline(job)} (Failed: {reason})"


def undeliverable(job: Job, status: int) -> str:
    """The job's own message when Discord refused to post its result (403: missing permission)."""
    why = ("the bot may not send messages or attach files in this channel; ask an admin to allow it, then"
           " use /show with the job id" if status == 403 else "the channel or message is gone")
    return f"{_headline(job)} (Done, but the result could not be posted: {why}) `{job.id}`"


def delivered_note(job: Job) -> str:
    """What the progress message says once the result has been posted below it."""
    return f"{_headline(job)} (Done)"


def job_link(guild_id: str | None, channel_id: str, message_id: str | None) -> str | None:
    if message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


def already_running(link: str | None) -> str:
    where = f": [jump to it]({link})" if link else "."
    return f"That button was already used; its job exists{where}"


def _mark(spec: ButtonSpec, used: set[str]) -> ButtonSpec:
    if spec.custom_id + REMIXED_SUFFIX in used:
        return ButtonSpec(spec.label, spec.custom_id, spec.row, Style.green, spec.emoji)
    if spec.custom_id in used:
        return ButtonSpec(spec.label, spec.custom_id, spec.row, Style.blue, spec.emoji)
    return spec


def grid_buttons(job_id: str, used: set[str] | frozenset[str] = frozenset()) -> list[ButtonSpec]:
    """Midjourney's grid layout: `U1 U2 U3 U4 🔄` then `V1 V2 V3 V4`; used buttons turn blue."""
    row0 = [ButtonSpec(f"U{i}", encode(Action.upscale, job_id, i), 0) for i in range(1, 5)]
    row0.append(ButtonSpec(None, encode(Action.reroll, job_id), 0, emoji="🔄"))
    row1 = [ButtonSpec(f"V{i}", encode(Action.variation, job_id, i), 1) for i in range(1, 5)]
    return [_mark(spec, set(used)) for spec in row0 + row1]


def single_buttons(job_id: str, index: int, used: set[str] | frozenset[str] = frozenset(),
                   capabilities: frozenset[Operation] = frozenset(), square: bool = True) -> list[ButtonSpec]:
    """Buttons under one image: Vary (Subtle/Strong), and Vary (Region) where `capabilities` include
    inpainting; Upscale (2x/4x), 🔄 (the prompt, new seed); then, where the engine outpaints, Midjourney's
    `Zoom Out 2x` `Zoom Out 1.5x` `Custom Zoom` `Make Square` (non-`square` images only) row and the
    ⬅️ ➡️ ⬆️ ⬇️ row."""
    specs = [
        ButtonSpec("Vary (Subtle)", encode(Action.vary_subtle, job_id, index), 0, emoji="🪄"),
        ButtonSpec("Vary (Strong)", encode(Action.vary_strong, job_id, index), 0, emoji="🪄"),
    ]
    if Operation.inpaint in capabilities:
        specs.append(ButtonSpec("Vary (Region)", encode(Action.vary_region, job_id, index), 0, emoji="🖌️"))
    specs += [
        ButtonSpec("Upscale (2x)", encode(Action.upscale_2x, job_id, index), 1),
        ButtonSpec("Upscale (4x)", encode(Action.upscale_4x, job_id, index), 1),
        ButtonSpec(None, encode(Action.reroll, job_id), 1, emoji="🔄"),
    ]
    if Operation.zoom in capabilities:
        specs += [ButtonSpec("Zoom Out 2x", encode(Action.zoom_2x, job_id, index), 2, emoji="🔍"),
                  ButtonSpec("Zoom Out 1.5x", encode(Action.zoom_15x, job_id, index), 2, emoji="🔍"),
                  ButtonSpec("Custom Zoom", encode(Action.custom_zoom, job_id, index), 2, emoji="🔍")]
        if not square:
            specs.append(ButtonSpec("Make Square", encode(Action.make_square, job_id, index), 2))
    if Operation.pan in capabilities:
        specs += [ButtonSpec(None, encode(action, job_id, index), 3, emoji=PAN_ARROWS[direction])
                  for action, direction in PAN_DIRECTIONS.items()]
    return [_mark(spec, set(used)) for spec in specs]


def cancel_buttons(job_id: str) -> list[ButtonSpec]:
    return [ButtonSpec("Cancel", encode(Action.cancel, job_id), 0, Style.red)]


def confirm_buttons(batch_id: str) -> list[ButtonSpec]:
    return [
        ButtonSpec("Yes", encode(Action.confirm, batch_id), 0, Style.green),
        ButtonSpec("No", encode(Action.decline, batch_id), 0, Style.red),
    ]


def confirm_batch(count: int, example: str) -> str:
    return (f"This prompt expands to **{count}** jobs (e.g. `{example[:300]}`). "
            f"Submit all {count}?")


def attachment_name(job: Job, fmt: str) -> str:
    """`<user>_<prompt-slug>_<job id>.<ext>`, Midjourney's filename shape (the job id is in it)."""
    slug = "".join(c if c.isalnum() else "_" for c in job.spec.prompt.lower())[:40].strip("_") or "image"
    user = "".join(c for c in (job.requester.user_name or "user") if c.isalnum())[:32] or "user"
    return f"{user}_{slug}_{job.id}.{fmt.lower()}"
