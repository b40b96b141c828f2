"""Bot-side metrics: Discord 429s and interaction acknowledgement latency.

discord.py handles 429s itself (it sleeps and retries) and exposes no event for them, only its log
records; counting those records is the one way to see back-pressure without patching the library.
"""

from __future__ import annotations

import logging

import discord

from ops.metrics import DISCORD_429, INTERACTION_ACK_SECONDS

# Message prefixes of discord.py's own 429 log records (http.py and webhook/async_.py), by scope.
_RATE_LIMIT_RECORDS = (
    ("We are being rate limited.", "route"),
    ("Global rate limit has been hit.", "global"),
    ("Webhook ID %s is rate limited.", "webhook"),
)


class RateLimitCounter(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        for prefix, scope in _RATE_LIMIT_RECORDS:
            if message.startswith(prefix):
                DISCORD_429.labels(scope).inc()
                return


def install_rate_limit_counter() -> None:
    for name in ("discord.http", "discord.webhook.async_"):
        logger = logging.getLogger(name)
        if not any(isinstance(handler, RateLimitCounter) for handler in logger.handlers):
            handler = RateLimitCounter(level=logging.WARNING)
            logger.addHandler(handler)


def observe_ack(interaction: discord.Interaction) -> None:
    """Seconds from Discord creating the interaction (its snowflake) to our acknowledgement."""
    command = interaction.command.qualified_name if interaction.command else "component"
    latency = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    INTERACTION_ACK_SECONDS.labels(command).observe(max(0.0, latency))
