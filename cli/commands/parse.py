"""`midway parse "<prompt>"`: print the GenerationSpecs a Midjourney-style prompt stands for, as JSON.

Exit 0 with a JSON array on stdout; exit 2 with the user-facing message on stderr for a bad prompt.
Versions (`--v`, `--niji`) resolve through the engine catalogue's aliases when it loads, and `--lora`s through
its `[loras]` (default weights filled in, trigger words added to the prompt). No torch.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Mapping

from midway.catalogue import Catalogue
from midway.contract import GenerationSpec
from midway.loras import resolve_loras
from midway.prompt import ParseOptions, PromptError, parse_prompt
from midway.prompt.params import parameter_lines

GRAMMAR = ("A prompt is [image links] text [--parameters]. Image links go first (direct http(s) links to .png, "
           ".gif, .jpg, .jpeg or .webp files, each may end in ::weight; --iw weighs them against the text); "
           "`::` weighs parts of the text; {a, b} makes one prompt per choice. Parameters and their values:")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The parameter table is the help's body: one line each, kept as written (the default formatter would
    # run them together), then the shared exit-status note, wrapped here instead.
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "\n".join([textwrap.fill(GRAMMAR, 100), "",
                                *(textwrap.fill(line, 100, subsequent_indent="      ") for line in parameter_lines()),
                                "", textwrap.fill(parser.epilog or "", 100)])
    parser.add_argument("text", nargs="+", help="the prompt; quote it (words are joined with spaces)")
    parser.add_argument(
        "--engine-base", type=_size, metavar="WxH", help="base size that --ar keeps the area of (default 1024x1024)"
    )
    parser.add_argument("--max-permutations", type=int, default=10, metavar="N")
    parser.add_argument("--max-repeat", type=int, default=4, metavar="N")
    parser.add_argument("--seed-default", type=int, metavar="N", help="seed for specs without --seed")


def run(args: argparse.Namespace) -> int:
    catalogue = _load()
    try:
        specs = [_with_loras(spec, catalogue) for spec in parse_prompt(" ".join(args.text), _options(args, catalogue))]
    except PromptError as error:
        print(error.message, file=sys.stderr)
        return 2
    print(json.dumps([spec.model_dump(mode="json") for spec in specs], indent=2, ensure_ascii=False))
    return 0


def _options(args: argparse.Namespace, catalogue: Catalogue | None) -> ParseOptions:
    aliases, engine_sizes = _catalogue(catalogue)
    base_width, base_height = args.engine_base or (1024, 1024)
    extra: dict = {}
    if args.seed_default is not None:
        seed = args.seed_default
        extra["seed_source"] = lambda: seed
    return ParseOptions(
        base_width=base_width,
        base_height=base_height,
        max_permutations=args.max_permutations,
        max_repeat=args.max_repeat,
        aliases=aliases,
        # An explicit --engine-base is what the caller wants to see, whatever engine a version picks.
        engine_sizes=None if args.engine_base else engine_sizes,
        **extra,
    )


def _load() -> Catalogue | None:
    from midway.catalogue import load_catalogue
    from midway.errors import EngineError

    try:
        return load_catalogue()
    except EngineError as error:
        print(f"warning: engine catalogue not used: {error}", file=sys.stderr)
        return None


def _with_loras(spec: GenerationSpec, catalogue: Catalogue | None) -> GenerationSpec:
    """`--lora`s checked against the catalogue: against the family of the engine a `--v` picked, if any
    (without a channel there is no allow list; /imagine adds that check)."""
    if catalogue is None or not spec.loras:
        return spec
    family = catalogue.get(spec.engine).family if spec.engine and spec.engine in catalogue else None
    return resolve_loras(spec, family, catalogue.loras)


def _catalogue(catalogue: Catalogue | None) -> tuple[Mapping[str, str] | None, dict[str, tuple[int, int, int]] | None]:
    """Version aliases and engine sizes from the engine catalogue; (None, None) when there is none."""
    from midway.catalogue import alias_table

    if catalogue is None:
        return None, None
    sizes = {entry.name: (entry.base_width, entry.base_height, entry.size_multiple) for entry in catalogue}
    return alias_table(catalogue), sizes


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,5})[xX](\d{1,5})", text)
    if match is None or 0 in (int(match[1]), int(match[2])):
        raise argparse.ArgumentTypeError(f"expected WxH like 1024x1024, got {text!r}")
    return int(match[1]), int(match[2])
