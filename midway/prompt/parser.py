"""parse_prompt: Midjourney prompt text -> the GenerationSpecs it asks for (a pure function).

Order of work: length check, `{}` permutations (each expansion is parsed on its own, so groups may
hold parameters), then per expansion: sections, parameters, `::` weights, size, version, and last
`--repeat` copies. Every spec returned is complete and valid on its own.

Echo choice (`full_prompt`): image URLs (with any `::` weight as typed), the whitespace-normalised
text, then each parameter in the order typed under its canonical name (`--s 250` -> `--stylize 250`,
`--aspect` -> `--ar`) with its value as typed. `--repeat` is left out (it has been expanded), and so
is a seed Midway chose.
`prompt` is the text alone, without image URLs: it is what an engine encodes.
"""

from __future__ import annotations

from typing import Any

from midway.contract import GenerationSpec, LoraChoice, Operation
from midway.prompt import values
from midway.prompt.errors import PromptError, shown
from midway.prompt.multiprompt import split_weights
from midway.prompt.options import MAX_SEED, ParseOptions
from midway.prompt.params import apply_params
from midway.prompt.permutations import expand_permutations
from midway.prompt.style_refs import RANDOM_CODE, echo_code
from midway.prompt.tokens import Sections, split_sections
from midway.prompt.versions import resolve_engine
from midway.sizing import size_for_aspect


def parse_prompt(text: str, options: ParseOptions | None = None) -> list[GenerationSpec]:
    """The specs `text` asks for, in order; PromptError (a user-facing message) for anything wrong."""
    options = options or ParseOptions()
    if len(text) > options.max_length:
        raise PromptError(
            f"Your prompt is {len(text)} characters long; the limit is {options.max_length}.",
            f"{len(text)} characters",
        )
    specs: list[GenerationSpec] = []
    for expanded in expand_permutations(text, options.max_permutations):
        specs.extend(_parse_one(expanded, options))
    return specs


def _parse_one(text: str, options: ParseOptions) -> list[GenerationSpec]:
    sections = split_sections(text)
    applied = apply_params(sections.params)
    fields = dict(applied.fields)
    repeat = _repeat_count(fields.pop("repeat", None), options)
    _check_loras_once(fields.get("loras", []))
    prompt = " ".join(sections.words)
    if not prompt and not sections.image_urls:
        raise PromptError(
            "Your prompt has no text: write what to imagine before the parameters, or start with an image link.",
            "",
        )
    negative = fields.get("negative_prompt")
    fields["weights"] = split_weights(prompt, negative.split(", ") if negative else [])
    fields["engine"] = _engine(fields.get("version"), options)
    fields.update(_size(fields.get("aspect_ratio", "1:1"), fields["engine"], options))
    fields.setdefault("lane", options.default_lane)
    shared: dict[str, Any] = {
        "operation": Operation.imagine,
        "prompt": prompt,
        "full_prompt": " ".join(part for part in (*_image_echo(sections), prompt, *applied.echo) if part),
        "image_urls": sections.image_urls,
        "image_weights": values.image_weights(sections.image_urls, sections.image_weights),
        "n_images": 4,
        **fields,
    }
    first_seed = shared.pop("seed", None)
    if first_seed is None:
        first_seed = options.seed_source()
    if shared.get("style_code") == RANDOM_CODE:
        # `--sref random`: a code of its own (not the seed), echoed so that the style can be reused.
        shared["style_code"] = options.seed_source()
        shared["full_prompt"] = " ".join(part for part in (*_image_echo(sections), prompt,
                                                           *echo_code(applied.echo, shared["style_code"])) if part)
    # Copies of a `--repeat` differ by seed only. Image i of a grid draws from seed + i
    # (engines/params.py), so copies step by a whole grid: seed + 1 would share three of four images.
    step = shared["n_images"]
    return [GenerationSpec(**shared, seed=(first_seed + copy * step) % (MAX_SEED + 1)) for copy in range(repeat)]


def _image_echo(sections: Sections) -> list[str]:
    """The image URLs as echoed: each with its `::` weight as typed."""
    weights = sections.image_weights or [None] * len(sections.image_urls)
    return [url if weight is None else f"{url}::{weight}" for url, weight in zip(sections.image_urls, weights,
                                                                               strict=True)]


def _check_loras_once(loras: list[LoraChoice]) -> None:
    """One LoRA twice would only add its weights up: say so rather than guess which one was meant."""
    seen: set[str] = set()
    for choice in loras:
        if choice.name in seen:
            raise PromptError(f"LoRA {shown(choice.name)} is given twice; use each `--lora` once, with the weight "
                              "you want.", choice.name, "lora")
        seen.add(choice.name)


def _repeat_count(typed: str | None, options: ParseOptions) -> int:
    if typed is None:
        return 1
    # Midjourney's range starts at 2: one copy is no repeat.
    return values.whole("repeat", typed, 2, options.max_repeat)


def _size(aspect_ratio: str, engine: str | None, options: ParseOptions) -> dict[str, int]:
    width_ratio, height_ratio = (int(side) for side in aspect_ratio.split(":"))
    base = (options.base_width, options.base_height, options.size_multiple)
    if engine is not None and options.engine_sizes and engine in options.engine_sizes:
        base = options.engine_sizes[engine]
    width, height = size_for_aspect(width_ratio, height_ratio, *base)
    return {"width": width, "height": height}


def _engine(version: str | None, options: ParseOptions) -> str | None:
    if version is None:
        return options.default_engine
    return resolve_engine(version, options.aliases)
