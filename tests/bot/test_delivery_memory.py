"""A long-running bot's per-job state stays bounded: jobs that leave the delivery's job cache (it forgets
everything past 5000) must not stay in its queue-position poll for ever."""

from __future__ import annotations

from bot.backend import Backend
from bot.delivery import Delivery
from midway import keys
from midway.contract import GenerationSpec, Job, JobStatus, Requester
from midway.settings import Settings


def a_job(user: str = "u") -> Job:
    spec = GenerationSpec(prompt="a kite", engine="tiny", width=64, height=64)
    return Job(spec=spec, requester=Requester(user_id=user))


async def test_a_waiting_job_evicted_from_the_cache_leaves_the_poll_once_it_finishes(redis_url, redis_client):
    backend = Backend(Settings(redis_url=redis_url), redis_url)
    delivery = Delivery(client=None, backend=backend, store=None, consumer_name="bot-test")
    try:
        waiting = a_job()
        backend.jobs.save(waiting)
        delivery.track(waiting)
        delivery.submitted(waiting.id)
        # Many other jobs pass through the bot meanwhile, so the cache forgets the waiting one.
        others = [a_job(f"o{i}") for i in range(5001)]
        with redis_client.pipeline(transaction=False) as pipe:
            for other in others:
                pipe.set(keys.job_key(other.id), other.model_dump_json())
            pipe.execute()
        for other in others:
            await delivery.jobs.get(other.id)
        # It runs and finishes on a worker; the bot's poll must notice and stop polling it.
        backend.jobs.finish(waiting.id, JobStatus.done)
        await delivery.refresh_positions()
        assert waiting.id not in delivery.progress.waiting
    finally:
        backend.close()
