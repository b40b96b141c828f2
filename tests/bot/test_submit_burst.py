"""Under a burst of /imagine the bot acknowledges first and does its bookkeeping after: submits wait
for a quiet moment and go to Redis together (bot/backend.py), and a job's own `queued` event does not
edit the "(Waiting to start)" message it already has (bot/delivery.py)."""

from __future__ import annotations

import asyncio

from bot.backend import SUBMIT_MAX_DELAY_S, Backend
from bot.delivery import Delivery
from midway import keys
from midway.contract import Event, EventKind, GenerationSpec, Job, JobStatus, Lane, MessageRef, Requester
from midway.jobs import rq_queue
from midway.settings import Settings


def a_job(user: str) -> Job:
    spec = GenerationSpec(prompt=f"a kite for {user}", engine="tiny", width=64, height=64)
    return Job(spec=spec, requester=Requester(user_id=user), message=MessageRef(channel_id="1", message_id="2"))


async def test_concurrent_submits_are_queued_together_in_arrival_order(redis_url, redis_client):
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url)
    batches: list[int] = []
    submit_many = backend.jobs.submit_many

    def counting(jobs, **kwargs):
        batches.append(len(jobs))
        return submit_many(jobs, **kwargs)

    backend.jobs.submit_many = counting
    try:
        jobs = [a_job("alice") for _ in range(30)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        submitted = await asyncio.gather(*(backend.submit(job) for job in jobs))
        assert loop.time() - started < SUBMIT_MAX_DELAY_S + 1.0
        assert [job.status for job in submitted] == [JobStatus.queued] * 30
        # One user's jobs keep their order; a burst costs a batch, not a MULTI per job.
        queue = [value.decode() for value in redis_client.lrange(rq_queue(redis_client, "tiny", Lane.fast).key, 0, -1)]
        assert queue == [job.id for job in jobs]
        assert sum(batches) == 30 and len(batches) <= 2
        assert redis_client.scard(keys.user_jobs_key("alice")) == 30
    finally:
        backend.close()


async def test_a_failed_batch_fails_every_caller_and_queues_nothing(redis_url, redis_client):
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url)

    def redis_gone(jobs, **kwargs):
        raise ConnectionError("Redis went away")

    backend.jobs.submit_many = redis_gone
    try:
        results = await asyncio.gather(*(backend.submit(a_job(f"u{i}")) for i in range(5)), return_exceptions=True)
        assert all(isinstance(result, ConnectionError) for result in results)
        assert redis_client.llen(rq_queue(redis_client, "tiny", Lane.fast).key) == 0
    finally:
        backend.close()


async def test_its_own_queued_event_does_not_edit_a_waiting_message_but_a_requeue_does(redis_url):
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url)
    delivery = Delivery(client=None, backend=backend, store=None, consumer_name="bot-test")
    try:
        fresh, requeued = a_job("alice"), a_job("bob")
        for job in (fresh, requeued):
            backend.jobs.save(job)
        delivery.track(fresh)  # the bot just answered with "(Waiting to start)"
        await delivery.handle("1-0", Event(job_id=fresh.id, kind=EventKind.queued, position=3))
        assert delivery.idle
        # A job this bot is not tracking (its worker died, RQ re-queued it): its message shows progress,
        # so the queued event must put "(Waiting to start)" back.
        await delivery.handle("2-0", Event(job_id=requeued.id, kind=EventKind.queued, position=1))
        assert not delivery.idle
        assert "(Waiting to start) (#1 in queue)" in delivery.progress.pending[requeued.id].content
    finally:
        await delivery.stop()
        backend.close()


async def test_the_position_poll_leaves_a_job_alone_until_its_submit_returns(redis_url):
    backend = Backend(Settings(redis_url=redis_url, default_engine="tiny"), redis_url)
    delivery = Delivery(client=None, backend=backend, store=None, consumer_name="bot-test")
    try:
        job = a_job("alice")
        delivery.track(job)  # answered; its submit is still waiting for a lull in the burst
        await delivery.refresh_positions()
        assert job.id in delivery.progress.waiting  # not mistaken for a job that already left its queue
        await backend.submit(job)
        delivery.submitted(job.id)
        await delivery.refresh_positions()
        # No worker serves `tiny`: the message says so (an edit is queued), and the job stays polled.
        progress = delivery.progress
        assert job.id in progress.waiting and "no worker is serving" in progress.pending[job.id].content
    finally:
        await delivery.stop()
        backend.close()
