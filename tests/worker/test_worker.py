"""The worker in-process (burst mode) with the tiny engine: what a user of the queue would notice."""

from __future__ import annotations

import threading

import redis

from engines.registry import get_engine, load_count
from midway import keys
from midway.blobs import RedisBlobStore
from midway.contract import EventKind, JobStatus, Operation
from midway.errors import EngineError
from midway.events import follow, last_id
from midway.jobs import JobStore
from worker.main import load_engines
from worker.rq_worker import serve

from .conftest import ScriptedEngine, decode, new_job


def kinds(consumer, job_id: str) -> list[EventKind]:
    return [event.kind for _, event in consumer.read(block_ms=10, count=1000) if event.job_id == job_id]


def test_imagine_runs_end_to_end(store, make_worker, tiny_engine, consumer, redis_client):
    worker = make_worker({"tiny": tiny_engine})
    job = store.submit(new_job(size=64, steps=4))
    serve(worker, burst=True)

    entries = [event for _, event in consumer.read(block_ms=10, count=1000)]
    sequence = [event.kind for event in entries]
    assert sequence[:2] == [EventKind.queued, EventKind.started] and sequence[-1] is EventKind.done
    assert set(sequence[2:-1]) == {EventKind.progress} and len(sequence) >= 4
    progress = [event for event in entries if event.kind is EventKind.progress]
    assert [event.step for event in progress] == sorted(event.step for event in progress)
    assert all(decode(RedisBlobStore(redis_client, 60).get(event.preview)).format == "WEBP"
               for event in progress if event.preview)

    done = entries[-1]
    blobs = RedisBlobStore(redis_client, 60)
    images = [decode(blobs.get(ref)) for ref in done.outputs]
    assert [image.size for image in images] == [(64, 64)] * 4
    assert decode(blobs.get(done.grid)).size == (128, 128)
    record = store.get(job.id)
    assert record.status is JobStatus.done and record.attempts == 1 and record.worker == worker.name
    assert record.outputs == done.outputs and record.compute_s > 0
    assert record.created_at <= record.started_at <= record.finished_at


def test_two_jobs_load_the_engine_once(store, make_worker, consumer):
    engines = load_engines(["tiny"], get_engine)
    loads = load_count("tiny")
    worker = make_worker(engines)
    jobs = [store.submit(new_job(size=32, steps=2, user=f"u{i}")) for i in range(2)]
    serve(worker, burst=True)
    assert [store.get(job.id).status for job in jobs] == [JobStatus.done] * 2
    assert load_count("tiny") == loads == 1


def test_engine_error_fails_the_job_with_its_message_and_the_worker_keeps_serving(
        store, make_worker, tiny_engine, consumer):
    worker = make_worker({"broken": ScriptedEngine(fail_with=EngineError("The model refused this prompt.")),
                          "tiny": tiny_engine})
    bad = store.submit(new_job(engine="broken"))
    good = store.submit(new_job(size=32))
    serve(worker, burst=True)
    events = {event.job_id: event for _, event in consumer.read(block_ms=10, count=1000)}
    assert events[bad.id].kind is EventKind.failed
    assert events[bad.id].error == "The model refused this prompt."
    assert store.get(bad.id).error == "The model refused this prompt."
    assert events[good.id].kind is EventKind.done


def test_unexpected_engine_crash_is_reported_without_a_traceback(store, make_worker, consumer):
    worker = make_worker({"tiny": ScriptedEngine(fail_with=RuntimeError("/secret/path exploded"))})
    job = store.submit(new_job())
    serve(worker, burst=True)
    failed = store.get(job.id)
    assert failed.status is JobStatus.failed and "secret" not in failed.error and "Traceback" not in failed.error


def test_out_of_memory_retries_once_with_a_smaller_batch(store, make_worker, consumer):
    engine = ScriptedEngine(oom_until_batch=1)
    worker = make_worker({"tiny": engine})
    job = store.submit(new_job())
    serve(worker, burst=True)
    assert [call["max_batch"] for call in engine.calls] == [None, 1]
    assert store.get(job.id).status is JobStatus.done


def test_out_of_memory_twice_fails_with_a_clear_reason(store, make_worker, consumer):
    engine = ScriptedEngine(oom_until_batch=0)
    worker = make_worker({"tiny": engine})
    job = store.submit(new_job(size=96))
    serve(worker, burst=True)
    assert len(engine.calls) == 2
    failed = store.get(job.id)
    assert failed.status is JobStatus.failed and "memory" in failed.error and "96x96" in failed.error
    assert kinds(consumer, job.id)[-1] is EventKind.failed


def test_cancel_while_queued_never_runs(store, make_worker, consumer):
    engine = ScriptedEngine()
    worker = make_worker({"tiny": engine})
    job = store.submit(new_job())
    store.cancel(job.id)
    serve(worker, burst=True)
    assert engine.calls == []
    assert kinds(consumer, job.id) == [EventKind.queued, EventKind.cancelled]


def test_cancel_after_dequeue_but_before_start_never_runs(store, make_worker, consumer, redis_client):
    engine = ScriptedEngine()
    worker = make_worker({"tiny": engine})
    job = store.submit(new_job())
    # The race where the worker popped the job just as the user cancelled: only the flag is set.
    redis_client.set(keys.cancel_key(job.id), "1")
    serve(worker, burst=True)
    assert engine.calls == [] and store.get(job.id).status is JobStatus.cancelled


def test_cancel_while_running_stops_at_the_next_step(store, make_worker, tiny_engine, consumer, redis_url):
    worker = make_worker({"tiny": tiny_engine})
    after = last_id(redis.Redis.from_url(redis_url))
    job = store.submit(new_job(size=128, steps=40))

    def cancel_on_first_progress() -> None:
        client = redis.Redis.from_url(redis_url)
        for event in follow(client, job.id, after=after, block_ms=50, timeout_s=60):
            if event.kind is EventKind.progress:
                JobStore(client, store.settings).cancel(job.id)
                return

    canceller = threading.Thread(target=cancel_on_first_progress)
    canceller.start()
    serve(worker, burst=True)
    canceller.join()
    sequence = kinds(consumer, job.id)
    assert sequence[-1] is EventKind.cancelled and EventKind.done not in sequence
    assert sequence.count(EventKind.progress) < 40
    assert store.get(job.id).status is JobStatus.cancelled


def test_job_timeout_fails_the_job(store, make_worker, tiny_engine, consumer, settings):
    settings.job_timeout_s = 1
    worker = make_worker({"tiny": tiny_engine})
    job = store.submit(new_job(size=256, steps=60))
    serve(worker, burst=True)
    failed = store.get(job.id)
    assert failed.status is JobStatus.failed and "longer than 1 s" in failed.error


def test_variation_of_an_expired_image_re_derives_it_from_the_parent(store, make_worker, tiny_engine,
                                                                      consumer, redis_client):
    recorder = RecordingEngine(tiny_engine)
    worker = make_worker({"tiny": recorder})
    parent = store.submit(new_job(size=64, steps=3))
    serve(worker, burst=True)
    parent = store.get(parent.id)
    blobs = RedisBlobStore(redis_client, 60)
    original = decode(blobs.get(parent.outputs[2])).convert("RGB")
    redis_client.delete(*[keys.blob_key(ref) for ref in [*parent.outputs, parent.grid]])

    child = new_job(size=64, steps=3, operation=Operation.variation, init_image=parent.outputs[2], strength=0.6)
    child.parent_job_id, child.parent_index = parent.id, 2
    child = store.submit(child)
    recorder.seen.clear()
    worker = make_worker({"tiny": recorder})
    serve(worker, burst=True)
    assert store.get(child.id).status is JobStatus.done
    source = recorder.seen[-1]
    assert source is not None and list(source.convert("RGB").getdata()) == list(original.getdata())


class RecordingEngine:
    """Wraps an engine and remembers the init image of each run."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seen = []

    def run(self, spec, **kwargs):
        self.seen.append(kwargs.get("init_image"))
        return self.inner.run(spec, **kwargs)
