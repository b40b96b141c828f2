"""`midway bot`: run the Discord bot.

With DISCORD_TOKEN it connects to Discord; without one it connects to the local playground at
MIDWAY_PLAYGROUND_HOST:MIDWAY_PLAYGROUND_PORT with MIDWAY_PLAYGROUND_TOKEN (see `midway playground`).

Exit 2, with one line saying why, when Redis cannot be reached or no playground answers (without
DISCORD_TOKEN, or with --playground); both are checked before connecting.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import urllib.error
import urllib.request

from midway.settings import Settings, get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--playground", default=None, metavar="URL",
                        help="connect to this playground even when DISCORD_TOKEN is set")
    parser.add_argument("--consumer", default=None,
                        help="event-stream consumer name (default bot-<host>, plus the shards held)")
    parser.add_argument("--shards", type=int, default=None, metavar="N",
                        help="total gateway shard count (default MIDWAY_SHARD_COUNT; unset: unsharded)")
    parser.add_argument("--shard-ids", default=None, metavar="IDS",
                        help="the shards this process holds, e.g. 0,1 (default MIDWAY_SHARD_IDS; empty: all)")


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        settings = with_shards(settings, args.shards, args.shard_ids)
    except ValueError as error:
        print(f"midway bot: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("midway.bot")
    # The bot never joins voice; discord.py's start-up warnings about voice libraries are noise here.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage())
    if not settings.redis_url:
        print("midway bot: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2
    playground = playground_url(settings, args.playground)
    problem = startup_problem(settings, playground, missing_token=args.playground is None)
    if problem:
        print(f"midway bot: {problem}", file=sys.stderr)
        return 2
    if playground:
        from playground.connect import point_discord_at

        point_discord_at(playground)
        token = settings.playground_token
        log.info("no DISCORD_TOKEN: connecting to the playground at %s", playground)
    else:
        token = settings.discord_token.get_secret_value() if settings.discord_token else ""
        log.info("connecting to Discord")

    from bot.app import make_bot
    from midway.errors import CatalogueError

    if settings.bot_metrics_port:
        from midway.redis_clients import sync_redis
        from ops.metrics import serve_metrics

        serve_metrics(settings.bot_metrics_port, sync_redis(settings.redis_url))
    try:
        client = make_bot(settings, settings.redis_url, consumer_name=args.consumer, freeze_gc=True)
    except CatalogueError as error:
        print(f"midway bot: {error}", file=sys.stderr)
        return 2
    # log_handler=None: logging is configured above; discord.py must not add a second handler.
    client.run(token, log_handler=None)
    return 0


def with_shards(settings: Settings, count: int | None, ids: str | None) -> Settings:
    """Settings with --shards / --shard-ids over MIDWAY_SHARD_COUNT / MIDWAY_SHARD_IDS; ValueError naming a
    bad value (a shard id outside the count, ids without a count)."""
    if count is None and ids is None:
        return settings
    from midway.sharding import shard_set

    count = settings.shard_count if count is None else count
    ids = settings.shard_ids if ids is None else ids
    shard_set(count, ids)
    return settings.model_copy(update={"shard_count": count, "shard_ids": ids})


def playground_url(settings: Settings, chosen: str | None) -> str | None:
    """The playground to connect to: --playground, else the local one without DISCORD_TOKEN (None: Discord)."""
    if chosen:
        return chosen
    if settings.discord_token is None:
        return f"http://{settings.playground_host}:{settings.playground_port}"
    return None


def startup_problem(settings: Settings, playground: str | None, *, missing_token: bool) -> str | None:
    """Why the bot cannot start: Redis does not answer, or no playground does (None: all well)."""
    from midway.redis_clients import redis_problem

    problem = redis_problem(settings.redis_url or "")
    if problem is None and playground and not playground_answers(playground):
        problem = no_playground_message(playground, missing_token=missing_token)
    return problem


def playground_answers(base_url: str, *, wait_s: float = 3.0) -> bool:
    """Whether a playground answers at `base_url` within `wait_s` (one started alongside us may be
    a moment behind)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + "/_playground/state", timeout=1):
                return True
        except (OSError, ValueError):  # URLError and HTTPError are OSErrors; ValueError: a bad URL
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)


def no_playground_message(base_url: str, *, missing_token: bool) -> str:
    if not missing_token:
        return f"no playground answers at {base_url}; start one with `midway playground`"
    return (f"DISCORD_TOKEN is not set and no playground answers at {base_url}. Set DISCORD_TOKEN "
            "to connect to Discord, or start the local emulator first with `midway playground` "
            "(or run everything with `midway up`).")
