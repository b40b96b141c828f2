"""Fair queueing across users (pure): where a new job joins a queue.

Midjourney users complain that one heavy user's batch blocks everyone. A FIFO queue lets a user who
queues ten jobs push everyone else back ten jobs. We order each queue in rounds instead: a user's
k-th queued job (counting from 0) belongs to round k, and a new job joins the end of its round. A
light user's first job therefore waits behind at most one job of each other user, while a heavy
user's jobs still run in the order they were submitted. This is per-user round robin, enforced at
enqueue time by inserting at the right index, so workers keep RQ's plain "pop the head" dequeue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def rounds(queued_users: Sequence[str]) -> list[int]:
    """The round of each queued job: how many jobs of the same user stand ahead of it."""
    seen: Counter[str] = Counter()
    result = []
    for user in queued_users:
        result.append(seen[user])
        seen[user] += 1
    return result


def fair_insert_index(queued_users: Sequence[str], user: str) -> int:
    """Index at which `user`'s new job joins a queue whose jobs belong to `queued_users` (head first).

    The job belongs to round r = (jobs `user` already has queued) and goes before the first job of a
    later round, i.e. at the end of round r; with no later round it goes to the back.
    """
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
