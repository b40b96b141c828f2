"""The parameter table: every `--name` Midway understands, how many values it takes, what it sets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from midway.contract import Lane
from midway.prompt import values
from midway.prompt.errors import PromptError, shown
from midway.prompt.options import MAX_SEED
from midway.prompt.style_refs import character_refs, omni_ref, style_refs
from midway.prompt.tokens import RawParam
from midway.prompt.versions import niji_key, version_key


class Takes(Enum):
    FLAG = "flag"  # no value: `--tile`
    ONE = "one"  # exactly one word: `--ar 16:9`
    OPTIONAL = "optional"  # zero or one word: `--niji` or `--niji 6`
    WORDS = "words"  # the rest up to the next parameter: `--no red car, blue`


# (canonical name, value as typed) -> GenerationSpec fields. `repeat` is a pseudo-field the parser
# checks and turns into copies.
Converter = Callable[[str, str], dict[str, Any]]


@dataclass(frozen=True)
class Param:
    name: str
    aliases: tuple[str, ...]
    takes: Takes
    convert: Converter
    # Parameters that share a slot exclude each other (`--fast --relax`, `--v 6 --niji`).
    slot: str = ""
    # False for `--repeat`: its copies are separate jobs, so it is no part of each one's prompt.
    echoed: bool = True
    # `--lora` may be given several times: its converter returns one-item lists, which add up.
    repeatable: bool = False
    # The value as `midway parse --help` shows it; tests/midway/test_param_docs.py checks each `low–high`
    # range written here against what the converter accepts, so the two cannot drift apart.
    doc: str = ""


def _field(field: str, read: Callable[[str, str], Any]) -> Converter:
    return lambda name, value: {field: read(name, value)}


def _constant(**fields: Any) -> Converter:
    return lambda name, value: dict(fields)


def _ranged(field: str, low: int, high: int) -> Converter:
    return lambda name, value: {field: values.whole(name, value, low, high)}


PARAMS: tuple[Param, ...] = (
    Param("ar", ("aspect",), Takes.ONE, _field("aspect_ratio", values.aspect),
          doc="W:H in whole numbers, up to 8:1 either way; default 1:1"),
    Param("chaos", ("c",), Takes.ONE, _ranged("chaos", 0, 100), doc="0–100, default 0"),
    Param("no", (), Takes.WORDS, lambda n, v: {"negative_prompt": ", ".join(values.negative_items(n, v))},
          doc="what to leave out, separated by commas"),
    Param("quality", ("q",), Takes.ONE, _field("quality", values.quality),
          doc="0–4, rounded to 0.25, 0.5, 1 or 2; default 1"),
    Param("seed", (), Takes.ONE, _ranged("seed", 0, MAX_SEED), doc="0–4294967295"),
    Param("stop", (), Takes.ONE, _ranged("stop", 10, 100), doc="10–100, default 100"),
    Param("stylize", ("s",), Takes.ONE, _ranged("stylize", 0, 1000), doc="0–1000, default 100"),
    Param("tile", (), Takes.FLAG, _constant(tile=True), doc="no value: a seamless tile"),
    Param("draft", (), Takes.FLAG, _constant(draft=True),
          doc="no value: Draft mode, a few-step grid at part of the cost, with Enhance"),
    Param("iw", (), Takes.ONE, lambda n, v: {"image_weight": values.number(n, v, 0, 3)},
          doc="0–3, default 1: the image prompts against the text"),
    Param("weird", ("w",), Takes.ONE, _ranged("weird", 0, 3000), doc="0–3000, default 0"),
    Param("sref", (), Takes.WORDS, style_refs,
          doc="style references: up to 5 image links (each may end in ::weight), a style code (0–4294967295) "
              "or random"),
    Param("sw", (), Takes.ONE, _ranged("style_weight", 0, 1000),
          doc="0–1000, default 100: the style references' weight"),
    # Checked against the engine's character_adapter (or flux's redux) once it is known (bot/planning.py).
    Param("cref", (), Takes.WORDS, character_refs,
          doc="character references: up to 5 image links (each may end in ::weight)"),
    Param("cw", (), Takes.ONE, _ranged("character_weight", 0, 100),
          doc="0–100, default 100: the character weight (0 mostly the face, 100 the whole character)"),
    Param("oref", (), Takes.WORDS, omni_ref, doc="omni reference: one image link"),
    Param("ow", (), Takes.ONE, _ranged("omni_weight", 1, 1000), doc="1–1000, default 100: the omni reference's weight"),
    # Checked against the caller's cap by the parser, which also makes the copies.
    Param("repeat", ("r",), Takes.ONE, lambda n, v: {"repeat": v}, echoed=False,
          doc="2 up to the server's cap: copies of the job"),
    Param("style", (), Takes.ONE, _field("style", values.style), slot="style", doc="one word such as raw"),
    # Midjourney echoes `--style raw` as `--raw`, so people paste `--raw` back.
    Param("raw", (), Takes.FLAG, _constant(style="raw"), slot="style", doc="no value: the same as --style raw"),
    Param("v", ("version",), Takes.ONE, lambda n, v: {"version": version_key(v)}, slot="model",
          doc="a version the engine catalogue names"),
    Param("niji", (), Takes.OPTIONAL, lambda n, v: {"version": niji_key(v)}, slot="model",
          doc="no value or a version: a Niji version the engine catalogue names"),
    Param("fast", (), Takes.FLAG, _constant(lane=Lane.fast), slot="lane", doc="no value: this job in the fast lane"),
    Param("relax", (), Takes.FLAG, _constant(lane=Lane.relax), slot="lane", doc="no value: this job in the relax lane"),
    Param("turbo", (), Takes.FLAG, _constant(lane=Lane.turbo), slot="lane", doc="no value: this job in the turbo lane"),
    # Checked against the catalogue and the channel once the engine is known (midway/loras.resolve_loras).
    Param("lora", (), Takes.ONE, lambda n, v: {"loras": [values.lora(n, v)]}, repeatable=True,
          doc="name or name::weight (weight from -4 to 4); several allowed"),
)
_BY_NAME: dict[str, Param] = {alias: p for p in PARAMS for alias in (p.name, *p.aliases)}
# Every name a parameter answers to (a `/prefer option` may not take one).
PARAMETER_NAMES = frozenset(_BY_NAME)

# Real Midjourney parameters Midway has no equivalent for: named as such, not as typos.
UNSUPPORTED = frozenset(
    "sv p personalize video public stealth exp zoom h hd test testp "
    "creative uplight upbeta upanime sameseed hq newclip nostretch old beta vibe".split()
)


@dataclass(frozen=True)
class Applied:
    fields: dict[str, Any]
    # The parameters in canonical form, in the order typed, for the echoed prompt.
    echo: list[str]


def apply_params(raw_params: list[RawParam]) -> Applied:
    fields: dict[str, Any] = {}
    echo: list[str] = []
    seen: dict[str, RawParam] = {}
    for raw in raw_params:
        param = lookup(raw)
        slot = param.slot or param.name
        if slot in seen and not param.repeatable:
            raise _clash(seen[slot], raw, same=_BY_NAME[seen[slot].name] is param)
        seen[slot] = raw
        value = _value_of(param, raw)
        for key, converted in param.convert(param.name, value).items():
            fields[key] = fields.get(key, []) + converted if param.repeatable else converted
        if param.echoed:
            echo.append(f"--{param.name} {value}" if value else f"--{param.name}")
    return Applied(fields, echo)


def lookup(raw: RawParam) -> Param:
    param = _BY_NAME.get(raw.name)
    if param is not None:
        return param
    if raw.name in UNSUPPORTED:
        raise PromptError(f"{shown(raw.token)} is a Midjourney parameter Midway doesn't support.", raw.token)
    raise PromptError(f"Unknown parameter {shown(raw.token)}.", raw.token)


def _clash(first: RawParam, second: RawParam, same: bool) -> PromptError:
    if same:
        return PromptError(f"{shown(second.token)} is given twice; use each parameter once.", second.token)
    return PromptError(f"{shown(second.token)} can't be combined with {shown(first.token)}.", second.token)


def _value_of(param: Param, raw: RawParam) -> str:
    """The parameter's value as one string; PromptError for a missing value or words after it."""
    words = raw.values
    allowed = {Takes.FLAG: 0, Takes.OPTIONAL: 1, Takes.ONE: 1, Takes.WORDS: len(words)}[param.takes]
    if len(words) > allowed:
        extra = words[allowed]
        raise PromptError(
            f"Unexpected {shown(extra)} after {shown(raw.token)}: parameters go at the end of the prompt, "
            "after all the text.",
            extra,
        )
    if not words and param.takes in (Takes.ONE, Takes.WORDS):
        raise PromptError(f"{shown(raw.token)} needs a value.", raw.token)
    return " ".join(words)


def parameter_lines() -> list[str]:
    """One `--name (aliases): what its value may be` line per parameter, in the table's order."""
    return [f"--{param.name}{''.join(f' --{alias}' for alias in param.aliases)}: {param.doc}" for param in PARAMS]
