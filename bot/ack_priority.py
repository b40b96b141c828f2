"""Acknowledgements first: the bot's bookkeeping waits while any interaction is still unanswered.

Discord fails an interaction not answered within 3 s, and under a burst of /imagine a bot answers as
fast as its one event loop runs. A job's submit (RQ enqueue, JSON, one MULTI) is Python that runs in
a thread and takes the GIL from that loop. Gated only on a lull between submit calls, it still ran
in the middle of a burst: every context read in flight paused the acknowledgements long enough to
look like a lull, and each batch then delayed the interactions that arrived during it
(bench/ack_load.py: submit batches of 14-64 jobs started 125-220 ms into a 200-interaction burst).
What the bot can see directly is better: interactions it has received and not yet answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

import discord

from midway.discord_limits import INTERACTION_ACK_S

# An interaction arriving this soon after the last one is part of the same burst.
ARRIVAL_GAP_S = 0.002
# Unanswered entries kept before arrived() prunes the answered ones.
PRUNE_FROM = 64
# How often a deferred step looks again, and the longest it defers (a burst's tail must not starve it).
POLL_S = 0.003
MAX_DEFER_S = 0.5


class AckPriority:
    """Tracks interactions from arrival until they are answered (or Discord's 3 s have passed)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # In arrival order: busy() only needs to know whether the oldest entry still waits.
        self._unanswered: deque[tuple[float, discord.Interaction]] = deque()
        self._last_arrival = float("-inf")
        self._prune_at = PRUNE_FROM
        self._idle: asyncio.Event | None = None
        self._watcher: asyncio.Task | None = None

    def arrived(self, interaction: discord.Interaction) -> None:
        now = self._clock()
        self._last_arrival = now
        self._unanswered.append((now, interaction))
        # busy() prunes too, but only while a submit or a deferred step waits: a bot answering
        # interactions that make no job (settings, /info) must not keep every one of them. Doubling
        # keeps this O(1) per arrival.
        if len(self._unanswered) >= self._prune_at:
            self._prune(now)
            self._prune_at = max(PRUNE_FROM, 2 * len(self._unanswered))

    def busy(self) -> bool:
        """True while an interaction waits for its answer, or one arrived a moment ago."""
        now = self._clock()
        self._prune(now)
        return bool(self._unanswered) or now - self._last_arrival < ARRIVAL_GAP_S

    async def until_idle(self, max_wait_s: float = MAX_DEFER_S) -> None:
        """Defer work that follows an answer (posting a button's job or image) while others wait for
        theirs: under a burst of clicks, each post ran between later clicks and their answers."""
        if not self.busy():
            return
        # One watcher for all the deferred steps: a hundred answered presses each polling busy()
        # would spend the loop's time that the presses still waiting need.
        if self._idle is None:
            self._idle = asyncio.Event()
            self._watcher = asyncio.get_running_loop().create_task(self._watch(self._idle))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), max_wait_s)

    async def _watch(self, idle: asyncio.Event) -> None:
        try:
            while self.busy():
                await asyncio.sleep(POLL_S)
        finally:
            self._idle = None
            idle.set()

    def _prune(self, now: float) -> None:
        """Drop answered entries from the front, up to the oldest that still waits: O(1) per entry in
        all, where a scan of the whole list on every busy() poll cost a burst O(n²). Answered entries
        behind a waiting one stay until it goes. A handler that failed without answering holds them at
        most Discord's deadline, past which its interaction is lost anyway."""
        unanswered = self._unanswered
        while unanswered:
            at, interaction = unanswered[0]
            if not interaction.response.is_done() and now - at < INTERACTION_ACK_S:
                return
            unanswered.popleft()
