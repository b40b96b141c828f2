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
"""

# KEYS: per request, the user's settings, channel settings, guild settings and job set, and the record
# of the job a button press acts on ('' for none). ARGV[1]: the job key prefix. Per request: the three
# settings (or false), running and queued counts, their cost in thousandths, then that job's record (or false).
_CONTEXTS = ACTIVE_SCRIPT + """
local out = {}
for i = 1, #KEYS, 5 do
  out[#out + 1] = redis.call('GET', KEYS[i]) or false
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or false
  out[#out + 1] = redis.call('GET', KEYS[i + 2]) or false
  local running, queued, units = 0, 0, 0
  for _, job in ipairs(active(KEYS[i + 3], ARGV[1])) do
    if job[1] == 'running' then running = running + 1 else queued = queued + 1 end
    units = units + job[3]
  end
  out[#out + 1] = running
  out[#out + 1] = queued
  out[#out + 1] = units
  out[#out + 1] = KEYS[i + 4] ~= '' and redis.call('GET', KEYS[i + 4]) or false
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
_FIELDS = 7  # per request in a _CONTEXTS reply

_Key = tuple[str, str | None, str | None, str | None]  # user, channel, guild, job
_Reply = tuple[bytes | None, bytes | None, bytes | None, UserLoad, bytes | None]


def _context_fetcher(client: weakref.ref[aioredis.Redis]) -> Callable[[list[_Key]], Awaitable[list[_Reply]]]:
    # A weak reference: the batcher is the value of a WeakKeyDictionary keyed by this very client, and a
    # strong one (here or in a registered Script) would keep every client that ever read a context alive.
    async def fetch(batch: list[_Key]) -> list[_Reply]:
        redis = client()
        if redis is None:
            raise RuntimeError("the Redis client of these context reads is gone")
        script = redis.register_script(_CONTEXTS)  # just the script's SHA1, computed locally
        script_keys = []
        for user_id, channel_id, guild_id, job_id in batch:
            script_keys += [keys.user_settings_key(user_id), keys.channel_settings_key(channel_id or ""),
                            keys.guild_settings_key(guild_id or ""), keys.user_jobs_key(user_id),
                            keys.job_key(job_id) if job_id else ""]
        flat = await script(keys=script_keys, args=[JOB_PREFIX])
        return [(flat[at] or None, flat[at + 1] or None, flat[at + 2] or None,
                 UserLoad(running=int(flat[at + 3]), queued=int(flat[at + 4]), units=int(flat[at + 5]) / 1000),
                 flat[at + 6] or None)
                for at in range(0, len(flat), _FIELDS)]

    return fetch


_batchers: weakref.WeakKeyDictionary[aioredis.Redis, Coalescer[_Key, _Reply]] = weakref.WeakKeyDictionary()


def _batcher(redis: aioredis.Redis) -> Coalescer[_Key, _Reply]:
    batcher = _batchers.get(redis)
    if batcher is None:
        batcher = _batchers[redis] = Coalescer(_context_fetcher(weakref.ref(redis)))
    return batcher


async def read_context(redis: aioredis.Redis, user_id: str, channel_id: str | None,
                       guild_id: str | None, job_id: str | None = None) -> RequestContext:
    """The request's settings and load, and given `job_id` (a button press) that job's record too."""
    raw_user, raw_channel, raw_guild, load, raw_job = await _batcher(redis).call(
        (user_id, channel_id, guild_id, job_id))
    guild = _model(raw_guild, GuildSettings) if guild_id else GuildSettings()
    return RequestContext(user=_model(raw_user, UserSettings), channel=_model(raw_channel, ChannelSettings),
                          guild=guild, load=load, job=parse_job_record(job_id, raw_job) if job_id else None)


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
