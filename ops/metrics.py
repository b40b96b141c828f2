"""Prometheus metrics for the bot and workers (one definition each; both processes import this).

Latency is split into wait (queued -> started) and run (started -> finished) because they have
different causes and fixes: wait means too few workers, run means a slow engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from midway.contract import Job, JobStatus
from midway.keys import LANE_ORDER, PREFIX

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)

JOB_WAIT_SECONDS = Histogram("midway_job_wait_seconds", "Time from enqueue to a worker starting the job",
                             ["engine", "lane"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
JOB_RUN_SECONDS = Histogram("midway_job_run_seconds", "Time from start to the result",
                            ["engine", "lane"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
JOB_GPU_SECONDS = Counter("midway_job_gpu_seconds_total", "Accelerator seconds spent inside engines",
                          ["engine"], registry=REGISTRY)
JOBS_FINISHED = Counter("midway_jobs_finished_total", "Jobs that reached a final status",
                        ["engine", "status"], registry=REGISTRY)
JOB_FAILURES = Counter("midway_job_failures_total", "Failed jobs by reason", ["engine", "reason"],
                       registry=REGISTRY)
DISCORD_429 = Counter("midway_discord_rate_limited_total", "HTTP 429 answers from Discord",
                      ["scope"], registry=REGISTRY)
INTERACTION_ACK_SECONDS = Histogram("midway_interaction_ack_seconds", "Interaction received -> acknowledged",
                                    ["command"], registry=REGISTRY,
                                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5))


def observe_finished_job(job: Job, *, reason: str | None = None) -> None:
    """Record one job's final status and its wait/run split."""
    engine, lane = job.spec.engine or "unknown", job.lane.value
    JOBS_FINISHED.labels(engine, job.status.value).inc()
    if job.started_at is not None:
        JOB_WAIT_SECONDS.labels(engine, lane).observe(max(0.0, job.started_at - job.created_at))
        if job.finished_at is not None:
            JOB_RUN_SECONDS.labels(engine, lane).observe(max(0.0, job.finished_at - job.started_at))
    if job.compute_s:
        JOB_GPU_SECONDS.labels(engine).inc(job.compute_s)
    if job.status is JobStatus.failed:
        JOB_FAILURES.labels(engine, reason or "error").inc()


class QueueDepthCollector:
    """Reads the RQ queue lengths at scrape time, so the number is never stale."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("midway_queue_depth", "Jobs waiting per engine and lane", labels=["engine", "lane"])
        lanes = {lane.value for lane in LANE_ORDER}
        try:
            for key in self.client.scan_iter(f"rq:queue:{PREFIX}:*", count=500):
                name = key.decode() if isinstance(key, bytes) else key
                parts = name.split(":")
                if len(parts) != 5 or parts[-1] not in lanes:
                    continue
                family.add_metric([parts[3], parts[4]], self.client.llen(name))
        except redis.RedisError as error:
            log.warning("queue depth unavailable: %s", error)
        yield family


def serve_metrics(port: int, client: redis.Redis | None = None) -> None:
    """Expose /metrics on `port` (0: disabled)."""
    if not port:
        return
    if client is not None:
        REGISTRY.register(QueueDepthCollector(client))
    start_http_server(port, registry=REGISTRY)
    log.info("metrics on :%d/metrics", port)
