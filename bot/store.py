"""Per-user, per-channel and per-guild settings, button claims and delivery marks, in Redis.

Every key comes from midway.keys. Settings are small pydantic models stored as JSON strings and
updated with WATCH/MULTI, so two admins editing at once never lose a banned word.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import WatchError

from bot.batching import Coalescer
from midway import keys
from midway.contract import Lane

# Midjourney caps /prefer option lists at 20.
MAX_OPTIONS = 20
# Claims and delivery marks outlive any job's images (which expire with the blob TTL).
MARK_TTL_S = 30 * 24 * 3600


class VariationMode(StrEnum):
    high = "high"
    low = "low"


class UserSettings(BaseModel):
    lane: Lane = Lane.fast
    # Midjourney's /settings presets: Stylize Low/Med/High/Very High = --s 50/100/250/750.
    stylize: int | None = None
    remix: bool = False
    variation: VariationMode = VariationMode.high
    suffix: str = ""
    options: dict[str, str] = Field(default_factory=dict)


class ChannelSettings(BaseModel):
    engine: str | None = None
    max_jobs_per_user: int | None = None
    max_steps: int | None = None
    max_side: int | None = None


class GuildSettings(BaseModel):
    banned_words: list[str] = Field(default_factory=list)


class UserStats(BaseModel):
    images: int = 0
    jobs: int = 0
    compute_s: float = 0.0


ModelT = TypeVar("ModelT", bound=BaseModel)


# Per press, in arrival order: KEYS[i] a button's claim and KEYS[i+1] its job's pressed buttons, and
# ARGV[i+1] the new job's id and ARGV[i+2] the pressed custom_id; ARGV[1] is the TTL. Per press, two
# replies: won, false and the job's pressed buttons (this one included); lost, the holder's id and {}.
# Two presses of one button in one batch: the first wins, as it would have one call at a time.
_CLAIM_AND_PRESS = """
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('SET', KEYS[i], ARGV[i + 1], 'NX', 'EX', ARGV[1]) then
    redis.call('SADD', KEYS[i + 1], ARGV[i + 2])
    redis.call('EXPIRE', KEYS[i + 1], ARGV[1])
    out[#out + 1] = false
    out[#out + 1] = redis.call('SMEMBERS', KEYS[i + 1])
  else
    out[#out + 1] = redis.call('GET', KEYS[i])
    out[#out + 1] = {}
  end
end
return out
"""

# (job id, claim action, image index, new job id, custom_id) -> (holder or None, pressed buttons)
_Claim = tuple[str, str, int | None, str, str]
_ClaimReply = tuple[str | None, set[str]]


class BotStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._claim_script = redis.register_script(_CLAIM_AND_PRESS)
        # A burst of presses claims its buttons in shared script calls (bot/batching.py).
        self._claims: Coalescer[_Claim, _ClaimReply] = Coalescer(self._claim_batch)

    async def _load(self, key: str, model: type[ModelT]) -> ModelT:
        raw = await self.redis.get(key)
        return model.model_validate_json(raw) if raw else model()

    async def _update(self, key: str, model: type[ModelT], change: Callable[[ModelT], None]) -> ModelT:
        """Read-modify-write under WATCH: a concurrent writer makes us retry, never lose its change."""
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    value = model.model_validate_json(raw) if raw else model()
                    change(value)
                    pipe.multi()
                    pipe.set(key, value.model_dump_json())
                    await pipe.execute()
                    return value
                except WatchError:
                    continue

    async def user(self, user_id: str) -> UserSettings:
        return await self._load(keys.user_settings_key(user_id), UserSettings)

    async def update_user(self, user_id: str, change: Callable[[UserSettings], None]) -> UserSettings:
        return await self._update(keys.user_settings_key(user_id), UserSettings, change)

    async def channel(self, channel_id: str) -> ChannelSettings:
        return await self._load(keys.channel_settings_key(channel_id), ChannelSettings)

    async def update_channel(self, channel_id: str,
                             change: Callable[[ChannelSettings], None]) -> ChannelSettings:
        return await self._update(keys.channel_settings_key(channel_id), ChannelSettings, change)

    async def guild(self, guild_id: str | None) -> GuildSettings:
        if guild_id is None:
            return GuildSettings()
        return await self._load(keys.guild_settings_key(guild_id), GuildSettings)

    async def update_guild(self, guild_id: str, change: Callable[[GuildSettings], None]) -> GuildSettings:
        return await self._update(keys.guild_settings_key(guild_id), GuildSettings, change)

    async def claim_and_press(self, job_id: str, action: str, index: int | None, new_job_id: str,
                              custom_id: str) -> tuple[str | None, set[str]]:
        """Claim a button for `new_job_id` and, if won, mark it pressed, in one round trip (a press
        answers only after this). (None, the job's pressed buttons) if we won; (the holder, empty) if not."""
        return await self._claims.call((job_id, action, index, new_job_id, custom_id))

    async def _claim_batch(self, batch: list[_Claim]) -> list[_ClaimReply]:
        script_keys: list[str] = []
        args: list[str | int] = [MARK_TTL_S]
        for job_id, action, index, new_job_id, custom_id in batch:
            script_keys += [keys.button_claim_key(job_id, action, index), keys.used_buttons_key(job_id)]
            args += [new_job_id, custom_id]
        flat = await self._claim_script(keys=script_keys, args=args)
        return [(_text(flat[at]), set()) if flat[at] is not None else (None, {_text(value) for value in flat[at + 1]})
                for at in range(0, len(flat), 2)]

    async def claimed(self, job_id: str, action: str, index: int | None) -> str | None:
        """The job holding a button's claim, if any."""
        holder = await self.redis.get(keys.button_claim_key(job_id, action, index))
        return None if holder is None else _text(holder)

    async def used(self, job_id: str) -> set[str]:
        return {_text(v) for v in await self.redis.smembers(keys.used_buttons_key(job_id))}

    async def delivered(self, job_id: str) -> str | None:
        value = await self.redis.get(keys.delivered_key(job_id))
        return _text(value) if value is not None else None

    async def mark_delivered(self, job_id: str, message_id: str) -> None:
        await self.redis.set(keys.delivered_key(job_id), message_id, ex=MARK_TTL_S)

    async def mark_delivery_failed(self, job_id: str, reason: str) -> None:
        """Discord refused the job's messages for good (403/404): keep why, and count the delivery as
        over (an empty mark, unless a result message was already recorded) so no restart retries it."""
        await self.redis.set(keys.delivery_failed_key(job_id), reason, ex=MARK_TTL_S)
        await self.redis.set(keys.delivered_key(job_id), "", ex=MARK_TTL_S, nx=True)

    async def delivery_failed(self, job_id: str) -> str | None:
        value = await self.redis.get(keys.delivery_failed_key(job_id))
        return _text(value) if value is not None else None

    async def save_batch(self, batch_id: str, payload: str, ttl_s: int = 15 * 60) -> None:
        await self.redis.set(keys.batch_key(batch_id), payload, ex=ttl_s)

    async def pop_batch(self, batch_id: str) -> str | None:
        """Take a pending batch exactly once (GETDEL), so a double-click on Yes submits it once."""
        value = await self.redis.getdel(keys.batch_key(batch_id))
        return _text(value) if value is not None else None

    async def add_usage(self, user_id: str, images: int, compute_s: float) -> None:
        key = keys.user_stats_key(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "images", images)
            pipe.hincrby(key, "jobs", 1)
            pipe.hincrbyfloat(key, "compute_s", compute_s)
            await pipe.execute()

    async def usage(self, user_id: str) -> UserStats:
        raw = {_text(k): _text(v) for k, v in (await self.redis.hgetall(keys.user_stats_key(user_id))).items()}
        return UserStats.model_validate(raw) if raw else UserStats()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
