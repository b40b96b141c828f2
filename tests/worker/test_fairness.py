"""Per-user round robin at enqueue time (midway/fairness.py): pure, exhaustive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from midway.fairness import fair_insert_index, rounds


def enqueue_all(users: list[str]) -> list[str]:
    queue: list[str] = []
    for user in users:
        queue.insert(fair_insert_index(queue, user), user)
    return queue


def test_rounds_count_each_users_jobs_ahead():
    assert rounds(["a", "a", "b", "a", "b"]) == [0, 1, 0, 2, 1]


@pytest.mark.parametrize(("queued", "user", "index"), [
    ([], "a", 0),
    (["a"], "a", 1),
    (["a", "a", "a"], "b", 1),      # b's first job waits behind one of a's, not three
    (["a", "b", "a", "a"], "c", 2),  # after everyone's first job
    (["a", "b", "c", "a", "a"], "b", 4),  # b's second job closes round 1
    (["b", "a", "b"], "a", 3),      # nothing later than round 1: the back
])
def test_fair_insert_index(queued, user, index):
    assert fair_insert_index(queued, user) == index


def test_heavy_user_does_not_block_light_users():
    order = enqueue_all(["heavy"] * 10 + ["light1", "light2"])
    assert order.index("light1") <= 1 and order.index("light2") <= 2


def test_one_users_jobs_keep_their_order_and_single_user_is_fifo():
    assert enqueue_all(["a"] * 5) == ["a"] * 5
    order = enqueue_all(["a", "a", "b", "a", "b", "c"])
    assert order == ["a", "b", "c", "a", "b", "a"]


def reference_insert_index(queued: list[str], user: str) -> int:
    """The rule stated plainly: before the first job of a later round than the user's own, else the back."""
    own_round = queued.count(user)
    later = [index for index, job_round in enumerate(rounds(queued)) if job_round > own_round]
    return later[0] if later else len(queued)


@given(st.lists(st.sampled_from("abcde"), max_size=40), st.sampled_from("abcdef"))
def test_insert_index_follows_the_round_rule_for_any_queue(queued, user):
    # Any queue, including orders fair insertion alone would not produce (jobs leave from the head).
    assert fair_insert_index(queued, user) == reference_insert_index(queued, user)
