"""`midway up --bots K`: K bot processes that split the gateway shards between them.

The shard count is what Discord (or the playground) recommends for the bot's guilds, and at least K,
so every process holds one shard or more (midway/sharding.py deals them round-robin). One process
keeps today's unsharded bot: a single session holding every guild, nothing to split.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from midway.sharding import shard_count_for, split_shards

log = logging.getLogger(__name__)

DISCORD_API = "https://discord.com/api/v10"


def recommended_shards(api_base: str, token: str, *, timeout_s: float = 5.0) -> int:
    """GET /gateway/bot's `shards` (1 when it cannot be asked: the count then comes from K alone)."""
    request = urllib.request.Request(api_base.rstrip("/") + "/gateway/bot",
                                     headers={"Authorization": f"Bot {token}", "User-Agent": "Midway"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return max(1, int(json.loads(response.read())["shards"]))
    except (OSError, ValueError, KeyError, TypeError) as error:  # URLError/HTTPError are OSErrors
        log.warning("could not ask %s/gateway/bot for the recommended shard count: %s", api_base, error)
        return 1


def bot_arguments(processes: int, recommended: int) -> list[list[str]]:
    """`midway bot` arguments for each of `processes` bot processes."""
    if processes < 1:
        raise ValueError(f"--bots {processes}: at least one bot process is needed")
    if processes == 1:
        return [[]]
    count = shard_count_for(processes, recommended)
    return [["--shards", str(count), "--shard-ids", ",".join(map(str, ids))]
            for ids in split_shards(count, processes)]
