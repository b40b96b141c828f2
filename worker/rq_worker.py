"""MidwayWorker: RQ's non-forking SimpleWorker with short heartbeats, so a dead worker's job moves on.

Why not RQ's default Worker: it forks a process per job, so a multi-GB model would reload for
every job (and CUDA cannot be used after fork). SimpleWorker runs jobs in this process, where the
engines stay loaded.

Crash recovery is RQ's own: a running job sits in the queue's StartedJobRegistry with an expiry
that the worker keeps pushing forward. SimpleWorker runs the job on the main thread and so cannot
heartbeat meanwhile (RQ pads its TTL by the job timeout + 60 s instead); we heartbeat from a thread
every heartbeat_s with a TTL of a few heartbeats. When a worker is SIGKILLed the entry lapses within
seconds, and any other worker's maintenance pass (every couple of heartbeats) re-enqueues the job at
the head of its queue (RQ Retry); run_job counts attempts and fails the job past job.max_attempts.

Three ways a worker must not die or linger, each leaning on that recovery:
- A Redis outage (a restart) fails one step of RQ's work loop, which would quit on it: each step
  logs and goes on, RQ's dequeue waits for Redis with backoff, and a job caught mid-way is retried
  once its lease lapses.
- A job stuck where RQ's SIGALRM timeout cannot reach it (a native call that never returns, such as a
  wedged CUDA sync) would keep heartbeating forever: past its timeout plus hang_grace_s the heartbeat
  thread ends the process instead (exit code RESTART_EXIT_CODE), so the lease lapses.
- A job raising RestartWorker (worker/runtime.py: every job fails, as after a sticky CUDA error) is
  put back by RQ's retry, and the worker then leaves its work loop to be restarted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

import redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker, WorkerStatus

from midway import keys
from midway.contract import Lane
from midway.positions import WorkerHeartbeat
from worker.slots import Slots, capped_queue_class

log = logging.getLogger(__name__)

# EX_TEMPFAIL (sysexits.h): the worker exited on purpose and a supervisor should start it again
# (`midway up` restarts its worker; docker compose has `restart: unless-stopped`).
RESTART_EXIT_CODE = 75


class RestartWorker(Exception):
    """Raised by a job when the worker, not the job, is broken: RQ puts the job back, the worker exits."""


def queue_names(engines: Sequence[str], lanes: Sequence[Lane]) -> list[str]:
    """Dequeue order: by lane first (turbo, fast, relax), then engines in the order given."""
    return [keys.queue_name(engine, lane) for lane in keys.LANE_ORDER if lane in lanes for engine in engines]


class MidwayWorker(SimpleWorker):
    def __init__(self, client: redis.Redis, *, name: str, engines: Sequence[str], lanes: Sequence[Lane],
                 heartbeat_s: float, on_maintenance: Callable[[], object] | None = None,
                 running_cap: int = 0, slot_ttl_s: int = 3600, hang_grace_s: float | None = 60.0,
                 engine_stats: Callable[[], dict[str, object]] | None = None) -> None:
        self.heartbeat_s = heartbeat_s
        # WorkerHeartbeat fields describing the engines now (resident, load_s, job_s: worker/residency.py).
        self.engine_stats = engine_stats
        self.on_maintenance = on_maintenance
        # None: never end the process for a job stuck past its timeout.
        self.hang_grace_s = hang_grace_s
        # Why the worker left its work loop to be restarted (RestartWorker), if it did.
        self.restart_reason: str | None = None
        # A few heartbeats: one late beat (a GC pause, a slow Redis) must not look like a death.
        self.ttl_s = max(2, math.ceil(heartbeat_s * 3))
        self.beat = WorkerHeartbeat(name=name, engines=list(engines), lanes=list(lanes),
                                    host=socket.gethostname(), pid=os.getpid(), started_at=time.time())
        # running_cap > 0: take only jobs whose user has fewer than that many running (worker/slots.py).
        queue_class = capped_queue_class(Slots(client, running_cap, slot_ttl_s)) if running_cap > 0 else Queue
        queues = [queue_class(queue, connection=client, serializer=JSONSerializer)
                  for queue in queue_names(engines, lanes)]
        super().__init__(queues, name=name, connection=client, serializer=JSONSerializer,
                         worker_ttl=self.ttl_s, maintenance_interval=max(1, math.ceil(heartbeat_s * 2)),
                         log_job_description=False, queue_class=queue_class)

    # Short blocking dequeues, so heartbeats and the abandoned-job maintenance keep running while idle.
    @property
    def dequeue_timeout(self) -> int:
        return max(1, math.ceil(self.heartbeat_s))

    def get_heartbeat_ttl(self, job: RQJob, working_time: float = 0.0) -> int:
        return self.ttl_s

    @contextlib.contextmanager
    def _through_outage(self, step: str) -> Iterator[None]:
        """RQ's work loop quits on any exception, and under `midway up` one worker quitting stopped the
        whole stack: a Redis outage costs this step, not the worker (see the module docstring)."""
        try:
            yield
        except redis.RedisError as error:
            log.warning("worker %s: %s failed, Redis unavailable: %s", self.name, step, error)

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        if pipeline is not None:  # queued only; the caller's execute() meets any outage
            super().heartbeat(timeout, pipeline=pipeline)
            self.publish_heartbeat(pipeline)
            return
        with self._through_outage("heartbeat"):
            super().heartbeat(timeout)
            self.publish_heartbeat()

    def set_state(self, state: str, pipeline=None) -> None:
        if pipeline is not None:
            super().set_state(state, pipeline=pipeline)
            return
        with self._through_outage(f"recording state {state}"):
            super().set_state(state)

    def check_for_suspension(self, burst: bool) -> None:
        with self._through_outage("checking for `rq suspend`"):
            super().check_for_suspension(burst)

    def publish_heartbeat(self, pipeline=None) -> None:
        """Our own heartbeat (engines and lanes), which the bot reads to know which engines are live."""
        self.beat.at = time.time()
        if self.engine_stats is not None:
            # In place: the job thread sets beat.job_id on this same object.
            for field, value in self.engine_stats().items():
                setattr(self.beat, field, value)
        target = pipeline if pipeline is not None else self.connection
        target.set(keys.worker_heartbeat_key(self.name), self.beat.model_dump_json(), ex=self.ttl_s)
        target.sadd(keys.WORKERS_SET, self.name)

    def run_maintenance_tasks(self) -> None:
        with self._through_outage("maintenance"):
            super().run_maintenance_tasks()
        if self.on_maintenance is not None:
            try:
                self.on_maintenance()
            except StopRequested:
                raise  # SIGTERM arrived during maintenance: shut down, as RQ intends
            except Exception:
                log.warning("maintenance hook failed", exc_info=True)

    def register_birth(self) -> None:
        # A worker restarted under its old name after a SIGKILL: RQ would refuse the name until the
        # dead worker's hash expires. Our heartbeat says whether that worker is really gone.
        if not self.connection.exists(keys.worker_heartbeat_key(self.name)):
            self.connection.delete(self.key)
        super().register_birth()
        self.publish_heartbeat()

    def register_death(self) -> None:
        # Redis down as the worker stops: its records expire on their own within a few heartbeats.
        with self._through_outage("recording this worker's exit"):
            super().register_death()
            self.connection.delete(keys.worker_heartbeat_key(self.name))
            self.connection.srem(keys.WORKERS_SET, self.name)

    def subscribe(self) -> None:
        # RQ's command listener polls with a 60 s wait, and stopping it joins that wait: a worker leaving
        # right after it subscribed (a burst with one quick job) hung for a minute on its way out.
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        pubsub = self.pubsub = self.connection.pubsub()
        pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ types the attribute as None (it is only ever set here and in its own subscribe).
        self.pubsub_thread = pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=1.0, daemon=True, exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self) -> None:
        with self._through_outage("unsubscribing from worker commands"):
            super().unsubscribe()

    def handle_exception(self, job: RQJob, *exc_info) -> None:
        if isinstance(exc_info[1], RestartWorker):
            # RQ retries the job next (at the head of its queue); the work loop then stops, as after
            # a SIGTERM (RQ's own flag), and `midway worker` exits with RESTART_EXIT_CODE.
            self.restart_reason = str(exc_info[1])
            self._stop_requested = True
            log.error("worker %s: %s; exiting to be restarted", self.name, self.restart_reason)
        super().handle_exception(job, *exc_info)

    def execute_job(self, job: RQJob, queue: Queue) -> None:
        self.beat.job_id = job.id
        stop = threading.Event()
        beating: threading.Thread | None = None
        # Past this the job is stuck where RQ's timeout cannot reach it (RQ: -1 means no timeout).
        timeout = job.timeout or self.queue_class.DEFAULT_TIMEOUT
        deadline = (None if self.hang_grace_s is None or timeout == -1
                    else time.monotonic() + timeout + self.hang_grace_s)
        try:
            # A job whose outcome RQ could not record for an outage stays in its StartedJobRegistry
            # without heartbeats: its lease lapses and a maintenance pass retries it.
            with self._through_outage(f"job {job.id}"):
                execution = self.prepare_execution(job)
                beating = threading.Thread(target=self._beat_while_running, args=(job, execution, stop, deadline),
                                           name=f"heartbeat-{job.id}", daemon=True)
                beating.start()
                self.perform_job(job, queue, execution)
        finally:
            stop.set()
            if beating is not None:
                beating.join()
            self.beat.job_id = None
        self.set_state(WorkerStatus.IDLE)

    def _beat_while_running(self, job: RQJob, execution, stop: threading.Event, deadline: float | None) -> None:
        while not stop.wait(self.heartbeat_s):
            if deadline is not None and time.monotonic() >= deadline:
                self._exit_for_hung_job(job)
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError:
                log.warning("heartbeat failed; retrying in %.1f s", self.heartbeat_s, exc_info=True)

    def _exit_for_hung_job(self, job: RQJob) -> NoReturn:
        """Only ending the process frees a thread stuck in a native call (and the GPU state behind it).
        No heartbeat follows, so the job's lease lapses and another worker retries it (RQ Retry, then
        run_job's attempt count), as if this worker had been killed."""
        log.critical("worker %s: job %s is still running %g s past its %s s timeout, stuck where the "
                     "timeout cannot interrupt it (a native call?); exiting so that it is retried elsewhere",
                     self.name, job.id, self.hang_grace_s, job.timeout)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(RESTART_EXIT_CODE)


def serve(worker: MidwayWorker, *, burst: bool = False, max_jobs: int | None = None,
          max_idle_s: int | None = None, logging_level: str | None = None) -> bool:
    """Run the work loop on this (main) thread. SIGTERM/SIGINT finish the current job, then return.

    The previous signal handlers come back afterwards, so tests can run a worker in-process."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return worker.work(burst=burst, max_jobs=max_jobs, max_idle_time=max_idle_s, logging_level=logging_level)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
