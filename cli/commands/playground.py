"""`midway playground`: run the local Discord API emulator and its web page.

A bot reaches it through `playground.connect.point_discord_at(URL)` with the token printed here.
"""

from __future__ import annotations

import argparse
import asyncio

from midway.settings import get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings = get_settings()
    parser.add_argument("--host", default=settings.playground_host, help="address to listen on")
    parser.add_argument("--port", type=int, default=settings.playground_port, help="port (0 picks a free one)")
    parser.add_argument("--bot-token", default=None,
                        help="the bot token the emulator accepts (default: settings.playground_token)")
    parser.add_argument("--ack-deadline", type=float, default=3.0,
                        help="seconds a bot has to acknowledge an interaction (Discord: 3)")


async def serve(args: argparse.Namespace) -> None:
    from playground.driver import Playground

    async with Playground.start(host=args.host, port=args.port, bot_token=args.bot_token,
                                ack_deadline_s=args.ack_deadline) as pg:
        print(f"Midway playground: {pg.base_url}  (REST {pg.base_url}/api/v10, gateway "
              f"{pg.base_url.replace('http', 'ws', 1)}/gateway)", flush=True)
        await asyncio.Event().wait()


def run(args: argparse.Namespace) -> int:
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0
