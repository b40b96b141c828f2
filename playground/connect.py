"""Point the unmodified discord.py client at a playground: the ONE place a bot learns it is local.

    from playground.connect import point_discord_at
    point_discord_at("http://127.0.0.1:8765")   # before the client logs in
    bot.run(token)

discord.py builds every REST URL (interaction callbacks and webhooks included) from
`discord.http.Route.BASE`, and a non-sharded client connects to
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` without asking `/gateway/bot`. Both are class
attributes, so this changes them for the whole process. `restore_discord()` puts Discord back.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = yarl.URL("wss://gateway.discord.gg/")


def point_discord_at(base_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to the playground at `base_url`."""
    base = base_url.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    gateway = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"{gateway}/gateway")


def restore_discord() -> None:
    discord.http.Route.BASE = DISCORD_API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = DISCORD_GATEWAY
