"""The LoRAs of one resident pipeline: each loaded once under its own adapter name, switched per job.

diffusers keeps every adapter loaded with `load_lora_weights(..., adapter_name=...)` beside the base weights
(peft layers); `set_adapters(names, weights)` picks which ones count, and how much, for the next call, and
`disable_lora` runs the base model alone. So a job with other LoRAs than the last one costs no reload of the
base model nor of any adapter seen before, and a job without LoRAs runs exactly the base model (peft's
layers skip their adapters when disabled, not merely scale them).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from midway.contract import LoraChoice
from midway.errors import EngineError
from midway.loras import LoraEntry

# Where an entry's weights load from: (folder, hub id or file, extra load_lora_weights kwargs).
LoraSource = Callable[[LoraEntry], tuple[str, dict[str, Any]]]


def lora_source(entry: LoraEntry) -> tuple[str, dict[str, Any]]:
    """The catalogue's `model` as diffusers takes it: a single file is its folder plus `weight_name`."""
    if entry.model.endswith(".safetensors") and os.path.isfile(entry.model):
        return os.path.dirname(os.path.abspath(entry.model)), {"weight_name": os.path.basename(entry.model)}
    return entry.model, {"weight_name": entry.weight_name} if entry.weight_name else {}


class LoraAdapters:
    def __init__(self, pipe: Any, family: str, entries: Mapping[str, LoraEntry],
                 source: LoraSource = lora_source) -> None:
        self.pipe = pipe
        self.family = family
        self.entries = entries
        self.source = source
        # Adapter name -> times its weights were read (tests prove a second job did not reload them).
        self.loads: Counter[str] = Counter()
        # The (name, weight) pairs the next pipeline call applies; () runs the base model alone.
        self.active: tuple[tuple[str, float], ...] = ()

    def activate(self, choices: list[LoraChoice]) -> None:
        """Apply exactly `choices` (loading any not seen yet) or, for none, the base model alone."""
        wanted = tuple((choice.name, self._weight(choice)) for choice in choices)
        if wanted == self.active:
            return
        if not wanted:
            self.pipe.disable_lora()
            self.active = ()
            return
        for name, _ in wanted:
            self._load(name)
        self.pipe.enable_lora()
        self.pipe.set_adapters([name for name, _ in wanted], adapter_weights=[weight for _, weight in wanted])
        self.active = wanted

    def _weight(self, choice: LoraChoice) -> float:
        return self._entry(choice.name).weight if choice.weight is None else choice.weight

    def _entry(self, name: str) -> LoraEntry:
        entry = self.entries.get(name)
        if entry is None:
            raise EngineError(f"LoRA {name!r} is not in the catalogue (known: {', '.join(sorted(self.entries))})")
        if self.family not in entry.families:
            raise EngineError(f"LoRA {name!r} fits {list(entry.families)} engines, not a {self.family} engine")
        return entry

    def _load(self, name: str) -> None:
        if self.loads[name]:
            return
        source, kwargs = self.source(self._entry(name))
        try:
            with warnings.catch_warnings():
                # peft warns on every adapter after the first ("Already found a `peft_config` attribute"):
                # several named adapters side by side is exactly what this class wants.
                warnings.filterwarnings("ignore", message="Already found a `peft_config`", category=UserWarning)
                self.pipe.load_lora_weights(source, adapter_name=name, **kwargs)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            # A missing file, a hub id offline, or a LoRA trained on another architecture (shape mismatch).
            raise EngineError(f"LoRA {name!r} could not be loaded from {source!r}: {exc}") from exc
        self.loads[name] += 1
