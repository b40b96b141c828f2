"""What a request's policy check needs, read in one Redis round trip (two when the user has jobs).

Discord invalidates an interaction not acknowledged within 3 s, and under a burst of /imagine every
sequential Redis call before the reply adds up (bench/ack_load.py measures it), so the settings,
banned words and the user's job list are fetched together in one pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.policy import UserLoad
from bot.store import ChannelSettings, GuildSettings, UserSettings
from midway import keys
from midway.contract import JobStatus


@dataclass(frozen=True)
class RequestContext:
    user: UserSettings
    channel: ChannelSettings
    guild: GuildSettings
    load: UserLoad


def _model(raw: bytes | None, model):
    return model.model_validate_json(raw) if raw else model()


async def read_context(redis: aioredis.Redis, user_id: str, channel_id: str | None,
                       guild_id: str | None) -> RequestContext:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.user_settings_key(user_id))
        pipe.get(keys.channel_settings_key(channel_id or ""))
        pipe.get(keys.guild_settings_key(guild_id or ""))
        pipe.smembers(keys.user_jobs_key(user_id))
        raw_user, raw_channel, raw_guild, members = await pipe.execute()
    guild = _model(raw_guild, GuildSettings) if guild_id else GuildSettings()
    return RequestContext(user=_model(raw_user, UserSettings), channel=_model(raw_channel, ChannelSettings),
                          guild=guild, load=await _load_of(redis, user_id, members))


async def user_load(redis: aioredis.Redis, user_id: str) -> UserLoad:
    return await _load_of(redis, user_id, await redis.smembers(keys.user_jobs_key(user_id)))


async def _load_of(redis: aioredis.Redis, user_id: str, members: set) -> UserLoad:
    """Count the user's queued and running jobs; finished (or vanished) ones leave the set."""
    ids = sorted(member.decode() if isinstance(member, bytes) else member for member in members)
    if not ids:
        return UserLoad(running=0, queued=0)
    running = queued = 0
    finished = []
    for job_id, raw in zip(ids, await redis.mget([keys.job_key(job_id) for job_id in ids]), strict=True):
        # Only the status is needed: reading one field beats validating the whole Job model per job.
        status = JobStatus(json.loads(raw)["status"]) if raw else None
        if status is None or status.finished:
            finished.append(job_id)
        elif status is JobStatus.running:
            running += 1
        else:
            queued += 1
    if finished:
        await redis.srem(keys.user_jobs_key(user_id), *finished)
    return UserLoad(running=running, queued=queued)
