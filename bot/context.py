"""What a request's policy check needs, read in one Redis round trip.

Discord invalidates an interaction not acknowledged within 3 s, and under a burst of /imagine every
sequential Redis call before the reply adds up (bench/ack_load.py measures it). So the settings, the
banned words and the user's running and queued job counts come from one server-side script, and
requests that arrive together share one call of it (one command, one reply) instead of queueing for
the pool's connections: measured at 200 concurrent /imagine, the last context read came ~400 ms after
the first when each request made its own calls, and the script costs the event loop a third of a
pipeline of per-request commands.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel

from bot.batching import Coalescer
from bot.policy import UserLoad
from bot.store import ChannelSettings, GuildSettings, UserSettings
from midway import keys
from midway.contract import Job
from midway.records import listed_job, parse_job_record


@dataclass(frozen=True)
class RequestContext:
    user: UserSettings
    channel: ChannelSettings
    guild: GuildSettings
    load: UserLoad
    # The job a button press acts on, read in the same call (None: not asked for, expired or unreadable).
    job: Job | None = None
    # The job id the read held one full job's place for (bot/holds.py), if asked and it fitted.
    reserved: str | None = None


@dataclass(frozen=True)
class Reservation:
    """Hold one full job's place for `job_id` in the same call, if it fits under `limit` (bot/admission.py)."""

    job_id: str
    limit: float


_M = TypeVar("_M", bound=BaseModel)


def _model(raw: bytes | None, model: type[_M]) -> _M:
    return model.model_validate_json(raw) if raw else model()


# The one definition of a user's active jobs, for caps, /info and /cancel: the ids in the user's job
# set whose record says queued or running, oldest id first. Finished (or expired) jobs leave the set
# as they are met. Only the status is decoded, in Redis: the hot path never parses whole jobs.
ACTIVE_SCRIPT = """
local function active(set_key, job_prefix)
  local ids = redis.call('SMEMBERS', set_key)
  table.sort(ids)
  local found, gone = {}, {}
  for _, id in ipairs(ids) do
    local raw = redis.call('GET', job_prefix .. id)
    -- pcall: one unreadable record must not fail a whole burst's shared read.
    local ok, job = pcall(cjson.decode, raw or '')
    local status = ok and type(job) == 'table' and job['status']
    if status == 'queued' or status == 'running' then
      -- Its cost against the caps in thousandths (integers: a script's numbers reply truncated).
      local cost = tonumber(job['cost']) or 1
      found[#found + 1] = {status, raw, math.floor(cost * 1000 + 0.5)}
    else
      gone[#gone + 1] = id
    end
  end
  if #gone > 0 then redis.call('SREM', set_key, unpack(gone)) end
  return found
end

-- The user's live caps holds (bot/holds.py) other than `own`'s ids: how many, and their cost in
-- thousandths. Lapsed ones (their bot died mid-request) are dropped as they are met.
local function held(holds_key, now, own)
  local entries, lapsed, count, units = redis.call('HGETALL', holds_key), {}, 0, 0
  for h = 1, #entries, 2 do
    local expiry, cost = string.match(entries[h + 1], '^(%d+) (%d+)$')
    if expiry == nil or tonumber(expiry) <= now then
      lapsed[#lapsed + 1] = entries[h]
    elseif not own[entries[h]] then
      count, units = count + 1, units + tonumber(cost)
    end
  end
  if #lapsed > 0 then redis.call('HDEL', holds_key, unpack(lapsed)) end
  return count, units
end

local function now_ms()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
"""

# Long enough for the slowest request between its check and its last submit (a confirmed batch posting
# a message per job under Discord's rate limits, a /blend uploading five images), short enough that the
# holds of a bot killed mid-request free the user's places within a minute.
HOLD_TTL_S = 60

# KEYS: per request, the user's settings, channel settings, guild settings, job set and caps holds, and
# the record of the job a button press acts on ('' for none). ARGV[1]: the job key prefix, ARGV[2]: the
# hold TTL in ms; per request two more: a job id to reserve a full job's place for ('' for none) and the
# limit it must fit under (thousandths), reserved unless the user is in Draft mode. Per request: the three
# settings (or false), running and queued (holds included) counts, their cost in thousandths, that job's
# record (or false), 1 if reserved.
_CONTEXTS = ACTIVE_SCRIPT + """
local now, ttl = now_ms(), tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS, 6 do
  local at = 3 + (i - 1) / 6 * 2
  local user = redis.call('GET', KEYS[i]) or false
  out[#out + 1] = user
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or false
  out[#out + 1] = redis.call('GET', KEYS[i + 2]) or false
  local running, queued, units = 0, 0, 0
  for _, job in ipairs(active(KEYS[i + 3], ARGV[1])) do
    if job[1] == 'running' then running = running + 1 else queued = queued + 1 end
    units = units + job[3]
  end
  local holds, held_units = held(KEYS[i + 4], now, {})
  out[#out + 1] = running
  out[#out + 1] = queued + holds
  out[#out + 1] = units + held_units
  out[#out + 1] = KEYS[i + 5] ~= '' and redis.call('GET', KEYS[i + 5]) or false
  -- A user in Draft mode makes drafts, which count as less: their own hold call prices them.
  local ok, settings = pcall(cjson.decode, user or '')
  local drafting = ok and type(settings) == 'table' and settings['draft'] == true
  local reserve = ARGV[at]
  if reserve ~= '' and not drafting and units + held_units + 1000 <= tonumber(ARGV[at + 1]) then
    redis.call('HSET', KEYS[i + 4], reserve, (now + ttl) .. ' 1000')
    redis.call('PEXPIRE', KEYS[i + 4], ttl)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""

# KEYS[1]: the user's job set; ARGV[1]: the job key prefix. The active jobs' raw records.
_ACTIVE_RECORDS = ACTIVE_SCRIPT + """
local records = {}
for _, job in ipairs(active(KEYS[1], ARGV[1])) do records[#records + 1] = job[2] end
return records
"""

JOB_PREFIX = keys.job_key("")
_FIELDS = 8  # per request in a _CONTEXTS reply

_Key = tuple[str, str | None, str | None, str | None, Reservation | None]  # user, channel, guild, job, reserve
_Reply = tuple[bytes | None, bytes | None, bytes | None, UserLoad, bytes | None, bool]


def _context_fetcher(client: weakref.ref[aioredis.Redis]) -> Callable[[list[_Key]], Awaitable[list[_Reply]]]:
    # A weak reference: the batcher is the value of a WeakKeyDictionary keyed by this very client, and a
    # strong one (here or in a registered Script) would keep every client that ever read a context alive.
    async def fetch(batch: list[_Key]) -> list[_Reply]:
        redis = client()
        if redis is None:
            raise RuntimeError("the Redis client of these context reads is gone")
        script = redis.register_script(_CONTEXTS)  # just the script's SHA1, computed locally
        script_keys: list[str] = []
        args: list[str | int] = [JOB_PREFIX, HOLD_TTL_S * 1000]
        for user_id, channel_id, guild_id, job_id, reserve in batch:
            script_keys += [keys.user_settings_key(user_id), keys.channel_settings_key(channel_id or ""),
                            keys.guild_settings_key(guild_id or ""), keys.user_jobs_key(user_id),
                            keys.user_holds_key(user_id), keys.job_key(job_id) if job_id else ""]
            args += [reserve.job_id, round(reserve.limit * 1000)] if reserve else ["", 0]
        flat = await script(keys=script_keys, args=args)
        return [(flat[at] or None, flat[at + 1] or None, flat[at + 2] or None,
                 UserLoad(running=int(flat[at + 3]), queued=int(flat[at + 4]), units=int(flat[at + 5]) / 1000),
                 flat[at + 6] or None, bool(int(flat[at + 7])))
                for at in range(0, len(flat), _FIELDS)]

    return fetch


_batchers: weakref.WeakKeyDictionary[aioredis.Redis, Coalescer[_Key, _Reply]] = weakref.WeakKeyDictionary()


def _batcher(redis: aioredis.Redis) -> Coalescer[_Key, _Reply]:
    batcher = _batchers.get(redis)
    if batcher is None:
        batcher = _batchers[redis] = Coalescer(_context_fetcher(weakref.ref(redis)))
    return batcher


async def read_context(redis: aioredis.Redis, user_id: str, channel_id: str | None,
                       guild_id: str | None, job_id: str | None = None,
                       reserve: Reservation | None = None) -> RequestContext:
    """The request's settings and load (its unfinished jobs and other requests' holds), given `job_id`
    (a button press) that job's record too, and given `reserve` a full job's place held for it if that
    fits: a lone /imagine is then admitted without another round trip (bot/admission.py)."""
    raw_user, raw_channel, raw_guild, load, raw_job, reserved = await _batcher(redis).call(
        (user_id, channel_id, guild_id, job_id, reserve))
    guild = _model(raw_guild, GuildSettings) if guild_id else GuildSettings()
    return RequestContext(user=_model(raw_user, UserSettings), channel=_model(raw_channel, ChannelSettings),
                          guild=guild, load=load, job=parse_job_record(job_id, raw_job) if job_id else None,
                          reserved=reserve.job_id if reserve and reserved else None)


async def active_jobs(redis: aioredis.Redis, user_id: str) -> list[Job]:
    """The user's queued and running jobs, oldest id first (/info, /cancel). A record another version
    wrote that this one cannot fully read is listed as far as it can be (so it can still be cancelled),
    or skipped: one bad record must not break the user's /info and /cancel."""
    records = await redis.register_script(_ACTIVE_RECORDS)(keys=[keys.user_jobs_key(user_id)], args=[JOB_PREFIX])
    return [job for raw in records if (job := listed_job(raw)) is not None]


async def read_job(redis: aioredis.Redis, job_id: str) -> Job | None:
    """A job's record read on the event loop. A button press reads its job before answering, and in a
    thread (Backend.get) a burst of presses set dozens of threads parsing JSON against the loop that
    answers them: measured, 108 clicks at once answered in 1.3-1.7 s instead of 0.6-0.7 s."""
    return parse_job_record(job_id, await redis.get(keys.job_key(job_id)))
