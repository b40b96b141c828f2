"""`midway worker`: serve generation jobs from Redis with resident engines (one per GPU).

    midway worker --engines tiny,sdxl --lanes fast,relax [--burst] [--name gpu0]

Engines load before the first job, with a log line each. SIGTERM (or Ctrl-C) finishes the current
job and exits; a second one stops at once.

Exit 0 after --burst or --max-jobs; 1 when an engine cannot load; 2 for a usage error or a Redis that
cannot be reached at start-up (checked before the engines load); 75 when the worker judged itself
broken and put its job back (a supervisor restarts it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from midway.contract import Lane
from midway.settings import get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engines", default=None, help="comma-separated engine names (default MIDWAY_ENGINES)")
    parser.add_argument("--lanes", default=",".join(lane.value for lane in Lane),
                        help="comma-separated lanes to serve, from turbo, fast, relax (default all)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", default=None, help="worker name (default host-pid-random)")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")


def parse_lanes(text: str) -> list[Lane]:
    lanes = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            lanes.append(Lane(item))
        except ValueError:
            raise ValueError(f"unknown lane {item!r}; lanes are {', '.join(lane.value for lane in Lane)}") from None
    if not lanes:
        raise ValueError("no lanes given")
    return lanes


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("midway.worker")
    # RQ logs four "cleaning registries" lines per maintenance pass (every two heartbeats); job lines
    # come from our own runner, so those would only bury them.
    logging.getLogger("rq.worker").addFilter(lambda record: "cleaning" not in record.getMessage())
    try:
        lanes = parse_lanes(args.lanes)
    except ValueError as error:
        print(f"midway worker: {error}", file=sys.stderr)
        return 2
    names = [name.strip() for name in (args.engines or settings.engines).split(",") if name.strip()]
    if not names:
        # A worker of no engine listens to no queue: it would sit idle for ever, looking healthy.
        print("midway worker: name at least one engine (--engines tiny,sdxl or MIDWAY_ENGINES)", file=sys.stderr)
        return 2
    if not settings.redis_url:
        print("midway worker: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2
    from midway.redis_clients import redis_problem, sync_redis

    # Before the engines load (minutes for real models), not after.
    problem = redis_problem(settings.redis_url)
    if problem:
        print(f"midway worker: {problem}", file=sys.stderr)
        return 2

    # transformers warns about optional image backends (torchvision) it falls back from; keep errors only.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from engines.registry import get_engine, unload
    from midway.errors import EngineError
    from ops.gc_tuning import freeze_startup_objects
    from ops.heap_tuning import keep_freed_memory
    from ops.metrics import serve_metrics
    from worker.main import build_worker, load_engines
    from worker.rq_worker import RESTART_EXIT_CODE, serve

    try:
        engines = load_engines(names, get_engine, settings=settings, forget=unload)
    except EngineError as error:
        print(f"midway worker: {error}", file=sys.stderr)
        return 1
    # After the engines load: their load-time copies (gigabytes, freed once the weights are on the GPU)
    # go back to the system as before; each job's activations then reuse the heap (ops/heap_tuning.py).
    keep_freed_memory()
    client = sync_redis(settings.redis_url)
    worker = build_worker(client, settings, engines, lanes=lanes, name=args.name)
    # The loaded pipelines are tens of thousands of objects a full GC pass would walk mid-job. Not under a
    # memory budget: an engine unloaded to make room must be collectable, and frozen objects never are.
    if engines.budget_bytes is None:
        freeze_startup_objects()
    serve_metrics(settings.worker_metrics_port, client)
    log.info("worker %s serving %s on lanes %s", worker.name, ", ".join(engines.names),
             ", ".join(lane.value for lane in lanes))
    serve(worker, burst=args.burst, max_jobs=args.max_jobs, logging_level=settings.log_level.upper())
    # The worker judged itself broken (worker/runtime.py) and put its job back: a supervisor restarts it.
    return RESTART_EXIT_CODE if worker.restart_reason else 0
