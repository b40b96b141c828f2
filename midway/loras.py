"""LoRAs: the catalogue's `[loras.<name>]` tables, and a prompt's `--lora` choices checked against them.

Torch-free like the rest of the catalogue: the bot checks `--lora` (a name the catalogue knows, an engine
family it fits, allowed in the channel) before a job exists, and `midway parse` shows what it resolved to.
The engine side (engines/lora.py) loads each adapter once and switches between them per job.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from midway.contract import MAX_LORA_WEIGHT, GenerationSpec, LoraChoice
from midway.errors import CatalogueError
from midway.prompt.errors import PromptError, shown

# The families whose diffusers pipelines load LoRAs (`load_lora_weights`); Kandinsky's unCLIP has no loader.
LORA_FAMILIES = ("sd", "sdxl", "flux")
# Names are typed after `--lora` and shown in slash-command choices: short, lower case, no spaces or `::`.
LORA_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_KEYS = ("model", "families", "weight", "trigger_words", "description", "weight_name")


@dataclass(frozen=True)
class LoraEntry:
    name: str
    # Hub id, local folder or a `.safetensors` file; `tiny-lora-<family>` builds a random-weight one offline.
    model: str
    # The engine families whose base models it was trained on (a LoRA fits one architecture only).
    families: tuple[str, ...]
    # The scale of a bare `--lora name`.
    weight: float = 1.0
    # Words the LoRA was trained to respond to, added to the prompt of every job that uses it.
    trigger_words: tuple[str, ...] = ()
    description: str = ""
    # A hub repo or folder holding several files: the one to load (diffusers' `weight_name`).
    weight_name: str = ""


def parse_loras(tables: object) -> dict[str, LoraEntry]:
    """The catalogue's `[loras]` section -> entries by name; CatalogueError naming the bad entry."""
    if not isinstance(tables, dict):
        raise CatalogueError(f"expected [loras.<name>] tables, got {tables!r}")
    return {name: parse_lora(name, table) for name, table in tables.items()}


def parse_lora(name: str, table: object) -> LoraEntry:
    def fail(message: str) -> CatalogueError:
        return CatalogueError(f"lora {name!r}: {message}")

    if not LORA_NAME.fullmatch(name):
        raise fail("a LoRA name is lower-case letters, digits, '.', '_' or '-' (it is typed after --lora)")
    if not isinstance(table, dict):
        raise fail(f"expected a table, got {table!r}")
    if unknown := sorted(set(table) - set(_KEYS)):
        raise fail(f"unknown keys {unknown}; known: {list(_KEYS)}")
    values: dict[str, Any] = {"name": name}
    for key in ("model", "description", "weight_name"):
        if not isinstance(table.get(key, ""), str):
            raise fail(f"{key} must be a string, got {table[key]!r}")
        values[key] = table.get(key, "")
    if not values["model"]:
        raise fail("model is required (a hub id, a folder or a .safetensors file)")
    families = table.get("families")
    if not isinstance(families, list) or not families or not set(families) <= set(LORA_FAMILIES):
        raise fail(f"families must list the engine families it fits, among {list(LORA_FAMILIES)}, got {families!r}")
    values["families"] = tuple(dict.fromkeys(families))
    weight = table.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or abs(weight) > MAX_LORA_WEIGHT:
        raise fail(f"weight must be a number from {-MAX_LORA_WEIGHT:g} to {MAX_LORA_WEIGHT:g}, got {weight!r}")
    values["weight"] = float(weight)
    words = table.get("trigger_words", [])
    if not isinstance(words, list) or not all(isinstance(word, str) and word.strip() for word in words):
        raise fail(f"trigger_words must be a list of words, got {words!r}")
    values["trigger_words"] = tuple(word.strip() for word in words)
    return LoraEntry(**values)


def choice_echo(choice: LoraChoice) -> str:
    """How a LoRA reads in a message or an echo: `name` at its default, else `name::weight`."""
    return choice.name if choice.weight is None else f"{choice.name}::{choice.weight:g}"


def resolve_loras(spec: GenerationSpec, family: str | None, catalogue: Mapping[str, LoraEntry],
                  allowed: Collection[str] | None = None) -> GenerationSpec:
    """The spec with its LoRAs checked (known, fitting `family` unless None, in `allowed` when a channel limits them),
    each weight set (the catalogue's default where none was typed) and their trigger words in the prompt.
    PromptError naming the LoRA for any refusal. Idempotent: a planned spec planned again is unchanged."""
    if not spec.loras:
        return spec
    resolved: list[LoraChoice] = []
    for choice in spec.loras:
        entry = _check(choice, family, catalogue, allowed)
        resolved.append(LoraChoice(name=entry.name, weight=entry.weight if choice.weight is None else choice.weight))
    # Trigger words of a LoRA at weight 0 would change the prompt of a job the LoRA does not touch.
    words = [word for choice in resolved if choice.weight for word in catalogue[choice.name].trigger_words]
    return spec.model_copy(update={"loras": resolved, **with_trigger_words(spec, words)})


def _check(choice: LoraChoice, family: str | None, catalogue: Mapping[str, LoraEntry],
           allowed: Collection[str] | None) -> LoraEntry:
    entry = catalogue.get(choice.name)
    if entry is None:
        known = ", ".join(f"`{name}`" for name in sorted(catalogue)) or "none"
        raise PromptError(f"Unknown LoRA {shown(choice.name)}; the catalogue's LoRAs: {known}.", choice.name, "lora")
    if family is not None and family not in entry.families:
        raise PromptError(f"LoRA {shown(entry.name)} is made for {'/'.join(entry.families)} engines, not for this "
                          f"{family} engine.", entry.name, "lora")
    if allowed is not None and entry.name not in allowed:
        here = ", ".join(f"`{name}`" for name in sorted(allowed)) or "none"
        raise PromptError(f"LoRA {shown(entry.name)} is not allowed in this channel (allowed here: {here}); an admin "
                          f"can allow it with `/engine lora add`.", entry.name, "lora")
    return entry


def with_trigger_words(spec: GenerationSpec, words: list[str]) -> dict[str, Any]:
    """The prompt fields with `words` appended, each once and only where it is missing (so a remix, planned
    from the echoed prompt that never shows them, adds them again exactly once)."""
    present = spec.prompt.lower()
    missing = [word for word in dict.fromkeys(words) if word.lower() not in present]
    if not missing:
        return {}
    update: dict[str, Any] = {"prompt": " ".join([spec.prompt, *missing]).strip()}
    # A `::` multi-prompt is encoded from its parts: the words join the first part that pulls towards it.
    positive = next((index for index, (_, weight) in enumerate(spec.weights) if weight > 0), None)
    if positive is not None:
        weights = list(spec.weights)
        text, weight = weights[positive]
        weights[positive] = (" ".join([text, *missing]), weight)
        update["weights"] = weights
    return update
