"""Per-user, per-channel and per-guild settings, button claims and delivery marks, in Redis; and the
presses this process won and is still posting.

Every key comes from midway.keys. Settings are small pydantic models stored as JSON strings and
updated with WATCH/MULTI, so two admins editing at once never lose a banned word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import WatchError

from bot.batching import Coalescer
from bot.messages import REMIXED_SUFFIX
from bot.safety_policy import SafetyMode
from midway import keys
from midway.contract import Lane
from midway.redis_clients import reply_text

# Midjourney caps /prefer option lists at 20.
MAX_OPTIONS = 20
# Claims and delivery marks outlive any job's images (which expire with the blob TTL).
MARK_TTL_S = 30 * 24 * 3600
# A claim whose job was never stored is abandoned (a bot stopped between claim and submit) once it is
# this old and this process is not posting its job: the age covers another bot process still posting
# (a rolling restart), whose presses in flight this one cannot see.
ABANDONED_AFTER_S = 30
# What joins a button's custom_id to a claim name in the pressed set, for buttons that hold several
# claims (a modal's different requests): custom_ids never contain it (bot/custom_ids.py).
_MARK_SEP = "#"
# The mark of a button pressed through Remix (its modal): Midjourney shows it green rather than blue.
REMIXED = REMIXED_SUFFIX.removeprefix(_MARK_SEP)


class VariationMode(StrEnum):
    high = "high"
    low = "low"


class UserSettings(BaseModel):
    lane: Lane = Lane.fast
    # Midjourney's /settings presets: Stylize Low/Med/High/Very High = --s 50/100/250/750.
    stylize: int | None = None
    remix: bool = False
    # /settings Draft mode: every new /imagine drafts (`--draft`) where its engine can.
    draft: bool = False
    variation: VariationMode = VariationMode.high
    suffix: str = ""
    options: dict[str, str] = Field(default_factory=dict)


class ChannelSettings(BaseModel):
    engine: str | None = None
    # The catalogue LoRAs `--lora` may name here (`/engine lora add`); none until an admin allows one.
    loras: list[str] = Field(default_factory=list)
    max_jobs_per_user: int | None = None
    max_steps: int | None = None
    max_side: int | None = None


class GuildSettings(BaseModel):
    banned_words: list[str] = Field(default_factory=list)
    # /moderation safety: what a result with an image the safety filter flagged gets (bot/safety_policy.py),
    # and whether age-restricted channels post such results plainly.
    safety: SafetyMode = SafetyMode.spoiler
    safety_nsfw_exempt: bool = True


class UserStats(BaseModel):
    images: int = 0
    jobs: int = 0
    compute_s: float = 0.0


ModelT = TypeVar("ModelT", bound=BaseModel)


# Per press, in arrival order: KEYS[i] a button's claim and KEYS[i+1] its job's pressed set; three
# ARGV each, after ARGV[1] (the TTL): the new job's id, the pressed custom_id, and '' or the mark
# `custom_id#claim` of a button that holds several claims. Per press, two replies: won, false and the
# pressed set (this one included); lost, the holder's id and {}. Two presses of one button in one batch:
# the first wins, as it would have one call at a time.
_CLAIM_AND_PRESS = """
local out = {}
for i = 1, #KEYS, 2 do
  local at = (i - 1) / 2 * 3 + 1
  if redis.call('SET', KEYS[i], ARGV[at + 1], 'NX', 'EX', ARGV[1]) then
    redis.call('SADD', KEYS[i + 1], ARGV[at + 2])
    if ARGV[at + 3] ~= '' then redis.call('SADD', KEYS[i + 1], ARGV[at + 3]) end
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

# An abandoned claim handed to a new press, if it still holds what the caller saw and is old enough.
# KEYS: the claim, the pressed set. ARGV: the TTL, the abandoned holder, the new job's id, the custom_id,
# '' or its mark, ABANDONED_AFTER_S. Replies like one press of _CLAIM_AND_PRESS.
_TAKE_OVER = """
local holder = redis.call('GET', KEYS[1])
if holder and (holder ~= ARGV[2] or redis.call('TTL', KEYS[1]) > tonumber(ARGV[1]) - tonumber(ARGV[6])) then
  return {holder, {}}
end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[4])
if ARGV[5] ~= '' then redis.call('SADD', KEYS[2], ARGV[5]) end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {false, redis.call('SMEMBERS', KEYS[2])}
"""

# Undo a press whose job could not be posted: drop the claim if `holder` still has it and un-mark the
# button, unless (a button of several claims) another claim of it stands. KEYS: the claim, the pressed
# set. ARGV: the holder, the custom_id, '' or its mark. The pressed set after, or false if not held.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
local unmark = true
if ARGV[3] ~= '' then
  redis.call('SREM', KEYS[2], ARGV[3])
  local prefix = ARGV[2] .. '""" + _MARK_SEP + """'
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if string.sub(member, 1, #prefix) == prefix then unmark = false end
  end
end
if unmark then redis.call('SREM', KEYS[2], ARGV[2]) end
return redis.call('SMEMBERS', KEYS[2])
"""

# (job id, claim name, image index, new job id, custom_id, its mark or '') -> (holder or None, pressed buttons)
_Claim = tuple[str, str, int | None, str, str, str]
_ClaimReply = tuple[str | None, set[str]]


class BotStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._claim_script = redis.register_script(_CLAIM_AND_PRESS)
        self._take_over_script = redis.register_script(_TAKE_OVER)
        self._release_script = redis.register_script(_RELEASE)
        # A burst of presses claims its buttons in shared script calls (bot/batching.py).
        self._claims: Coalescer[_Claim, _ClaimReply] = Coalescer(self._claim_batch)
        # Claims this process won whose press is not over (its job may not be stored yet).
        self._pressing: set[str] = set()

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
                              custom_id: str, *, several: bool = False,
                              remixed: bool = False) -> tuple[str | None, set[str]]:
        """Claim a button for `new_job_id` and, if won, mark it pressed, in one round trip (a press
        answers only after this). (None, the job's pressed buttons) if we won; (the holder, empty) if not.
        `several`: the button holds one claim per request (a modal's), so `action` names the request.
        A claim abandoned by an earlier press (its job never stored) is taken over. The winner calls
        `press_over` when its job is stored or the press failed. `remixed`: pressed through Remix, marked
        so (`custom_id#remix` in the pressed set) for messages.result_buttons to show it green."""
        mark = _mark_of(custom_id, action, several, remixed)
        holder, pressed = await self._claims.call((job_id, action, index, new_job_id, custom_id, mark))
        if holder is not None and await self._abandoned(job_id, action, index, holder):
            holder, pressed = self._claim_reply(await self._take_over_script(
                keys=[keys.button_claim_key(job_id, action, index), keys.used_buttons_key(job_id)],
                args=[MARK_TTL_S, holder, new_job_id, custom_id, mark, ABANDONED_AFTER_S]))
            if holder is None:
                self._pressing.add(new_job_id)
        return holder, pressed

    async def _claim_batch(self, batch: list[_Claim]) -> list[_ClaimReply]:
        script_keys: list[str] = []
        args: list[str | int] = [MARK_TTL_S]
        for job_id, action, index, new_job_id, custom_id, mark in batch:
            script_keys += [keys.button_claim_key(job_id, action, index), keys.used_buttons_key(job_id)]
            args += [new_job_id, custom_id, mark]
        flat = await self._claim_script(keys=script_keys, args=args)
        replies = [self._claim_reply(flat[at:at + 2]) for at in range(0, len(flat), 2)]
        # Before any waiter resumes: a press of the same button that meets this claim must see it in flight.
        self._pressing.update(claim[3] for claim, (holder, _) in zip(batch, replies, strict=True) if holder is None)
        return replies

    @staticmethod
    def _claim_reply(pair: list) -> _ClaimReply:
        holder, pressed = pair
        if holder is not None:
            return reply_text(holder), set()
        return None, _pressed(pressed)

    async def _abandoned(self, job_id: str, action: str, index: int | None, holder: str) -> bool:
        """The holder's job was never stored, this process is not posting it, and the claim is old enough
        that no other process is (ABANDONED_AFTER_S)."""
        if holder in self._pressing:
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.exists(keys.job_key(holder))
            pipe.ttl(keys.button_claim_key(job_id, action, index))
            stored, ttl = await pipe.execute()
        return not stored and 0 <= ttl <= MARK_TTL_S - ABANDONED_AFTER_S

    def press_over(self, new_job_id: str) -> None:
        """The winning press is over: its job is stored, or its claim was released."""
        self._pressing.discard(new_job_id)

    async def release(self, job_id: str, action: str, index: int | None, new_job_id: str, custom_id: str, *,
                      several: bool = False) -> set[str] | None:
        """Undo a won press whose job could not be posted: the claim goes (if `new_job_id` still holds
        it) and the button is un-marked. The job's pressed buttons after, or None if the claim was not held."""
        # A Remix press's mark goes with it (a button of one claim has at most that mark).
        mark = _mark_of(custom_id, action, several, remixed=True)
        try:
            after = await self._release_script(
                keys=[keys.button_claim_key(job_id, action, index), keys.used_buttons_key(job_id)],
                args=[new_job_id, custom_id, mark])
        finally:  # even unreleased (Redis down), the claim is abandoned now; a later press takes it over
            self.press_over(new_job_id)
        return None if after is None else _pressed(after)

    async def claimed(self, job_id: str, action: str, index: int | None) -> str | None:
        """The job holding a button's claim, if any (an abandoned claim holds nothing)."""
        holder = await self.redis.get(keys.button_claim_key(job_id, action, index))
        if holder is None or await self._abandoned(job_id, action, index, reply_text(holder)):
            return None
        return reply_text(holder)

    async def used(self, job_id: str) -> set[str]:
        return _pressed(await self.redis.smembers(keys.used_buttons_key(job_id)))

    async def delivered(self, job_id: str) -> str | None:
        value = await self.redis.get(keys.delivered_key(job_id))
        return reply_text(value) if value is not None else None

    async def mark_delivered(self, job_id: str, message_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.delivered_key(job_id), message_id, ex=MARK_TTL_S)
            pipe.zrem(keys.UNDELIVERED, job_id)
            await pipe.execute()

    async def mark_delivery_failed(self, job_id: str, reason: str) -> None:
        """Discord refused the job's messages for good (403/404): keep why, and count the delivery as
        over (an empty mark, unless a result message was already recorded) so no restart retries it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.delivery_failed_key(job_id), reason, ex=MARK_TTL_S)
            pipe.set(keys.delivered_key(job_id), "", ex=MARK_TTL_S, nx=True)
            pipe.zrem(keys.UNDELIVERED, job_id)
            await pipe.execute()

    async def undelivered(self, finished_before: float, count: int) -> list[str]:
        """Finished jobs not delivered yet, oldest first (keys.UNDELIVERED)."""
        ids = await self.redis.zrangebyscore(keys.UNDELIVERED, "-inf", finished_before, start=0, num=count)
        return [reply_text(job_id) for job_id in ids if isinstance(job_id, bytes | str)]

    async def forget_undelivered(self, job_id: str) -> None:
        await self.redis.zrem(keys.UNDELIVERED, job_id)

    async def delivery_failed(self, job_id: str) -> str | None:
        value = await self.redis.get(keys.delivery_failed_key(job_id))
        return reply_text(value) if value is not None else None

    async def save_batch(self, batch_id: str, payload: str, ttl_s: int = 15 * 60) -> None:
        await self.redis.set(keys.batch_key(batch_id), payload, ex=ttl_s)

    async def peek_batch(self, batch_id: str) -> str | None:
        """A pending batch, left in place (its owner and the caps are checked before it is taken)."""
        value = await self.redis.get(keys.batch_key(batch_id))
        return reply_text(value) if value is not None else None

    async def pop_batch(self, batch_id: str) -> str | None:
        """Take a pending batch exactly once (GETDEL), so a double-click on Yes submits it once."""
        value = await self.redis.getdel(keys.batch_key(batch_id))
        return reply_text(value) if value is not None else None

    async def add_usage(self, user_id: str, images: int, compute_s: float) -> None:
        key = keys.user_stats_key(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "images", images)
            pipe.hincrby(key, "jobs", 1)
            pipe.hincrbyfloat(key, "compute_s", compute_s)
            await pipe.execute()

    async def usage(self, user_id: str) -> UserStats:
        stats = await self.redis.hgetall(keys.user_stats_key(user_id))
        raw = {reply_text(k): reply_text(v) for k, v in stats.items()}
        return UserStats.model_validate(raw) if raw else UserStats()


def _mark_of(custom_id: str, action: str, several: bool, remixed: bool) -> str:
    """The pressed set's second member for a press: its claim (a button of several claims), else the
    Remix mark, else none ('')."""
    if several:
        return f"{custom_id}{_MARK_SEP}{action}"
    return f"{custom_id}{_MARK_SEP}{REMIXED}" if remixed else ""


def _pressed(members: Iterable[bytes | str]) -> set[str]:
    """The pressed set as messages.result_buttons reads it: custom_ids, and `custom_id#remix` marks."""
    values = map(reply_text, members)
    return {value for value in values if _MARK_SEP not in value or value.endswith(_MARK_SEP + REMIXED)}
