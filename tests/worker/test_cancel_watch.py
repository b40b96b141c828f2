"""worker/cancel_watch.py: a cancel is seen from a thread, so the step loop reads a flag, never Redis."""

from __future__ import annotations

import threading
import time

import redis

from worker.cancel_watch import CancelWatch


def test_a_cancel_request_raises_the_flag_within_a_poll_and_the_watch_stops_with_its_job() -> None:
    requested = threading.Event()
    asked = []

    def is_requested() -> bool:
        asked.append(threading.current_thread().name)
        return requested.is_set()

    with CancelWatch(is_requested, interval_s=0.01, name="watch-test") as cancelled:
        time.sleep(0.05)
        assert not cancelled()
        requested.set()
        deadline = time.monotonic() + 2
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert cancelled()
    # Redis was asked on the watch's own thread only, and nothing keeps asking after the job.
    assert set(asked) == {"watch-test"}
    count = len(asked)
    time.sleep(0.05)
    assert len(asked) == count and not any(t.name == "watch-test" for t in threading.enumerate())


def test_redis_errors_do_not_stop_the_watch() -> None:
    calls = {"n": 0}

    def flaky() -> bool:
        calls["n"] += 1
        if calls["n"] < 4:
            raise redis.ConnectionError("Connection reset by peer")
        return True

    with CancelWatch(flaky, interval_s=0.005) as cancelled:
        deadline = time.monotonic() + 2
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert cancelled() and calls["n"] == 4


def test_leaving_the_job_does_not_wait_for_the_next_poll() -> None:
    started = time.monotonic()
    with CancelWatch(lambda: False, interval_s=30):
        pass
    assert time.monotonic() - started < 1
