"""What a server allows (pure): banned words, per-user caps, per-channel limits.

Each check returns a `PolicyError` naming the word or rule that blocked the prompt (Midjourney's
opaque refusals are its users' top moderation complaint, reference §6 #4), or None when allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from midway.contract import GenerationSpec, Operation


@dataclass(frozen=True)
class PolicyError:
    title: str
    detail: str

    @property
    def message(self) -> str:
        return f"**{self.title}**\n{self.detail}"


@dataclass(frozen=True)
class ChannelLimits:
    """Per-channel limits an admin sets; None means no limit beyond the global ones."""

    max_jobs_per_user: int | None = None
    max_steps: int | None = None
    max_side: int | None = None


@dataclass(frozen=True)
class UserLoad:
    """A user's unfinished jobs: how many run and wait, and what they count as against the caps (`units`:
    the sum of their costs, a draft counting as part of a job; None when every job counts as one)."""

    running: int
    queued: int
    units: float | None = None

    @property
    def count(self) -> int:
        return self.running + self.queued

    @property
    def cost(self) -> float:
        return self.count if self.units is None else self.units


def shown_units(value: float) -> str:
    """3 as `3`, two and a half jobs as `2.5`."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _counted(load: UserLoad) -> str:
    """How the caps counted the load, when drafts make it differ from the number of jobs."""
    if abs(load.cost - load.count) < 1e-9:
        return ""
    return f", counting as {shown_units(load.cost)} (a draft counts as part of a job)"


def _adds(extra: float) -> str:
    return f", and this request adds {shown_units(extra)}" if extra > 1 else ""


def normalise_word(word: str) -> str:
    return " ".join(word.lower().split())


def find_banned(text: str, banned: set[str] | frozenset[str] | list[str]) -> str | None:
    """The first banned word or phrase that appears as a whole word in `text` (case-insensitive).

    Whole-word matching avoids Midjourney's classic false positives ("hi" inside "this").
    """
    lowered = text.lower()
    for word in sorted(banned):
        pattern = r"(?<![\w])" + r"\s+".join(re.escape(part) for part in word.split()) + r"(?![\w])"
        if word.strip() and re.search(pattern, lowered):
            return word
    return None


def check_banned(spec: GenerationSpec, banned: set[str] | frozenset[str] | list[str]) -> PolicyError | None:
    text = " ".join(filter(None, [spec.full_prompt or spec.prompt, spec.negative_prompt]))
    word = find_banned(text, banned)
    if word is None:
        return None
    return PolicyError("Banned prompt detected",
                       f"The word `{word}` is not allowed in this server. Edit the prompt and try again.")


def over(load: UserLoad, extra: float, limit: float) -> bool:
    """Whether `extra` more on `load` passes `limit`, in the caps' units (costs are kept to 1/1000)."""
    return load.cost + extra > limit + 1e-6


def check_caps(load: UserLoad, max_running: int, max_queued: int, extra: float = 1) -> PolicyError | None:
    """Midjourney's caps: a few running, a few more queued; past that the queue is full.

    `extra` is what the request adds (a permutation batch adds several jobs at once; a draft counts as
    its cost, part of a job: midway/catalogue.job_cost).
    """
    if over(load, extra, max_running + max_queued):
        return queue_full(load, max_running, max_queued, extra)
    return None


def queue_full(load: UserLoad, max_running: int, max_queued: int, extra: float = 1) -> PolicyError:
    # The cap is on unfinished jobs in all; how many of them run at once is the workers' business, so
    # "13 queued" against "10 queued" must not read as the rule that refused.
    return PolicyError(
        "Queue full",
        f"You have {load.count} unfinished jobs ({load.running} running, {load.queued} "
        f"waiting){_counted(load)}{_adds(extra)}; the most allowed is {max_running + max_queued} ({max_running} "
        f"running while up to {max_queued} wait). Wait for one to finish or cancel one.")


def check_channel(spec: GenerationSpec, limits: ChannelLimits, load: UserLoad,
                  extra: float = 1) -> PolicyError | None:
    if limits.max_jobs_per_user is not None and over(load, extra, limits.max_jobs_per_user):
        return PolicyError("Channel limit",
                           f"This channel allows at most {limits.max_jobs_per_user} unfinished jobs per user, "
                           f"counted across all channels; you have {load.count}{_counted(load)}{_adds(extra)}. "
                           "Wait for one to finish or cancel one.")
    if limits.max_steps is not None and spec.steps is not None and spec.steps > limits.max_steps:
        return PolicyError("Channel limit",
                           f"`steps {spec.steps}` is above this channel's limit of {limits.max_steps} steps.")
    # /describe and /shorten draw nothing: a side limit (of what a worker renders) does not apply.
    draws = spec.operation not in (Operation.describe, Operation.shorten)
    if draws and limits.max_side is not None and max(spec.width, spec.height) > limits.max_side:
        return PolicyError("Channel limit",
                           f"`{spec.width}x{spec.height}` is above this channel's limit of "
                           f"{limits.max_side} pixels per side.")
    return None


def caps_notice(load: UserLoad, max_running: int) -> str | None:
    """Midjourney's friendly note when a job must wait for one of the user's own jobs to finish."""
    if load.running >= max_running:
        return ("**Job queued**\nYou have reached the maximum allowed number of concurrent jobs. "
                "Don't worry, this job will start as soon as another one finishes!")
    return None
