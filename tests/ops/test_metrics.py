"""The Prometheus endpoint reports queue depth per engine/lane and the wait/run split of finished jobs."""

from __future__ import annotations

import urllib.request

from prometheus_client import generate_latest
from rq import Queue

from midway.contract import GenerationSpec, Job, JobStatus, Lane, Requester
from midway.keys import queue_name
from ops.metrics import REGISTRY, QueueDepthCollector, observe_finished_job
from ops.redis_server import free_port


def test_queue_depth_reads_rq_queues_per_engine_and_lane(redis_client):
    queue = Queue(queue_name("tiny", Lane.relax), connection=redis_client)
    for _ in range(3):
        queue.enqueue("builtins.print", "x")
    (family,) = list(QueueDepthCollector(redis_client).collect())
    depths = {tuple(sample.labels.values()): sample.value for sample in family.samples}
    assert depths[("tiny", "relax")] == 3


def test_finished_job_is_split_into_wait_and_run():
    job = Job(spec=GenerationSpec(prompt="fox", engine="metrics-test"), requester=Requester(user_id="1"),
              status=JobStatus.failed, created_at=100.0, started_at=103.0, finished_at=110.0, compute_s=6.5)
    observe_finished_job(job, reason="timeout")
    text = generate_latest(REGISTRY).decode()
    assert 'midway_job_wait_seconds_sum{engine="metrics-test",lane="fast"} 3.0' in text
    assert 'midway_job_run_seconds_sum{engine="metrics-test",lane="fast"} 7.0' in text
    assert 'midway_job_gpu_seconds_total{engine="metrics-test"} 6.5' in text
    assert 'midway_job_failures_total{engine="metrics-test",reason="timeout"} 1.0' in text


def test_metrics_endpoint_serves_text(redis_client):
    from ops.metrics import serve_metrics

    port = free_port()
    serve_metrics(port, redis_client)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "midway_queue_depth" in body and "midway_jobs_finished_total" in body
