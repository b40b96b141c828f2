"""Custom checkpoints on workers: `midway models add`, then a worker serves the model with no code change;
and several engines within a GPU memory budget that holds one, swapping on every other job."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engines.registry import get_engine, load_count, unload
from engines.residency import weight_bytes
from engines.tiny.cache import ensure_tiny
from midway import keys
from midway.blobs import RedisBlobStore
from midway.catalogue import SHIPPED_CATALOGUE, load_catalogue
from midway.contract import JobStatus
from midway.positions import WorkerHeartbeat
from tests.cli_run import run_cli
from worker.main import load_engines
from worker.residency import GIB
from worker.rq_worker import serve

from .conftest import new_job

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def add_model(settings, tmp_path, monkeypatch) -> Iterator[Callable[[str, str], str]]:
    """`midway models add NAME <a tiny folder> --kind KIND` into this test's user catalogue; the engines
    it loaded are forgotten afterwards, as they exist only in this test's catalogue."""
    monkeypatch.setenv("MIDWAY_USER_CATALOGUE", str(tmp_path / "catalogue.toml"))
    shipped = load_catalogue(SHIPPED_CATALOGUE)
    added: list[str] = []

    def add(name: str, kind: str) -> str:
        folder = ensure_tiny(shipped.get({"sd": "tiny", "sdxl": "tiny-sdxl"}[kind]))
        result = run_cli("models", "add", name, str(folder), "--kind", kind, "--steps", "2")
        assert result.returncode == 0, result.stderr
        added.append(name)
        return name

    yield add
    for name in added:
        unload(name)


def grid_pixels(redis_client, store, job_id: str) -> bytes:
    from .conftest import decode

    record = store.get(job_id)
    assert record.status is JobStatus.done, record.error
    return decode(RedisBlobStore(redis_client, 60).get(record.grid)).tobytes()


def test_an_added_model_is_served_by_a_worker_with_no_code_change(add_model, store, make_worker, redis_client):
    name = add_model("my-finetune", "sd")
    worker = make_worker(load_engines([name], get_engine))
    job = store.submit(new_job(engine=name, size=64, steps=2))
    serve(worker, burst=True)
    record = store.get(job.id)
    assert record.status is JobStatus.done and record.worker == worker.name
    assert len(record.outputs) == 4 and len(grid_pixels(redis_client, store, job.id)) == 128 * 128 * 3


def budget_for_one(names: list[str]) -> float:
    """GB that hold the largest of these engines but no two of them (their measured weights)."""
    sizes = sorted(weight_bytes(get_engine(name)) for name in names)
    assert sizes[-1] < sizes[0] + sizes[1]
    return (sizes[-1] + sizes[0] // 2) / GIB


def test_a_budget_for_one_engine_swaps_on_every_other_job_and_keeps_the_images(
        add_model, settings, store, make_worker, redis_client):
    names = [add_model("swap-sd", "sd"), add_model("swap-xl", "sdxl")]
    # The unswapped images: both engines resident, no budget.
    unswapped = make_worker(load_engines(names, get_engine))
    reference = {}
    for name in names:
        job = store.submit(new_job(engine=name, size=64, steps=2))
        serve(unswapped, burst=True)
        reference[name] = grid_pixels(redis_client, store, job.id)
    assert reference["swap-sd"] != reference["swap-xl"]

    budget = settings.model_copy(update={"gpu_memory_gb": budget_for_one(names)})
    engines = load_engines(names, get_engine, settings=budget, forget=unload)
    assert list(engines.resident) == ["swap-xl"] and engines.unloaded == {"swap-sd"}
    worker = make_worker(engines)
    loads = {name: load_count(name) for name in names}
    for name in ["swap-sd", "swap-xl", "swap-sd", "swap-xl"]:
        job = store.submit(new_job(engine=name, size=64, steps=2))
        serve(worker, burst=True)
        assert grid_pixels(redis_client, store, job.id) == reference[name]
        assert list(engines.resident) == [name]  # the other one went off to make room
    # Each swap reloaded the engine from its files (a CPU's device is its memory: unloading frees it).
    assert engines.swaps == {"swap-sd": 2, "swap-xl": 2}
    assert {name: load_count(name) - loads[name] for name in names} == {"swap-sd": 2, "swap-xl": 2}
    worker.publish_heartbeat()  # a burst worker's exit took its heartbeat down
    beat = WorkerHeartbeat.model_validate_json(redis_client.get(keys.worker_heartbeat_key(worker.name)))
    assert beat.resident == ["swap-xl"] and set(beat.load_s) == set(names) == set(beat.job_s)
    assert sorted(beat.engines) == sorted(names)


def test_the_wait_estimate_adds_the_swap_for_an_engine_not_on_the_device(
        add_model, settings, store, make_worker, redis_client):
    names = [add_model("eta-sd", "sd"), add_model("eta-xl", "sdxl")]
    budget = settings.model_copy(update={"gpu_memory_gb": budget_for_one(names)})
    engines = load_engines(names, get_engine, settings=budget, forget=unload)
    worker = make_worker(engines)
    for name in names:  # measured: each engine's load and job time
        store.submit(new_job(engine=name, size=64, steps=2))
        serve(worker, burst=True)
    worker.publish_heartbeat()
    beat = WorkerHeartbeat.model_validate_json(redis_client.get(keys.worker_heartbeat_key(worker.name)))
    assert beat.resident == ["eta-xl"] and beat.load_s["eta-sd"] > 0
    off_device = store.submit(new_job(engine="eta-sd", size=64, steps=2))
    first = store.submit(new_job(engine="eta-xl", size=64, steps=2, user="u2"))
    second = store.submit(new_job(engine="eta-xl", size=64, steps=2, user="u3"))
    positions = store.positions
    assert positions.wait_estimate_s(off_device) == pytest.approx(beat.load_s["eta-sd"])
    assert positions.wait_estimate_s(first) == 0.0
    assert positions.wait_estimate_s(second) == pytest.approx(beat.job_s["eta-xl"])
    # What the bot's waiting messages read, all at once (bot/progress.py): the same estimates.
    batched = positions.waiting_estimates([off_device, first, second])
    assert batched[off_device.id] == (True, 1, pytest.approx(beat.load_s["eta-sd"]))
    assert batched[second.id] == (True, 2, pytest.approx(beat.job_s["eta-xl"]))


@pytest.mark.slow
def test_midway_worker_serves_an_added_model_as_a_process(add_model, settings, store, redis_url, state_dir):
    name = add_model("my-process-model", "sd")
    job = store.submit(new_job(engine=name, size=64, steps=2))
    env = {**os.environ, "REDIS_URL": redis_url, "MIDWAY_STATE_DIR": str(state_dir), "OMP_NUM_THREADS": "1",
           "MIDWAY_HEARTBEAT_S": "0.5", "MIDWAY_GPU_MEMORY_GB": "1"}
    process = subprocess.run([sys.executable, "-m", "cli", "worker", "--engines", name, "--burst"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr
    assert f"serving {name}" in process.stderr and "GPU memory budget 1.00 GB" in process.stderr
    assert store.get(job.id).status is JobStatus.done


def test_a_worker_within_a_budget_loads_no_engine_it_does_not_serve(add_model, settings):
    """A Vary of an image made on another engine asks for that engine's pipeline: it is refused, not loaded."""
    from midway.errors import EngineError

    name = add_model("only-this", "sd")
    engines = load_engines([name], get_engine, settings=settings.model_copy(update={"gpu_memory_gb": 1.0}),
                           forget=unload)
    with pytest.raises(EngineError, match="does not run the engine 'tiny-sdxl'"):
        engines.get("tiny-sdxl")
    assert engines.names == [name] and "tiny-sdxl" not in engines.sizes
