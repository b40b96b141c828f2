"""Waiting for replicas before a write is acknowledged (Redis WAIT), so a failover cannot lose it.

Redis replicates asynchronously: a primary killed right after a write may take it with it, and the
replica promoted in its place never had it. A job the bot has shown as "(Waiting to start)" would then
be gone without a trace. JobStore therefore waits, after the MULTI that submits a job and after the
one that records its result, until `wanted` replicas confirm the replication stream up to there.

WAIT counts the replicas that have the replication offset of *its own connection's* last write (Redis
7 also moves that offset on other commands; older servers only on writes), and the MULTI ran on another
pooled connection. So WAIT follows a small write on its connection (keys.REPLICATION_MARK): the
replication stream is one ordered log, and a replica that has the mark has everything written before it.

A primary that has lost its replica (after a failover, until the old primary rejoins) would make every
WAIT last its whole timeout: the connected replicas are looked up (at most every REFRESH_S) and only
those are waited for, with a warning that writes are on the primary alone meanwhile.
"""

from __future__ import annotations

import json
import logging
import time

import redis

from midway import keys
from midway.redis_urls import is_sentinel_url
from midway.settings import Settings

log = logging.getLogger(__name__)

REFRESH_S = 5.0
MARK_TTL_MS = 60_000


def replicas_wanted(settings: Settings) -> int:
    if settings.redis_wait_replicas >= 0:
        return settings.redis_wait_replicas
    return 1 if settings.redis_url and is_sentinel_url(settings.redis_url) else 0


class ReplicaWait:
    """`confirm()` after a write: blocks until the replicas have it (or the timeout); returns how many do."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.wanted = replicas_wanted(settings)
        self.timeout_ms = settings.redis_wait_ms
        self._connected = 0
        self._checked_at = float("-inf")

    def confirm(self, what: str) -> int:
        wanted = min(self.wanted, self._connected_replicas()) if self.wanted else 0
        if wanted <= 0:
            return 0
        with self.client.pipeline(transaction=False) as pipe:
            pipe.set(keys.REPLICATION_MARK, json.dumps(time.time()), px=MARK_TTL_MS)
            pipe.execute_command("WAIT", wanted, self.timeout_ms)
            _, confirmed = pipe.execute()
        if int(confirmed) < wanted:
            log.warning("%s: %d of %d replicas confirmed it within %d ms; a failover now could lose it",
                        what, confirmed, wanted, self.timeout_ms)
        return int(confirmed)

    def _connected_replicas(self) -> int:
        now = time.monotonic()
        if now - self._checked_at >= REFRESH_S:
            self._checked_at = now
            connected = int(self.client.info("replication").get("connected_slaves", 0))
            if connected < self.wanted:
                log.warning("the Redis primary has %d replicas connected (wanted: %d): writes are on the "
                            "primary alone until a replica (re)joins", connected, self.wanted)
            self._connected = connected
        return self._connected
