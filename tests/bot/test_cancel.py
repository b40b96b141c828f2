"""Cancelling: the Cancel button while a job runs, and /cancel (latest job, or one picked by autocomplete)."""

from __future__ import annotations

import asyncio
import re

import pytest

from midway.contract import JobStatus
from playground.driver import Playground
from tests.bot.helpers import button, job_of, results_replying_to, stored_job

pytestmark = pytest.mark.slow


async def use_engine(pg: Playground, engine: str, channel: str = "art") -> None:
    await (await pg.slash("engine set", user="admin", channel=channel, options={"engine": engine})).response()


async def imagine(pg: Playground, prompt: str, user: str = "alice", channel: str = "art"):
    return await (await pg.slash("imagine", user=user, channel=channel, options={"prompt": prompt})).response()


async def test_cancel_button_stops_a_running_job(pg: Playground, worker, midway, settings) -> None:
    alice = pg.user("alice").id
    await use_engine(pg, "tinyslow")
    ack = await imagine(pg, "a long road")
    running = await pg.wait_for_message("art", lambda m: m.id == ack.id and re.search(r"\(\d+%\)", m.content),
                                        timeout=30)
    job_id = job_of(running)
    reply = await (await pg.click(ack.id, button(running, "Cancel"), user="alice")).response()
    assert reply.ephemeral_for == alice and "Stopping" in reply.content
    stopped = await pg.wait_for_message("art", lambda m: m.id == ack.id and m.content.endswith("(Stopped)"),
                                        timeout=15)
    assert stopped.content == f"**a long road** - <@{alice}> (Stopped)"
    assert stopped.buttons == [] and stopped.attachments == []
    job = stored_job(settings.redis_url, job_id)
    assert job.status is JobStatus.cancelled and job.started_at is not None
    # It stopped mid-way (250 steps take seconds), and no result was posted.
    assert job.finished_at - job.started_at < 5
    await asyncio.sleep(0.5)
    assert results_replying_to(pg, ack, channel="art") == []


async def test_slash_cancel_by_autocomplete_then_latest(pg: Playground, midway, settings) -> None:
    # No worker serves tiny3: the jobs stay queued until cancelled.
    await use_engine(pg, "tiny3")
    first, second = await imagine(pg, "a first kite"), await imagine(pg, "a second kite")
    first_id, second_id = job_of(first), job_of(second)
    # The bot answers first (Discord's 3 s), then stores and enqueues the job.
    await pg.wait_until(lambda: True if stored_job(settings.redis_url, second_id) else None)
    choices = await pg.autocomplete("cancel", "job_id", "", user="alice", channel="art")
    assert [c["name"] for c in choices] == ["a second kite (queued)", "a first kite (queued)"]
    assert [c["value"] for c in choices] == [second_id, first_id]
    assert await pg.autocomplete("cancel", "job_id", "first", user="alice", channel="art") == choices[1:]

    pg.add_user("bob")
    assert await pg.autocomplete("cancel", "job_id", "", user="bob", channel="art") == []
    refused = await (await pg.slash("cancel", user="bob", channel="art", options={"job_id": first_id})).response()
    assert "Nothing to cancel" in refused.content

    reply = await (await pg.slash("cancel", user="alice", channel="art", options={"job_id": first_id})).response()
    assert reply.ephemeral_for == pg.user("alice").id and "Cancelled **a first kite**" in reply.content
    await pg.wait_for_message("art", lambda m: m.id == first.id and m.content.endswith("(Stopped)"))
    assert stored_job(settings.redis_url, second_id).status is JobStatus.queued

    latest = await (await pg.slash("cancel", user="alice", channel="art")).response()
    assert "Cancelled **a second kite**" in latest.content
    await pg.wait_for_message("art", lambda m: m.id == second.id and m.content.endswith("(Stopped)"))
    nothing = await (await pg.slash("cancel", user="alice", channel="art")).response()
    assert "You have no queued or running jobs" in nothing.content
