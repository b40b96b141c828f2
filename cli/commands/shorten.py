"""`midway shorten "a prompt --ar 3:2"`: which words carry a prompt, and five shorter prompts (no Redis).

    midway shorten "a very beautiful red fox in a misty forest --ar 3:2"

Prints each word with its score (its share of how far the engine's text embedding moves when each word
is left out; midway/prompt/shorten.py, engines/shorten.py), most important first, then the five shorter
prompts, most aggressive first, parameters kept as typed. Exit 2 for a bad prompt or engine.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", nargs="+", help="the prompt with its parameters; quote it")
    parser.add_argument("--engine", help="whose text encoder scores the words (default: MIDWAY_DEFAULT_ENGINE)")


def run(args: argparse.Namespace) -> int:
    from midway.errors import EngineError
    from midway.prompt import PromptError

    try:
        return _shorten(" ".join(args.prompt), args.engine)
    except (EngineError, PromptError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _shorten(text: str, engine_name: str | None) -> int:
    from cli.commands.generate import quiet_libraries
    from engines.registry import get_engine
    from engines.shorten import score_prompt
    from midway.catalogue import load_catalogue
    from midway.errors import EngineError
    from midway.prompt import ParseOptions, parse_prompt
    from midway.prompt.shorten import ranking, shares, shorten_input, shortened_prompts
    from midway.settings import get_settings

    catalogue = load_catalogue()
    name = engine_name or get_settings().default_engine
    entry = catalogue.get(name)
    if not entry.can_shorten:
        raise EngineError(f"engine {name!r} has no text encoder to score words with; pick an image engine")
    parse_prompt(text, ParseOptions(default_engine=name))  # a bad parameter is refused as /imagine would
    prompt = shorten_input(text)
    if not prompt.words:
        raise ValueError("the prompt has no words to shorten")
    quiet_libraries()
    scores = score_prompt(get_engine(name, catalogue), prompt.words)
    for index, share in zip(ranking(scores), sorted(shares(scores), reverse=True), strict=True):
        print(f"{share:.4f}  {prompt.words[index]}")
    print()
    for number, shorter in enumerate(shortened_prompts(prompt, scores), start=1):
        print(f"{number}. {shorter}")
    return 0
