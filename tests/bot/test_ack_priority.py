"""Acknowledgements first: a job's submit waits while the bot holds an unanswered interaction
(bot/ack_priority.py), but never loses the job nor waits past SUBMIT_MAX_DELAY_S."""

from __future__ import annotations

import asyncio

from bot.ack_priority import AckPriority
from bot.backend import SUBMIT_MAX_DELAY_S, Backend
from midway import keys
from midway.contract import GenerationSpec, Job, JobStatus, MessageRef, Requester
from midway.discord_limits import INTERACTION_ACK_S
from midway.settings import Settings


class Response:
    """The one thing AckPriority reads of a discord.Interaction: whether it was answered."""

    def __init__(self) -> None:
        self.answered = False

    def is_done(self) -> bool:
        return self.answered


class Interaction:
    def __init__(self) -> None:
        self.response = Response()


def a_job(user: str) -> Job:
    spec = GenerationSpec(prompt=f"a lighthouse for {user}", engine="tiny", width=64, height=64)
    return Job(spec=spec, requester=Requester(user_id=user), message=MessageRef(channel_id="1", message_id="2"))


def test_busy_until_every_interaction_is_answered_or_past_discords_deadline() -> None:
    now = [100.0]
    priority = AckPriority(clock=lambda: now[0])
    assert not priority.busy()
    first, second, abandoned = Interaction(), Interaction(), Interaction()
    for interaction in (first, second, abandoned):
        priority.arrived(interaction)
    now[0] += 0.5
    first.response.answered = True
    assert priority.busy()  # two still wait for their answers
    second.response.answered = True
    assert priority.busy()  # a handler that never answered...
    now[0] += INTERACTION_ACK_S
    assert not priority.busy()  # ...holds nothing once Discord has given up on it


def test_answered_interactions_are_let_go_even_when_no_submit_asks() -> None:
    priority = AckPriority()
    for _ in range(10_000):  # /settings clicks, /info: answered, and no job made
        interaction = Interaction()
        priority.arrived(interaction)
        interaction.response.answered = True
    assert len(priority._unanswered) < 200


def test_one_unanswered_interaction_holds_the_answered_ones_only_until_discords_deadline() -> None:
    now = [100.0]
    priority = AckPriority(clock=lambda: now[0])
    priority.arrived(Interaction())  # its handler failed without answering
    for _ in range(1_000):
        interaction = Interaction()
        priority.arrived(interaction)
        interaction.response.answered = True
    now[0] += 0.01
    assert priority.busy()
    now[0] += INTERACTION_ACK_S
    assert not priority.busy() and len(priority._unanswered) == 0


async def test_a_submit_waits_for_the_answers_then_goes(redis_url, redis_client) -> None:
    priority = AckPriority()
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url, busy=priority.busy)
    try:
        waiting = Interaction()
        priority.arrived(waiting)
        job = a_job("alice")
        submit = asyncio.create_task(backend.submit(job))
        await asyncio.sleep(0.1)
        # Another user's interaction is unanswered: the job is not in Redis yet.
        assert not redis_client.exists(keys.job_key(job.id)) and not submit.done()
        waiting.response.answered = True
        submitted = await asyncio.wait_for(submit, SUBMIT_MAX_DELAY_S)
        assert submitted.status is JobStatus.queued and redis_client.exists(keys.job_key(job.id))
    finally:
        backend.close()


async def test_an_interaction_left_unanswered_delays_a_submit_at_most_the_cap(redis_url, redis_client) -> None:
    priority = AckPriority()
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url, busy=priority.busy)
    try:
        priority.arrived(Interaction())  # never answered
        loop = asyncio.get_running_loop()
        started = loop.time()
        job = await asyncio.wait_for(backend.submit(a_job("bob")), SUBMIT_MAX_DELAY_S + 2.0)
        assert loop.time() - started >= SUBMIT_MAX_DELAY_S - 0.05
        assert redis_client.exists(keys.job_key(job.id))
    finally:
        backend.close()


async def test_work_after_an_answer_waits_for_the_others_answers_but_not_for_ever() -> None:
    priority = AckPriority()
    other = Interaction()
    priority.arrived(other)
    loop = asyncio.get_running_loop()

    async def answer_soon() -> None:
        await asyncio.sleep(0.05)
        other.response.answered = True

    started = loop.time()
    await asyncio.gather(priority.until_idle(), answer_soon())
    assert 0.04 <= loop.time() - started < 0.3  # went as soon as the other was answered
    priority.arrived(Interaction())  # one that is never answered
    started = loop.time()
    await priority.until_idle(max_wait_s=0.1)
    assert 0.09 <= loop.time() - started < 0.5


async def test_many_deferred_steps_share_one_watcher_and_all_go_when_the_others_are_answered() -> None:
    class Counting(AckPriority):
        checks = 0

        def busy(self) -> bool:
            Counting.checks += 1
            return super().busy()

    priority = Counting()
    other = Interaction()
    priority.arrived(other)
    waiters = [asyncio.create_task(priority.until_idle()) for _ in range(100)]
    await asyncio.sleep(0.1)
    assert not any(waiter.done() for waiter in waiters)
    other.response.answered = True
    await asyncio.wait_for(asyncio.gather(*waiters), 0.2)
    # Each waiter looks once; then one watcher polls (~35 looks in 0.1 s), not a hundred of them.
    assert Counting.checks < 300
