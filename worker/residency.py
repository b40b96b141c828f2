"""Several engines on one GPU: the most recently used stay on the device, within a memory budget.

A worker may serve more engines than its GPU holds (`--engines sdxl,flux-schnell,sd15` on 24 GB). With
MIDWAY_GPU_MEMORY_GB or MIDWAY_GPU_MEMORY_FRACTION set, the weights on the device (measured by
engines/residency.py) stay within that budget: before a job's engine comes on, the least recently used
ones go off until it fits. On a GPU "off" is host memory (`.to("cpu")`, back in about a second); on a CPU
host memory is the device, so an engine goes off by being unloaded and comes back by reloading from disk
(the same from_pretrained files, so the same seed gives the same images). Each swap is logged and
counted (`swaps`), and the measured time to bring each engine on is published with the worker's
heartbeat, so queue estimates (midway/positions.py) add it for a job whose engine is not on.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping

from engines.base import Engine
from engines.residency import keeps_off_device_copy, move, weight_bytes
from midway.errors import EngineError
from midway.settings import Settings

log = logging.getLogger(__name__)

GIB = 2**30


def memory_budget(settings: Settings) -> int | None:
    """The budget in bytes (the smaller when both settings are given); None: no budget, all stay on."""
    budgets = []
    if settings.gpu_memory_gb is not None:
        budgets.append(int(settings.gpu_memory_gb * GIB))
    if settings.gpu_memory_fraction is not None:
        budgets.append(int(settings.gpu_memory_fraction * device_memory()))
    return min(budgets) if budgets else None


def device_memory() -> int:
    """Bytes of the GPU's memory, or of the machine's when there is no GPU (the CPU's device)."""
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(0).total_memory)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class ResidentEngines:
    """The engines a worker serves, by name. `get(name)` returns one on the device, moving others off to
    make room when a budget is set; `load(name)` loads an engine anew from its files, `forget(name)` drops
    the loader's own reference to it (engines/registry.py caches them), so an unloaded engine is freed."""

    def __init__(self, engines: Mapping[str, Engine], *, load: Callable[[str], Engine] | None = None,
                 forget: Callable[[str], None] = lambda name: None, budget_bytes: int | None = None,
                 load_unknown: bool = False) -> None:
        self.load = load
        # Load on first use an engine never added (RQ workers started without preloading).
        self.load_unknown = load_unknown
        self.forget = forget
        self.budget_bytes = budget_bytes
        self.resident: OrderedDict[str, Engine] = OrderedDict()  # least recently used first
        self.parked: dict[str, Engine] = {}  # off the device, in host memory (GPU workers)
        self.unloaded: set[str] = set()  # off the device and out of memory: reloaded on their next job
        self.sizes: dict[str, int] = {}
        # Seconds the last time each engine came on the device (a load, a reload or a move back).
        self.load_s: dict[str, float] = {}
        self.swaps: Counter[str] = Counter()  # per engine: times it came back on after going off
        self.job_s: dict[str, float] = {}  # seconds of each engine's last job
        for name, engine in engines.items():
            self._admit(name, engine)

    @property
    def names(self) -> list[str]:
        return [*self.resident, *self.parked, *sorted(self.unloaded)]

    def __contains__(self, name: object) -> bool:
        return name in self.resident or name in self.parked or name in self.unloaded

    def record_job(self, name: str, seconds: float) -> None:
        self.job_s[name] = round(seconds, 3)

    def stats(self) -> dict[str, object]:
        """What the worker's heartbeat says of its engines (midway/positions.py WorkerHeartbeat)."""
        resident = list(self.resident) if self.budget_bytes is not None else None
        return {"resident": resident, "load_s": {k: round(v, 3) for k, v in self.load_s.items()},
                "job_s": dict(self.job_s)}

    def get(self, name: str) -> Engine:
        """The engine `name` on the device; EngineError for one this worker does not serve."""
        if name in self.resident:
            self.resident.move_to_end(name)
            return self.resident[name]
        if name not in self and not self.load_unknown:
            # A source image made on another engine must not load that engine here (gigabytes).
            raise EngineError(f"This worker does not run the engine {name!r}.")
        return self.add(name)

    def add(self, name: str) -> Engine:
        """Bring `name` onto the device (loading it, the first time), making room as needed."""
        started = time.perf_counter()
        swapped = name in self.parked or name in self.unloaded
        if name in self.parked:
            engine = self.parked.pop(name)
            self._make_room(self.sizes[name])
            move(engine, engine.device)  # type: ignore[attr-defined]
        else:
            if self.load is None:
                raise EngineError(f"This worker does not run the engine {name!r}.")
            self._make_room(self.sizes.get(name, 0))
            engine = self.load(name)
            self.unloaded.discard(name)
        self.load_s[name] = time.perf_counter() - started
        if swapped:
            self.swaps[name] += 1
            log.info("engine %s back on the device in %.2f s (swap %d)", name, self.load_s[name], self.swaps[name])
        self._admit(name, engine)
        return engine

    def _admit(self, name: str, engine: Engine) -> None:
        self.sizes[name] = weight_bytes(engine)
        self.resident[name] = engine
        # A first load's size is known only now: make room for it after the fact.
        self._make_room(0)

    def _make_room(self, needed: int) -> None:
        """Move the least recently used engines off until `needed` more bytes fit (the newest stays)."""
        if self.budget_bytes is None:
            return
        while len(self.resident) > 1 or (self.resident and needed):
            if sum(self.sizes[name] for name in self.resident) + needed <= self.budget_bytes:
                return
            name, engine = self.resident.popitem(last=False)
            self._move_off(name, engine)

    def _move_off(self, name: str, engine: Engine) -> None:
        if keeps_off_device_copy(engine):
            move(engine, "cpu")
            self.parked[name] = engine
        else:
            self.forget(name)
            self.unloaded.add(name)
        log.info("engine %s off the device (%.1f MB) to stay within the %.1f MB budget", name,
                 self.sizes[name] / 2**20, (self.budget_bytes or 0) / 2**20)
