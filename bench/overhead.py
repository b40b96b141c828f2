"""Part 1: service overhead. For the same spec and seed, the time from /imagine reaching the emulator
to the grid message posted, versus the engine call alone in this process. The tiny engine at its
catalogue size (256², 8 steps, 4 images) computes for about a second on this CPU, so the ratio
means something. The overhead is split with the timestamps the pieces already record: the driver's
clock, the job's events, RQ's dequeue time and the worker's own compute time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import redis

from bench.cpu_pinning import EnginePinning
from bench.report import PartResult, Row
from bench.services import ENGINE_THREADS, require, shared_redis, shared_worker
from bench.stats import median_interval, ratio

PROMPT = "a lighthouse on a cliff at dusk --seed 1234"
RESULT_TIMEOUT_S = 120.0
# The engine's own time moves by up to ±10% between two runs a second apart on a shared 2-core
# machine, more than the ~3% the service adds: 21 pairs narrow the median's 95% interval to about ±3%.
REPEATS_FULL = 21
PHASES = ("ack", "bot submit", "queue wait", "worker pickup", "engine compute", "worker store",
          "event delivery", "upload")
RESULT_POST = "POST /channels/{channel_id}/messages"


async def imagine_once(pg, client: redis.Redis) -> dict[str, float]:
    """One /imagine from slash command to grid message; the phases in seconds and the job id."""
    start = time.time()
    run = await pg.slash("imagine", user="alice", channel="general", options={"prompt": PROMPT})
    await run.acked(timeout=30)
    acked = time.time()

    def has_result_buttons(message) -> bool:
        return any(custom_id.startswith("mw:u:") for custom_id in message.custom_ids)

    grid = await pg.wait_for_message("general", has_result_buttons, timeout=RESULT_TIMEOUT_S, new_only=True)
    posted = time.time()
    job_id = next(c for c in grid.custom_ids if c.startswith("mw:u:")).split(":")[2]
    return {"job_id": job_id, **phases(client, job_id, start, acked, upload_started(pg, job_id), posted)}


def upload_started(pg, job_id: str) -> float:
    """When the bot's result post (found by its nonce, bot/delivery.result_nonce) reached the emulator."""
    from bot.delivery import result_nonce

    nonce = result_nonce(job_id)
    return next(request.started_at for request in reversed(pg.requests_to(RESULT_POST))
                if isinstance(request.json, dict) and request.json.get("nonce") == nonce)


def phases(client: redis.Redis, job_id: str, start: float, acked: float, uploading: float,
           posted: float) -> dict[str, float]:
    from rq.job import Job as RQJob
    from rq.serializers import JSONSerializer

    from midway.jobs import JobStore

    job = JobStore(client).get(job_id)
    stamps = event_times(client, job_id)
    dequeued = RQJob.fetch(job_id, connection=client, serializer=JSONSerializer).started_at.timestamp()
    computed = stamps["started"] + (job.compute_s or 0.0)
    return {
        "ack": acked - start, "bot submit": stamps["queued"] - acked,
        "queue wait": dequeued - stamps["queued"],
        "worker pickup": stamps["started"] - dequeued, "engine compute": job.compute_s or 0.0,
        "worker store": stamps["done"] - computed, "event delivery": uploading - stamps["done"],
        "upload": posted - uploading,
        "total": posted - start,
    }


def event_times(client: redis.Redis, job_id: str) -> dict[str, float]:
    from midway import keys
    from midway.events import parse_entry

    stamps: dict[str, float] = {}
    for _, fields in client.xrange(keys.EVENTS_STREAM):
        event = parse_entry(fields)
        if event is not None and event.job_id == job_id:
            stamps.setdefault(event.kind.value, event.at)
    return stamps


async def measure(redis_url: str, repeats: int, pinning: EnginePinning) -> list[dict[str, float]]:
    """Service runs interleaved with in-process engine runs of the same spec, so a change in the
    machine's load (it is shared) hits both sides of each pair alike."""
    from bench.discord_stack import midway_bot, playground, running

    client = redis.Redis.from_url(redis_url)
    try:
        async with playground() as pg, running(pg, midway_bot(redis_url)):
            warm = await imagine_once(pg, client)  # first edits, first upload, first 256² run
            engine, spec = load_engine(client, warm["job_id"])
            engine.run(spec)
            runs = []
            for index in range(repeats):
                # Which side goes first alternates, so a drift in the machine's load favours neither.
                # The engine alone runs on this main thread, as the worker's does (RQ runs jobs on its
                # main thread): a thread's malloc arena would fault memory in that the main heap keeps.
                # The loop has nothing to do meanwhile: the bot is idle between jobs.
                if index % 2:
                    alone = time_engine(engine, spec, pinning)
                    measured = await imagine_once(pg, client)
                else:
                    measured = await imagine_once(pg, client)
                    alone = time_engine(engine, spec, pinning)
                runs.append({**measured, "engine alone": alone})
            return runs
    finally:
        client.close()


def load_engine(client: redis.Redis, job_id: str):
    """The bot's spec of that job (same seed, size, steps) and the tiny engine, in this process."""
    import torch

    from engines.registry import get_engine
    from midway.jobs import JobStore

    # The worker's thread count (bench.services.ENGINE_THREADS), so both sides compute alike.
    torch.set_num_threads(ENGINE_THREADS)
    spec = JobStore(client).get(job_id).spec
    return get_engine(spec.engine or "tiny"), spec


def time_engine(engine, spec, pinning: EnginePinning) -> float:
    with pinning.on_engine_core():
        start = time.perf_counter()
        engine.run(spec)
        return time.perf_counter() - start


def run(quick: bool) -> PartResult:
    require("bot.app", "playground.driver", "worker.main", "engines.registry")
    from ops.heap_tuning import keep_freed_memory

    # The in-process side's engine loads (~5 s of imports and building) on the second core while the
    # worker starts on the first: `bench/run --quick` must stay under a minute on 2 cores.
    with ThreadPoolExecutor(max_workers=1) as pool:
        preloaded = pool.submit(preload_engine)
        worker = shared_worker()
        preloaded.result()
    # The heap tuning `midway worker` applies once its engines are loaded (ops/heap_tuning.py), so
    # both sides compute alike.
    keep_freed_memory()
    server = shared_redis()
    # Pinned before the emulator and bot start, so the threads they start inherit this thread's cores.
    with EnginePinning(worker.pid, [server.process.pid]) as pinning:
        runs = asyncio.run(measure(server.url, repeats=1 if quick else REPEATS_FULL, pinning=pinning))
    result = summarise(runs)
    result.notes.append(f"Cores: {pinning.describe()}.")
    return result


def preload_engine() -> None:
    from engines.registry import get_engine

    get_engine("tiny")  # kept by the registry; load_engine below finds it loaded


def summarise(runs: list[dict[str, float]]) -> PartResult:
    names = (*PHASES, "total", "engine alone")
    median = {name: statistics.median(run[name] for run in runs) for name in names}
    alone_s, total_s, compute_s = median["engine alone"], median["total"], median["engine compute"]
    pair_ratios = [run["total"] / run["engine alone"] for run in runs]
    pair_ratio = statistics.median(pair_ratios)
    interval = median_interval(pair_ratios)
    spread = (f"95% CI {interval[0]:.3f}-{interval[1]:.3f}" if interval
              else f"{len(runs)} pair(s): too few for an interval")
    compute_ratio = statistics.median(run["engine compute"] / run["engine alone"] for run in runs)
    result = PartResult(name="overhead", details={"runs": runs})
    result.figures = {
        "service_overhead_ratio": round(pair_ratio, 3),
        "service_overhead_ratio_ci95": [round(bound, 3) for bound in interval] if interval else None,
        "worker_compute_ratio_vs_alone": round(compute_ratio, 3),
        "service_non_compute_s": round(total_s - compute_s, 3),
        "service_total_s": round(total_s, 3),
        "engine_alone_s": round(alone_s, 3),
    }
    result.rows += [
        Row("/imagine -> grid posted (tiny engine, 256², 8 steps, 4 images)", f"{total_s:.3f} s",
            f"x{pair_ratio:.3f} vs engine alone (median of pairs; {spread})"),
        Row("engine.run alone, in-process, same spec and seed", f"{alone_s:.3f} s", "baseline"),
        Row("the worker's engine.run (progress previews, cancel checks)", f"{compute_s:.3f} s",
            f"x{compute_ratio:.3f} vs engine alone (median of pairs)"),
        Row("everything but the worker's engine compute", f"{1000 * (total_s - compute_s):.0f} ms",
            f"x{ratio(total_s, compute_s)} vs the worker's own compute"),
        *(Row(f"  split: {name}", f"{1000 * median[name]:.0f} ms") for name in PHASES),
    ]
    result.notes.append(f"Medians of {len(runs)} runs after a warm-up, each paired with an in-process engine"
                        " run of the same spec. 'engine compute' is the worker's own timing of engine.run;"
                        " 'worker store' is composing the grid, encoding it (the 4 images are cells of it)"
                        " and storing it.")
    return result
