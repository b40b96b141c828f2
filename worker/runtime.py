"""Running one job: claim it, run its engine, store the images (or a /describe's or /shorten's texts),
publish what happened.

`JobRunner.run(job_id)` is what the RQ task calls. It never raises for a job's own failure: every
outcome becomes the job's status plus exactly one terminal event (JobStore.finish is atomic), so
RQ only ever sees an exception when Redis itself is gone (past a bounded retry of the writes that
keep finished images) or when the worker looks broken (RestartWorker: RQ puts the job back).
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
from PIL.Image import Image
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from engines.base import Engine
from midway import events
from midway.blobs import BlobStore, blob_store, cell_ref
from midway.contract import Job, JobStatus, Operation
from midway.errors import EngineError, EngineOutOfMemory, GenerationCancelled
from midway.images.imaging import compose_grid, encode_image
from midway.jobs import JobStore
from midway.settings import Settings
from ops import metrics
from worker.cancel_watch import CancelWatch
from worker.progress import PREVIEW_TTL_S, ProgressReporter
from worker.residency import ResidentEngines
from worker.rq_worker import RestartWorker
from worker.safety import SafetyFilter
from worker.sources import SourceImages, engine_references
from worker.text_jobs import TEXT_OPERATIONS, run_text_job

log = logging.getLogger(__name__)

_CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
_T = TypeVar("_T")


class JobRunner:
    """Runs jobs on resident engines. `engines` are loaded already, or a ResidentEngines that keeps them
    within a GPU memory budget (worker/residency.py); `load_engine` (optional) loads one on first use,
    for RQ workers started without preloading. `safety` scores every image job's outputs (by default the
    checker MIDWAY_SAFETY_CHECKER names for these engines, loaded on first use)."""

    def __init__(self, client: redis.Redis, settings: Settings, engines: Mapping[str, Engine] | ResidentEngines, *,
                 worker_name: str, load_engine: Callable[[str], Engine] | None = None,
                 safety: SafetyFilter | None = None) -> None:
        self.client = client
        self.settings = settings
        if not isinstance(engines, ResidentEngines):
            engines = ResidentEngines(engines, load=load_engine, load_unknown=True)
        self.engines = engines
        self.worker_name = worker_name
        self.store = JobStore(client, settings)
        self.blobs: BlobStore = blob_store(settings, client)
        self.sources = SourceImages(self.store, self.blobs, self.engine_for)
        self.safety = safety or SafetyFilter.for_worker(settings, self.engines.names or settings.engine_list)
        # Jobs failed by unexpected errors since the last job that succeeded (see _unexpected).
        self.errors_in_a_row = 0

    def engine_for(self, name: str) -> Engine:
        return self.engines.get(name)

    def run(self, job_id: str) -> str:
        """Run the job if it still needs running; returns its final status (RQ keeps it as the result)."""
        job = self.store.get(job_id)
        if job is None:
            if self.store.end_unreadable(job_id):
                # Another version's record this one cannot read: it fails visibly and frees the user's places.
                return JobStatus.failed.value
            log.warning("job %s has no record (expired?); skipping", job_id)
            return "missing"
        if job.status.finished:
            return job.status.value
        if job.status is JobStatus.running and job.attempts >= job.max_attempts:
            # Every earlier attempt died with its worker (RQ re-delivered it after the heartbeat lapsed).
            reason = (f"The worker running this job stopped {job.attempts} times; giving up. "
                      "Try again, perhaps with a smaller size.")
            return self._finish(job_id, JobStatus.failed, error=reason, reason="worker_died")
        if self.store.cancel_requested(job_id):
            return self._finish(job_id, JobStatus.cancelled)
        claimed = self.store.start(job_id, self.worker_name)
        if claimed is None:
            return "skipped"
        log.info("job %s: started (attempt %d of %d, engine %s, %dx%d)", job_id, claimed.attempts,
                 claimed.max_attempts, claimed.spec.engine, claimed.spec.width, claimed.spec.height)
        return self._execute(claimed)

    def _execute(self, job: Job) -> str:
        try:
            results = self._answer(job) if job.spec.operation in TEXT_OPERATIONS else self._generate(job)
        except GenerationCancelled:
            return self._finish(job.id, JobStatus.cancelled)
        except EngineError as error:
            return self._finish(job.id, JobStatus.failed, error=str(error),
                                reason="oom" if _OOM.search(str(error)) else "engine_error")
        except JobTimeoutException:
            # The limit RQ enforced is the one the submitter enqueued with, not this worker's setting.
            current = get_current_job()
            limit = current.timeout if current is not None and current.timeout else self.settings.job_timeout_s
            return self._finish(job.id, JobStatus.failed, reason="timeout",
                                error=f"The job took longer than {limit:g} s and was stopped.")
        except redis.RedisError:
            # Redis failed, not the job (and stayed down past _persist's retries): RQ runs it again.
            raise
        except Exception as error:
            log.exception("job %s: unexpected error", job.id)
            return self._unexpected(job, error)
        self.errors_in_a_row = 0
        return self._finish(job.id, JobStatus.done, **results)

    def _unexpected(self, job: Job, error: Exception) -> str:
        """Fail the job with what went wrong, unless the device looks broken: after a CUDA illegal memory
        access every later CUDA call fails, so when the jobs before this one failed the same way the
        worker, not the job, is broken. Then the job goes back to RQ (its retry puts it at the head of its
        queue) and the worker exits to be restarted. Other errors (a spec the pipeline refuses) fail only
        their job: three bad requests in a row must not take a healthy worker down."""
        if _looks_like_a_broken_device(error):
            self.errors_in_a_row += 1
            limit = self.settings.max_errors_in_a_row
            if limit > 0 and self.errors_in_a_row >= limit:
                raise RestartWorker(f"{self.errors_in_a_row} jobs in a row failed with device errors; "
                                    f"job {job.id} goes back to its queue") from error
        return self._finish(job.id, JobStatus.failed, error=_unexpected_reason(error), reason="unexpected")

    def _persist(self, what: str, write: Callable[[], _T]) -> _T:
        """`write()`, retried with backoff through a Redis outage (a restart, a failover) for up to
        settings.redis_retry_s: the images are computed, and waiting beats failing the job or computing
        them again. Past that the error reaches RQ, which runs the job again once Redis is back."""
        deadline = time.monotonic() + self.settings.redis_retry_s
        delay = 0.05
        while True:
            try:
                return write()
            except redis.RedisError as error:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                log.warning("%s: Redis unavailable (%s); retrying for up to %.0f s", what, error, left)
                time.sleep(min(delay, left))
                delay = min(delay * 2, 2.0)

    def _finish(self, job_id: str, status: JobStatus, reason: str | None = None, **fields) -> str:
        """Record the job's end and publish it; `reason` labels a failure in the metrics."""
        finished = self._persist(f"job {job_id}: recording {status.value}",
                                 lambda: self.store.finish(job_id, status, **fields))
        if finished is None:
            # Someone else finished it first (a cancel while queued, a duplicate delivery).
            log.info("job %s: already finished elsewhere; not publishing %s", job_id, status.value)
            return status.value
        log.info("job %s: %s%s", job_id, status.value, f" ({fields['error']})" if fields.get("error") else "")
        _observe(finished, status, reason)
        return status.value

    def _answer(self, job: Job) -> dict[str, Any]:
        """A text job's results (JobStore.finish's fields): /describe's prompts for its image, /shorten's
        prompts and word scores, with a progress event per finished /describe prompt; a cancel that
        came meanwhile still wins over the answer."""
        engine = self.engine_for(job.spec.engine or self.settings.default_engine)
        images: list[Image] = []
        if job.spec.operation is Operation.describe:
            init_image = self.sources.for_job(job)
            images = [init_image] if init_image is not None else self.sources.prompt_images(job)
        started = time.perf_counter()
        with self._progress_reporter(job) as progress:
            texts, word_scores = run_text_job(engine, job, images, on_progress=progress)
        if self.store.cancel_requested(job.id):
            raise GenerationCancelled(f"job {job.id} was cancelled")
        return {"texts": texts, "word_scores": word_scores, "compute_s": time.perf_counter() - started}

    def _generate(self, job: Job) -> dict[str, Any]:
        """An image job's results (JobStore.finish's fields): its stored images and their safety verdict,
        with progress on the way."""
        engine = self.engine_for(job.spec.engine or self.settings.default_engine)
        init_image = self.sources.for_job(job)
        references = engine_references(self.sources.prompt_images(job), self.sources.style_images(job),
                                       self.sources.character_images(job))
        started = time.perf_counter()
        # Progress goes out from its own thread, its last event before this block ends (worker/progress.py).
        with self._progress_reporter(job) as progress:
            images = self._run_engine(engine, job, init_image, progress, references)
        compute_s = time.perf_counter() - started
        self.engines.record_job(job.spec.engine or self.settings.default_engine, compute_s)
        # One batched pass over every output (grid cells, an upscale, a variation's four); the bot applies
        # the server's policy to the verdict. It never fails the job: a broken checker flags every image.
        verdict = self.safety.check(images)
        outputs, grid = self._store(images)
        return {"outputs": outputs, "grid": grid, "compute_s": compute_s, **verdict.fields()}

    def _progress_reporter(self, job: Job) -> ProgressReporter:
        return ProgressReporter(
            job.id,
            publish=lambda event: events.publish(self.client, event),
            put_preview=lambda data: self.blobs.put(data, content_type="image/webp", ttl_s=PREVIEW_TTL_S),
            interval_s=self.settings.progress_interval_s, attempt=job.attempts, worker=self.worker_name,
            background=True)

    def _store(self, images: list[Image]) -> tuple[list[str], str | None]:
        """(output refs, grid ref). The 2x2 grid holds every image losslessly at full size, so a job with
        a grid stores only the grid and its outputs are cell refs into it (midway.blobs): one PNG encode
        and one blob instead of five, so half the Redis memory and a shorter gap between the last
        denoising step and the result. A reader of a cell pays for it instead, and few cells are read."""
        if 2 <= len(images) <= 4:
            grid = self._put(compose_grid(images))
            return [cell_ref(grid, index) for index in range(len(images))], grid
        return [self._put(image) for image in images], None

    def _run_engine(self, engine: Engine, job: Job, init_image: Image | None,
                    progress: ProgressReporter, references: dict[str, Any] | None = None) -> list[Image]:
        """Run once with the engine's own batching; after an out-of-memory error, once more one image
        at a time (the engine's result does not depend on max_batch), then give up with a reason."""
        # Only engines that take image references see the keywords (older Engine implementations lack them).
        extra = references or {}
        for max_batch in (None, 1):
            try:
                with CancelWatch(lambda: self.store.cancel_requested(job.id), name=f"cancel-{job.id}") as cancelled:
                    return engine.run(job.spec, init_image=init_image, on_progress=progress,
                                      should_cancel=cancelled, max_batch=max_batch, **extra)
            except EngineOutOfMemory:
                log.warning("job %s: out of memory with max_batch=%s", job.id, max_batch)
                gc.collect()
        raise EngineError(f"Out of GPU memory even one image at a time at {job.spec.width}x{job.spec.height}; "
                          "try a smaller aspect ratio or fewer images.")

    def _put(self, image: Image) -> str:
        data, fmt = encode_image(image)
        return self._persist("storing an image", lambda: self.blobs.put(data, content_type=_CONTENT_TYPES[fmt]))


# What a device (not a job) gone bad says: every later call on it fails the same way.
_DEVICE_ERRORS = ("CUDA error", "CUDA driver", "cuDNN error", "CUBLAS_STATUS", "device-side assert", "NCCL error",
                  "HIP error", "unspecified launch failure")
_OOM = re.compile(r"out of (gpu )?memory", re.IGNORECASE)


def _looks_like_a_broken_device(error: BaseException) -> bool:
    text = f"{type(error).__name__}: {error}"
    return type(error).__name__ == "AcceleratorError" or any(marker in text for marker in _DEVICE_ERRORS)


def _unexpected_reason(error: BaseException) -> str:
    """The user's line for an error nobody foresaw. A ValueError is a pipeline refusing its input
    (diffusers' check_inputs echoes the bad value): its first line, cut short, URLs' credentials hidden.
    Anything else may name the machine's paths or state, so only the log (with the traceback) has it."""
    if not isinstance(error, ValueError):
        return "Something went wrong on the worker; try again."
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    first = re.sub(r"(\w+://)[^/\s@]+@", r"\1***@", first)
    return f"The engine refused the request: {first[:200]}"


def _observe(job: Job, status: JobStatus, reason: str | None) -> None:
    try:
        metrics.observe_finished_job(job, reason=(reason or "error") if status is JobStatus.failed else None)
    except Exception:  # metrics must never break a job
        log.debug("metrics unavailable", exc_info=True)
