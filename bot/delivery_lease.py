"""One bot process at a time delivers a job's result: a short Redis lease per job, renewed while held.

With several bot processes (shards), the same result can reach two of them at once: both run the
missed-result sweep (bot/missed.py), and an entry a slow process still holds can be taken over by
another after MIDWAY_EVENT_CLAIM_IDLE_S. The store's delivered mark makes a result idempotent only
after it is written; the lease closes the window before that. A process killed holding it frees it
when the TTL runs out, so nothing waits on a dead process for longer than LEASE_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from midway import keys

LEASE_S = 10.0
RENEW_EVERY_S = LEASE_S / 3
POLL_S = 0.1

# Delete or extend the lease only while we still hold it (an expired one may be someone else's now).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
          "return 0")


class DeliveryLease:
    def __init__(self, redis: aioredis.Redis, holder: str) -> None:
        self.redis = redis
        self.holder = holder
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    async def take(self, job_id: str) -> bool:
        return bool(await self.redis.set(keys.delivering_key(job_id), self.holder, nx=True,
                                         px=int(LEASE_S * 1000)))

    @contextlib.asynccontextmanager
    async def held(self, job_id: str, *, wait_s: float = LEASE_S + 1) -> AsyncIterator[bool]:
        """Hold the job's lease for the block, waiting up to `wait_s` for another process to finish with
        it; yields False when it could not be had (the caller leaves the result to that process)."""
        deadline = time.monotonic() + wait_s
        while not (got := await self.take(job_id)) and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
        if not got:
            yield False
            return
        renewer = asyncio.create_task(self._renew_forever(job_id))
        try:
            yield True
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            with contextlib.suppress(aioredis.RedisError):
                await self._release(keys=[keys.delivering_key(job_id)], args=[self.holder])

    async def _renew_forever(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            with contextlib.suppress(aioredis.RedisError):
                await self._renew(keys=[keys.delivering_key(job_id)], args=[self.holder, int(LEASE_S * 1000)])
