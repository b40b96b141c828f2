"""bot/executor.py: the bot's Redis threads exist before the first burst needs them."""

from __future__ import annotations

import threading
import time

from bot.executor import prestarted_executor


def threads_named(prefix: str) -> int:
    return sum(1 for thread in threading.enumerate() if thread.name.startswith(prefix))


def test_every_thread_runs_before_the_first_task_and_no_more_start_later() -> None:
    executor = prestarted_executor(8, "prestart-test")
    try:
        deadline = time.monotonic() + 5
        while threads_named("prestart-test") < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threads_named("prestart-test") == 8
        assert sum(future.result(timeout=5) for future in [executor.submit(lambda i=i: i) for i in range(50)]) == 1225
        assert threads_named("prestart-test") == 8
    finally:
        executor.shutdown()
