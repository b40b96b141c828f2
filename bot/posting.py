"""The jobs this bot process is still putting on Discord, per user, in memory (bot.store.posting).

Between a request's caps check and its jobs' submits there is a reply, a message per job and a submit
batch (bot/jobflow.py): tens to hundreds of milliseconds in which Redis does not count those jobs yet.
A request checked in that window (a second Yes, another /imagine, a V pressed right after) adds them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from bot.policy import UserLoad

# Entries submitted longer ago than this are dropped from Posting: every context read that began before
# their submit has long been answered (Redis commands time out in seconds).
_POSTED_KEPT_S = 30.0


class Posting:
    """Jobs let through a caps check (`begin`) until submitted (`submitted`) or given up (`end`); the
    caps then add them to the load Redis reports (`load_of`)."""

    def __init__(self) -> None:
        # user id -> job id -> when its submit returned (None: not yet)
        self._users: dict[str, dict[str, float | None]] = {}

    def begin(self, user_id: str, job_ids: Iterable[str]) -> None:
        """Call right after the check passed, with no await in between (one check, one count)."""
        self._users.setdefault(user_id, {}).update(dict.fromkeys(job_ids))

    def submitted(self, user_id: str, job_id: str) -> None:
        jobs = self._users.get(user_id)
        if jobs is not None and job_id in jobs:
            jobs[job_id] = time.monotonic()

    def end(self, user_id: str, job_ids: Iterable[str]) -> None:
        """The request is over: its jobs not submitted (a failed post) no longer count."""
        jobs = self._users.get(user_id, {})
        for job_id in job_ids:
            if job_id in jobs and jobs[job_id] is None:
                del jobs[job_id]
        self._prune(user_id)

    def load_of(self, user_id: str, load: UserLoad, since: float) -> UserLoad:
        """`load`, read from Redis by a read that began at `since` (time.monotonic()), plus the jobs it
        may have missed: those not submitted yet, and those submitted after it began (counted twice
        at worst, for a moment: a refusal then is safer than a cap exceeded)."""
        self._prune(user_id)
        jobs = self._users.get(user_id, {})
        missed = sum(1 for at in jobs.values() if at is None or at >= since)
        return UserLoad(running=load.running, queued=load.queued + missed)

    def _prune(self, user_id: str) -> None:
        jobs = self._users.get(user_id)
        if jobs is None:
            return
        old = time.monotonic() - _POSTED_KEPT_S
        for job_id in [job_id for job_id, at in jobs.items() if at is not None and at < old]:
            del jobs[job_id]
        if not jobs:
            del self._users[user_id]
