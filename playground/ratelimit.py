"""Rate-limit buckets with Discord's headers and 429 bodies (reference A5).

A bucket is keyed by a route template ("POST /channels/{channel_id}/messages") plus the route's major
parameter (channel, guild or webhook), like Discord's. Each bucket is a fixed window: `limit` requests
per `per_s` seconds. Discord does not document its per-route numbers, so every bucket is configurable
and the default is generous enough never to slow a normal bot.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from playground.state import Clock

MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "webhook_token")
# Interaction callbacks are not subject to the global limit (docs: rate-limits).
GLOBAL_EXEMPT_PREFIX = "POST /interactions/"


@dataclass(frozen=True)
class BucketRule:
    limit: int
    per_s: float


@dataclass
class _Window:
    remaining: int
    reset_at: float


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False

    def body(self) -> dict[str, object]:
        return {"message": "You are being rate limited.", "retry_after": round(self.retry_after, 3),
                "global": self.is_global}


class RateLimiter:
    """Per-route fixed windows, plus an optional global window for the whole bot."""

    def __init__(self, clock: Clock, default: BucketRule = BucketRule(1000, 1.0)) -> None:
        self.clock = clock
        self.default = default
        self.rules: dict[str, BucketRule] = {}
        self.global_rule: BucketRule | None = None
        self._windows: dict[str, _Window] = {}

    def set_bucket(self, route_key: str, limit: int, per_s: float) -> None:
        self.rules[route_key] = BucketRule(limit, per_s)
        self._windows = {k: w for k, w in self._windows.items() if not k.startswith(route_key + "|")}

    def set_global(self, limit: int | None, per_s: float = 1.0) -> None:
        self.global_rule = None if limit is None else BucketRule(limit, per_s)
        self._windows.pop("global", None)

    def check(self, route_key: str, params: dict[str, str]) -> Decision:
        """Count one request; say whether it may proceed and which headers it carries."""
        major = ":".join(params.get(name, "") for name in MAJOR_PARAMETERS)
        rule = self.rules.get(route_key, self.default)
        window = self._take(f"{route_key}|{major}", rule)
        headers = self._headers(route_key, rule, window)
        if self.global_rule is not None and not route_key.startswith(GLOBAL_EXEMPT_PREFIX):
            global_window = self._take("global", self.global_rule)
            if global_window.remaining < 0:
                retry = global_window.reset_at - self.clock.now()
                return self._limited(headers, retry, is_global=True)
        if window.remaining < 0:
            return self._limited(headers, window.reset_at - self.clock.now(), is_global=False)
        return Decision(True, headers)

    def _take(self, key: str, rule: BucketRule) -> _Window:
        now = self.clock.now()
        window = self._windows.get(key)
        if window is None or now >= window.reset_at:
            window = self._windows[key] = _Window(rule.limit, now + rule.per_s)
        # A refused request does not use up more of the window: it stays at -1.
        window.remaining = max(window.remaining - 1, -1)
        return window

    def _headers(self, route_key: str, rule: BucketRule, window: _Window) -> dict[str, str]:
        reset_after = max(window.reset_at - self.clock.now(), 0.0)
        return {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(window.remaining, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route_key.encode()).hexdigest()[:16],
        }

    def _limited(self, headers: dict[str, str], retry_after: float, *, is_global: bool) -> Decision:
        retry_after = max(retry_after, 0.001)
        headers = headers | {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": "global" if is_global else "user",
            # discord.py treats a 429 without Via as a Cloudflare ban and does not retry.
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return Decision(False, headers, retry_after, is_global)
