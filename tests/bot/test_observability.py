"""The bot counts Discord 429s from discord.py's own rate-limit log records."""

from __future__ import annotations

import logging

from prometheus_client import generate_latest

from bot.observability import install_rate_limit_counter
from ops.metrics import REGISTRY


def _count(scope: str) -> float:
    for line in generate_latest(REGISTRY).decode().splitlines():
        if line.startswith(f'midway_discord_rate_limited_total{{scope="{scope}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_429_log_records_of_discord_py_are_counted_by_scope():
    install_rate_limit_counter()
    install_rate_limit_counter()  # idempotent: a restarted bot must not count twice
    before_route, before_global = _count("route"), _count("global")
    http_log = logging.getLogger("discord.http")
    # The exact format strings of discord/http.py.
    http_log.warning("We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds.",
                     "PATCH", "/channels/1/messages/2", 0.5)
    http_log.warning("Global rate limit has been hit. Retrying in %.2f seconds.", 1.0)
    http_log.warning("Something else entirely")
    assert _count("route") == before_route + 1
    assert _count("global") == before_global + 1
