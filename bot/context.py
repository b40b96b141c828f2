"""What a request's policy check needs, read in one Redis round trip (two when the user has jobs).

Discord invalidates an interaction not acknowledged within 3 s, and under a burst of /imagine every
sequential Redis call before the reply adds up (bench/ack_load.py measures it), so the settings,
banned words and the user's job list are fetched together in one pipeline; and requests that arrive
together share one pipeline (one connection, one round trip) instead of queueing for the pool's
connections: measured at 200 concurrent /imagine, the last context read came ~400 ms after the first.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.policy import UserLoad
from bot.store import ChannelSettings, GuildSettings, UserSettings
from midway import keys
from midway.contract import Job, JobStatus


@dataclass(frozen=True)
class RequestContext:
    user: UserSettings
    channel: ChannelSettings
    guild: GuildSettings
    load: UserLoad


def _model(raw: bytes | None, model):
    return model.model_validate_json(raw) if raw else model()


# Reads per batched pipeline: bounded so one huge burst does not build one huge reply.
MAX_BATCH = 256
_Key = tuple[str, str | None, str | None]


class _ContextBatcher:
    """Coalesces concurrent context reads on one client into shared pipelines: while one pipeline is
    in flight, new requests queue and go together in the next (at most two round trips of waiting)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._pending: list[tuple[_Key, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def read(self, key: _Key) -> tuple[bytes | None, bytes | None, bytes | None, set]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((key, future))
        if self._flusher is None or self._flusher.done() or self._flusher.get_loop() is not loop:
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                replies = await self._fetch([key for key, _ in batch])
            except Exception as error:  # every waiter sees the failure, as its own read would have
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), reply in zip(batch, replies, strict=True):
                if not future.done():
                    future.set_result(reply)

    async def _fetch(self, batch: list[_Key]) -> list[tuple]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, channel_id, guild_id in batch:
                pipe.mget([keys.user_settings_key(user_id), keys.channel_settings_key(channel_id or ""),
                           keys.guild_settings_key(guild_id or "")])
                pipe.smembers(keys.user_jobs_key(user_id))
            results = await pipe.execute()
        return [(*results[2 * index], results[2 * index + 1]) for index in range(len(batch))]


_batchers: weakref.WeakKeyDictionary[aioredis.Redis, _ContextBatcher] = weakref.WeakKeyDictionary()


def _batcher(redis: aioredis.Redis) -> _ContextBatcher:
    batcher = _batchers.get(redis)
    if batcher is None:
        batcher = _batchers[redis] = _ContextBatcher(redis)
    return batcher


async def read_context(redis: aioredis.Redis, user_id: str, channel_id: str | None,
                       guild_id: str | None) -> RequestContext:
    raw_user, raw_channel, raw_guild, members = await _batcher(redis).read((user_id, channel_id, guild_id))
    guild = _model(raw_guild, GuildSettings) if guild_id else GuildSettings()
    return RequestContext(user=_model(raw_user, UserSettings), channel=_model(raw_channel, ChannelSettings),
                          guild=guild, load=await _load_of(redis, user_id, members))


async def user_load(redis: aioredis.Redis, user_id: str) -> UserLoad:
    return await _load_of(redis, user_id, await redis.smembers(keys.user_jobs_key(user_id)))


async def _active_records(redis: aioredis.Redis, user_id: str, members: set) -> list[tuple[JobStatus, bytes]]:
    """The user's queued and running job records (status, raw JSON) in one MGET; finished (or vanished)
    jobs leave the user's set as we meet them. The one definition of "active" for caps, /info, /cancel."""
    ids = sorted(member.decode() if isinstance(member, bytes) else member for member in members)
    if not ids:
        return []
    active, finished = [], []
    for job_id, raw in zip(ids, await redis.mget([keys.job_key(job_id) for job_id in ids]), strict=True):
        # Only the status is read here: the hot path (before the ack) never validates whole Job models.
        status = JobStatus(json.loads(raw)["status"]) if raw else None
        if status is None or status.finished:
            finished.append(job_id)
        else:
            active.append((status, raw))
    if finished:
        await redis.srem(keys.user_jobs_key(user_id), *finished)
    return active


async def _load_of(redis: aioredis.Redis, user_id: str, members: set) -> UserLoad:
    records = await _active_records(redis, user_id, members)
    running = sum(1 for status, _ in records if status is JobStatus.running)
    return UserLoad(running=running, queued=len(records) - running)


async def active_jobs(redis: aioredis.Redis, user_id: str) -> list[Job]:
    """The user's queued and running jobs, oldest id first (/info, /cancel)."""
    members = await redis.smembers(keys.user_jobs_key(user_id))
    return [Job.model_validate_json(raw) for _, raw in await _active_records(redis, user_id, members)]
