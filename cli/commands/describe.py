"""`midway describe PATH_OR_URL`: four prompts for an image, from the caption engine, in-process (no Redis).

    midway describe fox.png
    midway describe https://example.com/fox.jpg --seed 7 --engine blip

Prints the four prompts numbered `1.`-`4.`, one a line, each ending with the image's `--ar`. Exit 2 for
a file or link that is not a readable image (or is too large, or a link to a private address).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MAX_SEED = 4294967295


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="an image file, or an http(s) link to one")
    parser.add_argument("--engine", help="a caption engine of the catalogue (default: MIDWAY_CAPTION_ENGINE)")
    parser.add_argument("--seed", type=int, default=0, help=f"seed 0-{MAX_SEED}: other seeds give other prompts")


def run(args: argparse.Namespace) -> int:
    from midway.errors import EngineError
    from midway.fetch import FetchError

    try:
        if not 0 <= args.seed <= MAX_SEED:
            raise ValueError(f"--seed must be between 0 and {MAX_SEED}, got {args.seed}")
        image = read_image(args.image)
        prompts = describe(image, args.engine, args.seed)
    except (FetchError, EngineError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for number, prompt in enumerate(prompts, start=1):
        print(f"{number}. {prompt}")
    return 0


def read_image(source: str):
    """A file or a link, through the same checks as the worker's (midway/fetch.py)."""
    from midway.fetch import decode_image, fetch_bytes, policy_from_text
    from midway.settings import get_settings

    if source.startswith(("http://", "https://")) or "://" in source:
        return decode_image(fetch_bytes(source, policy_from_text(get_settings().fetch_allow_hosts)))
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"image not found: {source}")
    return decode_image(path.read_bytes())


def describe(image, engine_name: str | None, seed: int) -> list[str]:
    from cli.commands.generate import quiet_libraries
    from engines.registry import get_engine
    from midway.catalogue import load_catalogue
    from midway.contract import Operation
    from midway.errors import EngineError
    from midway.settings import get_settings

    catalogue = load_catalogue()
    name = engine_name or get_settings().caption_engine
    entry = catalogue.get(name)
    if Operation.describe not in entry.capabilities:
        raise EngineError(f"engine {name!r} does not describe images; pick a caption engine such as "
                          f"{', '.join(e.name for e in catalogue if Operation.describe in e.capabilities)}")
    quiet_libraries()
    return get_engine(name, catalogue).describe(image, seed)  # type: ignore[attr-defined]
