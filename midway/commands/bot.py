"""`midway bot`: run the Discord bot.

With DISCORD_TOKEN it connects to Discord; without one it connects to the local playground at
MIDWAY_PLAYGROUND_HOST:MIDWAY_PLAYGROUND_PORT with MIDWAY_PLAYGROUND_TOKEN (see `midway playground`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from midway.settings import get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--playground", default=None, metavar="URL",
                        help="connect to this playground even when DISCORD_TOKEN is set")
    parser.add_argument("--consumer", default=None, help="event-stream consumer name (default bot-<host>)")


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("midway.bot")
    # The bot never joins voice; discord.py's start-up warnings about voice libraries are noise here.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage())
    if not settings.redis_url:
        print("midway bot: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2
    token = settings.discord_token.get_secret_value() if settings.discord_token else None
    playground = args.playground
    if token is None or playground:
        from playground.connect import point_discord_at

        playground = playground or f"http://{settings.playground_host}:{settings.playground_port}"
        point_discord_at(playground)
        token = settings.playground_token
        log.info("no DISCORD_TOKEN: connecting to the playground at %s", playground)
    else:
        log.info("connecting to Discord")

    from bot.app import MidwayBot
    from engines.base import CatalogueError

    if settings.bot_metrics_port:
        import redis

        from midway.metrics import serve_metrics

        serve_metrics(settings.bot_metrics_port, redis.Redis.from_url(settings.redis_url))
    try:
        client = MidwayBot(settings, settings.redis_url, consumer_name=args.consumer, freeze_gc=True)
    except CatalogueError as error:
        print(f"midway bot: {error}", file=sys.stderr)
        return 2
    # log_handler=None: logging is configured above; discord.py must not add a second handler.
    client.run(token, log_handler=None)
    return 0
