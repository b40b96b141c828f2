"""The per-user caps hold across bot processes: two real processes admitting the same user's jobs at the
same moment, against one real Redis, never admit more than the cap between them (bot/holds.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import redis

from midway import keys
from midway.settings import PROJECT_ROOT
from tests.bot import caps_racer

ROUNDS = 15


def race(redis_url: str, requests: int, *extra: str) -> list[list[str]]:
    """Run two racer processes for ROUNDS rounds; each round's admitted job ids (both processes')."""
    client = redis.Redis.from_url(redis_url)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    names = ("bot-a", "bot-b")
    racers = [subprocess.Popen([sys.executable, "-m", "tests.bot.caps_racer", redis_url, name, str(ROUNDS),
                                str(requests), *extra], cwd=PROJECT_ROOT, env=env) for name in names]
    try:
        for _ in names:
            assert client.blpop([caps_racer.READY], 60) is not None, "a racer did not start"
        admitted = []
        for round_number in range(ROUNDS):
            with client.pipeline() as pipe:  # both released by one command
                for name in names:
                    pipe.rpush(caps_racer.go_key(round_number, name), 1)
                pipe.execute()
            ids: list[str] = []
            for _ in names:
                reply = client.blpop([caps_racer.done_key(round_number)], 30)
                assert reply is not None, f"round {round_number}: a racer did not answer"
                ids += json.loads(reply[1])
            admitted.append(ids)
        for racer in racers:
            assert racer.wait(30) == 0
        return admitted
    finally:
        for racer in racers:
            racer.kill()
        client.close()


@pytest.mark.parametrize(("draft", "expected"), [(False, 4), (True, 8)])
def test_two_processes_racing_admit_exactly_the_cap(redis_url: str, draft: bool, expected: int) -> None:
    # Cap 1 running + 3 queued = 4 jobs; each process asks for 6 at once, so 12 race for 4 places. A
    # draft of `tiny` (4 of its 8 steps) costs half a job: 8 drafts fit.
    cap = caps_racer.MAX_RUNNING + caps_racer.MAX_QUEUED
    assert cap == 4
    admitted = race(redis_url, 6, *(["--draft"] if draft else []))
    client = redis.Redis.from_url(redis_url)
    for round_number, ids in enumerate(admitted):
        user = caps_racer.round_user(round_number)
        assert len(ids) == expected, f"round {round_number}: {len(ids)} admitted"
        # Every admitted job is listed for its user, and its hold went with its submit.
        assert {member.decode() for member in client.smembers(keys.user_jobs_key(user))} == set(ids)
        assert client.hlen(keys.user_holds_key(user)) == 0
    client.close()
