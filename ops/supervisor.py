"""Run and stop a set of child processes as one service (`midway up`).

Each child runs in its own session so a terminal Ctrl-C reaches only us; we then stop the children in
reverse start order (SIGTERM, then SIGKILL after a grace period), so nothing is left behind.

A child marked `restart` is started again when it exits: a worker exits on purpose when a job hangs in
native code or every job fails (worker/rq_worker.py), and its jobs are retried by the next one. A
child that keeps exiting (max_restarts within restart_window_s) is given up on like any other.

If we are killed outright (SIGKILL), the children get SIGTERM from the kernel (Linux: PR_SET_PDEATHSIG),
and a `pid_file` records them so the next run can stop any that are still there (`stop_stale`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel send the child SIGTERM when this process dies (Linux only;
    None elsewhere or when prctl cannot be found). The kernel sends it when the *thread* that forked the
    child ends, so off the main thread (a short-lived helper thread) this returns None too."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    signum = int(signal.SIGTERM)

    def preexec() -> None:  # runs in the child between fork and exec: no imports, no allocation-heavy work
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signum)

    return preexec


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").rstrip("\0").split("\0")


class PidFile:
    """Our children's pids, start times and a word their command line contains, as JSON in `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict] = {}

    def record(self, name: str, process: subprocess.Popen, marker: str) -> None:
        self.entries[name] = {"pid": process.pid, "start": _start_time(process.pid), "marker": marker}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries))
        temporary.replace(self.path)

    def clear(self) -> None:
        self.entries = {}
        self.path.unlink(missing_ok=True)


def _still_ours(entry: dict) -> bool:
    """Whether the recorded process still runs: same pid, same start time, command line with our marker.
    A pid reused by an unrelated process fails the start time or the marker, and is never signalled."""
    pid, start, marker = entry.get("pid"), entry.get("start"), entry.get("marker")
    if not isinstance(pid, int) or pid <= 1 or pid == os.getpid() or not start or not marker:
        return False
    if _start_time(pid) != start:
        return False
    return any(marker in part for part in _cmdline(pid))


def stop_stale(path: Path, grace_s: float = 10.0) -> list[str]:
    """Stop the children a previous, dead run recorded in `path` (SIGTERM, then SIGKILL), and remove
    the file. Only processes that are verifiably those children are signalled. Returns their names."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(entries, dict):
        entries = {}
    stale = {name: entry for name, entry in entries.items() if isinstance(entry, dict) and _still_ours(entry)}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for entry in stale.values():
            if _still_ours(entry):
                pid = entry["pid"]
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    # Each child leads its own session: its group takes its helpers along.
                    if os.getpgid(pid) == pid:
                        os.killpg(pid, sig)
                    else:
                        os.kill(pid, sig)
        deadline = time.monotonic() + (grace_s if sig == signal.SIGTERM else 5.0)
        while any(_still_ours(entry) for entry in stale.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
    path.unlink(missing_ok=True)
    return sorted(stale)


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    restart: bool = False
    # Monotonic times of its recent restarts (Supervisor's crash-loop limit).
    restarted_at: list[float] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _pump(name: str, stream: IO[bytes], out: TextIO) -> None:
    # Prefix every line with the child's name so interleaved logs stay readable.
    for raw in iter(stream.readline, b""):
        out.write(f"[{name}] {raw.decode(errors='replace')}")
        out.flush()
    stream.close()


class Supervisor:
    def __init__(self, out: TextIO | None = None, *, max_restarts: int = 5, restart_window_s: float = 600.0,
                 pid_file: PidFile | None = None) -> None:
        self.children: list[Child] = []
        self.out = out or sys.stdout
        self.max_restarts = max_restarts
        self.restart_window_s = restart_window_s
        self.pid_file = pid_file

    def start(self, child: Child) -> Child:
        self._spawn(child)
        self.children.append(child)
        return child

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, **child.env}
        child.process = subprocess.Popen(child.command, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=die_with_parent())
        if self.pid_file is not None:
            marker = "midway" if "midway" in child.command else os.path.basename(child.command[0])
            self.pid_file.record(child.name, child.process, marker)
        threading.Thread(target=_pump, args=(child.name, child.process.stdout, self.out), daemon=True).start()

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if not child.alive), None)

    def wait_for_exit(self, *, poll_s: float = 0.5, on_restart: Callable[[Child], object] | None = None) -> Child:
        """Block until a child exits for good, starting each `restart` child again when it exits
        (`on_restart` hears of it first) until it has restarted max_restarts times within the window."""
        while True:
            for child in self.children:
                if child.alive:
                    continue
                if not self._may_restart(child):
                    return child
                if on_restart is not None:
                    on_restart(child)
                self._spawn(child)
            time.sleep(poll_s)

    def _may_restart(self, child: Child) -> bool:
        if not child.restart:
            return False
        now = time.monotonic()
        child.restarted_at = [at for at in child.restarted_at if now - at < self.restart_window_s]
        if len(child.restarted_at) >= self.max_restarts:
            return False
        child.restarted_at.append(now)
        return True

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


def stop_process(process: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM (a worker finishes its current job first), then SIGKILL after `grace_s`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_serving(redis_url: str, engines: Sequence[str], process: subprocess.Popen,
                       timeout_s: float = 240.0) -> None:
    """Block until live workers serve every engine in `engines` (their heartbeats say so).

    Raises RuntimeError when `process` exits first or the time runs out (a first start builds models)."""

    from midway.jobs import JobStore
    from midway.redis_clients import sync_redis

    client = sync_redis(redis_url)
    deadline = time.monotonic() + timeout_s
    try:
        store = JobStore(client)
        while not set(engines) <= set(store.positions.live_engines()):
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with code {process.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker was not serving {', '.join(engines)} after {timeout_s:.0f} s")
            time.sleep(0.05)
    finally:
        client.close()


@contextlib.contextmanager
def worker_subprocess(redis_url: str, engines: Sequence[str], env: Mapping[str, str], *,
                      args: Sequence[str] = (), stdout: int | IO[Any] | None = None, timeout_s: float = 240.0,
                      cwd: str | os.PathLike | None = None) -> Iterator[subprocess.Popen]:
    """`midway worker --engines ...` in a subprocess, yielded once it serves them, stopped afterwards
    (tests and benchmarks; `midway up` runs its worker through Supervisor instead)."""
    command = [sys.executable, "-m", "cli", "worker", "--engines", ",".join(engines), *args]
    process = subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=stdout,
                               stderr=subprocess.STDOUT if stdout is not None else None)
    try:
        wait_until_serving(redis_url, engines, process, timeout_s)
        yield process
    finally:
        stop_process(process)
