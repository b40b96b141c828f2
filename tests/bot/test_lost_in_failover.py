"""A waiting job that a Redis failover lost (record and queue entry gone: the promoted replica never had
them) is failed visibly on its message, not left "(Waiting to start)" for ever (bot/progress.py)."""

from __future__ import annotations

import pytest
import redis

from midway import keys
from midway.positions import rq_queue
from playground.driver import Playground
from tests.bot.helpers import job_of, wait_for_stored_job

pytestmark = pytest.mark.slow


async def test_a_waiting_job_lost_in_a_failover_is_failed_on_its_message(pg: Playground, worker, bots,
                                                                        settings) -> None:
    # No worker serves tiny3: the job waits in its queue (as behind a long one) while a worker runs.
    settings.default_engine = "tiny3"
    await bots.start()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        ack = await (await pg.slash("imagine", user="alice", channel="general",
                                    options={"prompt": "a lighthouse nobody kept"})).response()
        assert ack.content.endswith(")") and "Waiting to start" in ack.content
        job = await wait_for_stored_job(settings.redis_url, job_of(ack))
        # What the promoted replica lacks: the job's record, its RQ entry and its place in the queue.
        client.lrem(rq_queue(client, job.spec.engine or "tiny", job.lane).key, 0, job.id)
        client.delete(keys.job_key(job.id), f"rq:job:{job.id}")

        final = await pg.wait_for_message("general", lambda m: m.id == ack.id and "(Failed:" in m.content,
                                          timeout=10)
        assert "please submit it again" in final.content
        assert final.buttons == []  # no Cancel for a job that no longer exists
    finally:
        client.close()


async def test_a_job_that_leaves_its_queue_to_start_is_not_called_lost(pg: Playground, worker, midway,
                                                                       settings) -> None:
    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a lighthouse well kept"})).response()
    final = await pg.wait_for_message("general", lambda m: m.id == ack.id and m.content.endswith("(Done)"),
                                      timeout=60)
    assert "lost" not in final.content
