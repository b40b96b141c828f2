"""The RQ task, enqueued by its dotted name `worker.tasks.run_job` with the job id as its only argument.

The bot enqueues by name, so it never imports this module (or torch). A Midway worker installs its
JobRunner (engines already loaded) before it takes jobs; a plain `rq worker` gets one built from
settings that loads engines on first use.
"""

from __future__ import annotations

import socket

from midway.redis_clients import sync_redis
from midway.settings import get_settings
from worker.runtime import JobRunner

_runner: JobRunner | None = None


def install(runner: JobRunner | None) -> None:
    global _runner
    _runner = runner


def current_runner() -> JobRunner:
    global _runner
    if _runner is None:
        _runner = _default_runner()
    return _runner


def run_job(job_id: str) -> str:
    return current_runner().run(job_id)


def _default_runner() -> JobRunner:
    from engines.registry import get_engine

    settings = get_settings()
    client = sync_redis(settings.redis_url or "redis://127.0.0.1:6379/0")
    return JobRunner(client, settings, {}, worker_name=f"rq-{socket.gethostname()}", load_engine=get_engine)
