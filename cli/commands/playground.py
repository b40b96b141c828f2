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
    parser.add_argument("--guilds", type=int, default=1,
                        help="guilds (\"Midway\", then \"Midway 2\" with #general-2...), each on its own shard")
    parser.add_argument("--guilds-per-shard", type=int, default=None,
                        help="most guilds one gateway session may hold (Discord recommends 1000 a shard)")


async def serve(args: argparse.Namespace) -> None:
    from playground.driver import Playground
    from playground.state import add_sharded_guilds, default_world

    world = default_world()
    add_sharded_guilds(world, max(0, args.guilds - 1), shard_count=max(1, args.guilds))
    if args.guilds_per_shard:
        world.guilds_per_shard = args.guilds_per_shard
    async with Playground.start(host=args.host, port=args.port, bot_token=args.bot_token,
                                ack_deadline_s=args.ack_deadline, world=world) as pg:
        print(f"Midway playground: {pg.base_url}  (REST {pg.base_url}/api/v10, gateway "
              f"{pg.base_url.replace('http', 'ws', 1)}/gateway)", flush=True)
        await asyncio.Event().wait()


def run(args: argparse.Namespace) -> int:
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0
