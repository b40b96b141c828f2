"""The bot's thread pool for blocking Redis calls, with its threads started up front.

ThreadPoolExecutor starts a thread only when a task finds none idle, and starting one holds the
event loop for about a millisecond (several under load). The first burst after start-up needed ~25
new threads at once, all started from the loop that was still answering the burst's interactions
(a profile of 108 presses at once: 86 ms inside Thread.start). Started here, they cost that once,
before the bot is ready.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

# Long enough for every thread to start on a busy machine; a thread that waits longer goes idle anyway.
START_TIMEOUT_S = 10.0


def prestarted_executor(workers: int, thread_name_prefix: str) -> ThreadPoolExecutor:
    """A ThreadPoolExecutor whose `workers` threads are already running (and idle once started)."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_name_prefix)
    # Each task blocks until all have started, so none is idle when the next is submitted: every
    # submit starts a thread of its own.
    everyone = threading.Barrier(workers, timeout=START_TIMEOUT_S)

    def wait_for_the_others() -> None:
        try:
            everyone.wait()
        except threading.BrokenBarrierError:
            pass

    for _ in range(workers):
        executor.submit(wait_for_the_others)
    return executor
