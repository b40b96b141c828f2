"""A core of its own for the engine, while the overhead part measures it.

In production the bot and Redis run apart from the GPU that computes. On a 2-core benchmark machine,
the bot, the emulator and Redis, woken by the job's events, would otherwise preempt the CPU worker's
one engine thread now and then (measured: 6-21 involuntary context switches in a 1.6 s job), and
their time would be charged to the engine, not to the service's own phases. Pinning puts the worker
on the last core and everything else on the others; the engine alone is timed on that same core.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator


def thread_ids(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def set_affinity(pids: Iterable[int], cores: set[int]) -> None:
    """Every thread of each process onto `cores` (Linux sets affinity per thread)."""
    for pid in pids:
        for tid in thread_ids(pid):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                os.sched_setaffinity(tid, cores)


class EnginePinning:
    """`with EnginePinning(worker_pid, [redis_pid]) as pinning:` ... `with pinning.on_engine_core():`."""

    def __init__(self, engine_pid: int, other_pids: Iterable[int]) -> None:
        self.engine_pid = engine_pid
        self.other_pids = [os.getpid(), *other_pids]
        self.all_cores = set(os.sched_getaffinity(0))
        ordered = sorted(self.all_cores)
        # One core cannot be split; then nothing is pinned and the note says so.
        self.engine_core = {ordered[-1]} if len(ordered) >= 2 else None
        self.other_cores = set(ordered[:-1]) if len(ordered) >= 2 else None

    @property
    def active(self) -> bool:
        return self.engine_core is not None

    def describe(self) -> str:
        if not self.active:
            return "one core only: the engine shared it with the bot, the emulator and Redis"
        others = ",".join(str(core) for core in sorted(self.other_cores))
        return (f"the worker ran on CPU {min(self.engine_core)} alone and the bot, emulator and Redis on CPU "
                f"{others}, as the bot and a GPU would be apart in production; the engine alone ran on "
                f"CPU {min(self.engine_core)} too")

    def __enter__(self) -> EnginePinning:
        if self.active:
            set_affinity([self.engine_pid], self.engine_core)
            set_affinity(self.other_pids, self.other_cores)
        return self

    def __exit__(self, *exc) -> None:
        set_affinity([self.engine_pid, *self.other_pids], self.all_cores)

    @contextlib.contextmanager
    def on_engine_core(self) -> Iterator[None]:
        """The calling thread on the engine's core for the block (the in-process engine-alone runs)."""
        if not self.active:
            yield
            return
        os.sched_setaffinity(0, self.engine_core)
        try:
            yield
        finally:
            os.sched_setaffinity(0, self.other_cores)
