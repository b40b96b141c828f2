"""Draft's cost in the caps, through the emulator: a draft counts as draft_steps / steps of a job, so a
user whose queue is full of full jobs can still queue drafts, up to the same total."""

from __future__ import annotations

import os
import signal

import pytest

from playground.driver import Playground
from tests.bot.helpers import jobs_of_user

pytestmark = pytest.mark.slow


async def test_drafts_fill_the_caps_at_their_cost(pg: Playground, worker, bots, settings) -> None:
    # 2 jobs in all; the tests' `tiny` drafts 5 of its 20 steps, so a draft counts as a quarter.
    settings.max_running_per_user, settings.max_queued_per_user = 1, 1
    await bots.start()
    alice = pg.user("alice").id
    os.kill(worker.pid, signal.SIGSTOP)  # every job stays unfinished meanwhile
    try:
        async def imagine(prompt: str) -> str:
            reply = await (await pg.slash("imagine", user="alice", channel="general",
                                          options={"prompt": prompt})).response()
            return reply.content

        answers = [await imagine(f"a paper kite {number} --draft") for number in range(8)]
        assert all(answer.endswith("(Waiting to start)") for answer in answers), answers
        full_draft, full_job = await imagine("one more kite --draft"), await imagine("a full kite")
        assert full_draft.startswith("**Queue full**") and full_job.startswith("**Queue full**")
        assert "You have 8 unfinished jobs" in full_job and "counting as 2" in full_job
        jobs = await pg.wait_until(lambda: (found := jobs_of_user(settings.redis_url, alice)) and len(found) == 8
                                   and found or None)
        assert {job.cost for job in jobs} == {0.25}
    finally:
        os.kill(worker.pid, signal.SIGCONT)
