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
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence

import redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker, WorkerStatus

from midway import keys
from midway.contract import Lane
from midway.jobs import WorkerHeartbeat
from worker.slots import Slots, capped_queue_class

log = logging.getLogger(__name__)


def queue_names(engines: Sequence[str], lanes: Sequence[Lane]) -> list[str]:
    """Dequeue order: by lane first (turbo, fast, relax), then engines in the order given."""
    return [keys.queue_name(engine, lane) for lane in keys.LANE_ORDER if lane in lanes for engine in engines]


class MidwayWorker(SimpleWorker):
    def __init__(self, client: redis.Redis, *, name: str, engines: Sequence[str], lanes: Sequence[Lane],
                 heartbeat_s: float, on_maintenance: Callable[[], object] | None = None,
                 running_cap: int = 0, slot_ttl_s: int = 3600) -> None:
        self.heartbeat_s = heartbeat_s
        self.on_maintenance = on_maintenance
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

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        super().heartbeat(timeout, pipeline=pipeline)
        self.publish_heartbeat(pipeline)

    def publish_heartbeat(self, pipeline=None) -> None:
        """Our own heartbeat (engines and lanes), which the bot reads to know which engines are live."""
        self.beat.at = time.time()
        target = pipeline if pipeline is not None else self.connection
        target.set(keys.worker_heartbeat_key(self.name), self.beat.model_dump_json(), ex=self.ttl_s)
        target.sadd(keys.WORKERS_SET, self.name)

    def run_maintenance_tasks(self) -> None:
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
        super().register_death()
        self.connection.delete(keys.worker_heartbeat_key(self.name))
        self.connection.srem(keys.WORKERS_SET, self.name)

    def execute_job(self, job: RQJob, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        self.beat.job_id = job.id
        stop = threading.Event()
        beating = threading.Thread(target=self._beat_while_running, args=(job, execution, stop),
                                   name=f"heartbeat-{job.id}", daemon=True)
        beating.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beating.join()
            self.beat.job_id = None
        self.set_state(WorkerStatus.IDLE)

    def _beat_while_running(self, job: RQJob, execution, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError:
                log.warning("heartbeat failed; retrying in %.1f s", self.heartbeat_s, exc_info=True)


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
