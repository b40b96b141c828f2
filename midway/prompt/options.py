"""Knobs the parser takes from its caller (the bot's settings, the engine catalogue, tests)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from midway.contract import Lane

MAX_SEED = 4294967295


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


@dataclass(frozen=True)
class ParseOptions:
    # The engine's native size: `--ar` keeps this pixel area.
    base_width: int = 1024
    base_height: int = 1024
    # Latent diffusion models need sides divisible by the VAE factor times the UNet's downsampling.
    size_multiple: int = 64
    max_permutations: int = 10
    max_repeat: int = 4
    # Discord's limit for a string option, so nothing longer can arrive from /imagine anyway.
    max_length: int = 6000
    # Version key ("6", "6.1", "niji 6") -> engine name. None: accept Midjourney's own versions.
    aliases: Mapping[str, str] | None = None
    default_engine: str | None = None
    # Engine name -> (base_width, base_height, size_multiple): a spec whose engine is listed is sized
    # for that engine instead of the base above (`--v 4` on a 512 px model gets 512 px sizes).
    engine_sizes: Mapping[str, tuple[int, int, int]] | None = None
    seed_source: Callable[[], int] = field(default=random_seed)
    default_lane: Lane = Lane.fast
