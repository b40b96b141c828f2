"""Run and stop a set of child processes as one service (`midway up`).

Each child runs in its own session so a terminal Ctrl-C reaches only us; we then stop the children in
reverse start order (SIGTERM, then SIGKILL after a grace period), so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _pump(name: str, stream, out) -> None:
    # Prefix every line with the child's name so interleaved logs stay readable.
    for raw in iter(stream.readline, b""):
        out.write(f"[{name}] {raw.decode(errors='replace')}")
        out.flush()
    stream.close()


class Supervisor:
    def __init__(self, out=None) -> None:
        self.children: list[Child] = []
        self.out = out or sys.stdout

    def start(self, child: Child) -> Child:
        env = {**os.environ, **child.env}
        child.process = subprocess.Popen(child.command, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=_pump, args=(child.name, child.process.stdout, self.out), daemon=True).start()
        self.children.append(child)
        return child

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if not child.alive), None)

    def stop_all(self, grace_s: float = 10.0) -> None:
        for child in reversed(self.children):
            self._stop(child, grace_s)

    @staticmethod
    def _stop(child: Child, grace_s: float) -> None:
        process = child.process
        if process is None or process.poll() is not None:
            return
        # Signal the whole process group: a child's own helpers (e.g. redis started by it) go too.
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
