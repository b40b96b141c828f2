"""Fair queueing across users (pure): where a new job joins a queue.

Midjourney users complain that one heavy user's batch blocks everyone. A FIFO queue lets a user who
queues ten jobs push everyone else back ten jobs. We order each queue in rounds instead: a user's
k-th queued job (counting from 0) belongs to round k, and a new job joins the end of its round. A
light user's first job therefore waits behind at most one job of each other user, while a heavy
user's jobs still run in the order they were submitted. This is per-user round robin, enforced at
enqueue time by inserting at the right index, so workers keep RQ's plain "pop the head" dequeue.

A job counts as its cost (Job.cost: a draft of half the steps is half a job), so a round holds a job's
worth of each user's work: two half-cost drafts share one round, as they share one place in the caps.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

# Costs are kept to a thousandth (bot/admission.py price): sums of them are floored with this slack.
_SLACK = 1e-6


def rounds(queued_users: Sequence[str], costs: Sequence[float] | None = None) -> list[int]:
    """The round of each queued job: how many jobs of the same user stand ahead of it, each counted as
    its cost (`costs`, parallel to `queued_users`; None: every job counts as one), rounded down."""
    seen: defaultdict[str, float] = defaultdict(float)
    result = []
    for index, user in enumerate(queued_users):
        result.append(math.floor(seen[user] + _SLACK))
        seen[user] += 1 if costs is None else costs[index]
    return result


def fair_insert_index(queued_users: Sequence[str], user: str, costs: Sequence[float] | None = None) -> int:
    """Index at which `user`'s new job joins a queue whose jobs belong to `queued_users` (head first),
    those jobs costing `costs` (None: one each).

    The job belongs to round r = (what `user` already has queued, in jobs' worth, rounded down) and goes
    before the first job of a later round, i.e. at the end of round r; with no later round, the back.
    """
    # min() at C speed: with no draft queued (the usual case) the count-based path below answers.
    if costs is not None and min(costs, default=1.0) < 1:
        own = sum(cost for queued, cost in zip(queued_users, costs, strict=True) if queued == user)
        own_round = math.floor(own + _SLACK)
        return next((index for index, job_round in enumerate(rounds(queued_users, costs)) if job_round > own_round),
                    len(queued_users))
    counts = Counter(queued_users)
    own_round = counts[user]
    # No job of a later round than the user's own: the back. Answered at C speed, without a Python
    # pass over the queue, whenever no user has two jobs more than this one (e.g. a burst of single
    # jobs from distinct users joining a long queue).
    if own_round >= max(counts.values(), default=0) - 1:
        return len(queued_users)
    for index, job_round in enumerate(rounds(queued_users)):
        if job_round > own_round:
            return index
    return len(queued_users)
