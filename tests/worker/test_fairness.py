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


def test_drafts_count_as_their_cost_in_the_rounds():
    # Two half-cost drafts of a make one round: b's first job waits behind both, not behind one.
    assert rounds(["a", "a", "a"], [0.5, 0.5, 0.5]) == [0, 0, 1]
    assert fair_insert_index(["a", "a", "a"], "b", [0.5, 0.5, 0.5]) == 2
    # b already has a full job queued: its second closes round 1, after a's third draft.
    assert fair_insert_index(["a", "b", "a", "a", "a"], "b", [0.5, 1, 0.5, 0.5, 0.5]) == 5
    # Every job full: the same answer as counting jobs.
    assert fair_insert_index(["a", "a", "a"], "b", [1, 1, 1]) == fair_insert_index(["a", "a", "a"], "b") == 1


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from([0.25, 0.5, 1.0])), max_size=30),
       st.sampled_from("abcdef"))
def test_a_costed_insert_goes_before_the_first_later_round(queued, user):
    users, costs = [name for name, _ in queued], [cost for _, cost in queued]
    index = fair_insert_index(users, user, costs)
    own_round = int(sum(cost for name, cost in queued if name == user))
    job_rounds = rounds(users, costs)
    assert all(job_round <= own_round for job_round in job_rounds[:index])
    assert index == len(users) or job_rounds[index] > own_round
