"""worker/progress.py in a worker: progress leaves from its own thread, newest first, last before the result."""

from __future__ import annotations

import threading

from PIL import Image

from worker.progress import ProgressReporter


def test_a_step_never_waits_for_redis_and_the_last_progress_is_sent_before_the_block_ends() -> None:
    sending, redis_is_slow = threading.Event(), threading.Event()
    published: list[int] = []
    previews: list[bytes] = []

    def publish(event) -> None:
        sending.set()
        redis_is_slow.wait(5)  # a publish hangs until the steps below have all been called
        published.append(event.step)

    with ProgressReporter("job", publish=publish, put_preview=lambda data: previews.append(data) or "ref",
                          interval_s=0.0, background=True) as progress:
        progress(1, 10, Image.new("RGB", (32, 32)))
        assert sending.wait(5)
        for step in range(2, 10):
            progress(step, 10, Image.new("RGB", (32, 32), (step, 0, 0)))  # returns at once
        assert published == []
        redis_is_slow.set()
    # Steps 2-8 were overtaken while step 1 was being sent; step 9, the newest, went out before the
    # block ended: a job's progress never arrives after its result.
    assert published == [1, 9] and len(previews) == 2


def test_a_sender_that_fails_keeps_sending_later_progress() -> None:
    attempted: list[int] = []
    published: list[int] = []
    step_1_failed = threading.Event()

    def publish(event) -> None:
        attempted.append(event.step)
        if event.step == 1:
            step_1_failed.set()
            raise RuntimeError("a bug in one event")
        published.append(event.step)

    with ProgressReporter("job", publish=publish, put_preview=lambda data: "ref", interval_s=0.0,
                          background=True) as progress:
        progress(1, 3, None)
        # Step 2 only once step 1 has really failed in the sender thread: otherwise step 2 would
        # replace step 1 in the mailbox and the failure would never happen.
        assert step_1_failed.wait(5)
        progress(2, 3, None)
    assert attempted == [1, 2] and published == [2]
