"""The per-user caps, checked and held in Redis in one script call, so they hold across bot processes.

Between a request's caps check and its jobs' submits there is a reply, a message per job and a submit
batch (bot/jobflow.py): tens of milliseconds to seconds in which the user's job list does not count
those jobs yet. A check made meanwhile, by this process or another one (two bots behind one Redis),
must count them; so the check counts the user's unfinished jobs and their live holds, compares them
with the limit and, on a pass, holds the new jobs, all in one server-side script: no other check can
run between the count and the hold. The submit that lists a job removes its hold in the same MULTI
(midway/jobs.py), so a job is never counted twice nor missed; a request given up removes its holds
(`release`). A hold lapses after HOLD_TTL_S: a bot killed mid-request cannot block its user for long.
/imagine's context read takes the same kind of hold for its one full job, in its own script call
(bot/context.py `Reservation`, bot/admission.py), so that it answers after a single round trip.

Costs travel in thousandths of a job, as integers (a script's numbers come back truncated).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.batching import Coalescer
from bot.context import ACTIVE_SCRIPT, HOLD_TTL_S, JOB_PREFIX
from bot.policy import UserLoad
from midway import keys

log = logging.getLogger(__name__)

# KEYS: per request, the user's job set and holds hash. ARGV[1]: the job key prefix, ARGV[2]: the hold
# TTL in ms; then per request: the limit (thousandths), '1' to hold on a pass ('0': check only), the
# number of jobs, and per job its id and cost (thousandths). Per request four replies: running and
# queued (holds included) counts, their cost, and 1 if the request fits (then held) or 0. Holds of the
# request's own jobs (a batch checked again) count once, as the request's.
_ADMIT = ACTIVE_SCRIPT + """
local now, ttl = now_ms(), tonumber(ARGV[2])
local out = {}
local at = 3
for i = 1, #KEYS, 2 do
  local limit, hold, n = tonumber(ARGV[at]), ARGV[at + 1] == '1', tonumber(ARGV[at + 2])
  local first = at + 3
  at = first + 2 * n
  local own, extra = {}, 0
  for j = first, at - 1, 2 do
    own[ARGV[j]] = true
    extra = extra + tonumber(ARGV[j + 1])
  end
  local running, queued, units = 0, 0, 0
  for _, job in ipairs(active(KEYS[i], ARGV[1])) do
    if job[1] == 'running' then running = running + 1 else queued = queued + 1 end
    units = units + job[3]
  end
  local holds, held_units = held(KEYS[i + 1], now, own)
  queued, units = queued + holds, units + held_units
  local fits = units + extra <= limit
  if fits and hold and n > 0 then
    for j = first, at - 1, 2 do
      redis.call('HSET', KEYS[i + 1], ARGV[j], (now + ttl) .. ' ' .. ARGV[j + 1])
    end
    redis.call('PEXPIRE', KEYS[i + 1], ttl)
  end
  out[#out + 1] = running
  out[#out + 1] = queued
  out[#out + 1] = units
  out[#out + 1] = fits and 1 or 0
end
return out
"""


def milli(cost: float) -> int:
    return round(cost * 1000)


@dataclass(frozen=True)
class HoldRequest:
    """Hold `jobs` ((job id, cost) pairs) for `user_id` if their cost fits under `limit` with the user's
    unfinished jobs and live holds; `hold=False` only checks."""

    user_id: str
    limit: float
    jobs: tuple[tuple[str, float], ...]
    hold: bool = True


@dataclass(frozen=True)
class HoldReply:
    """The load the check counted (holds of other requests as queued jobs), and whether the jobs fit."""

    load: UserLoad
    fits: bool


def _hold_fetcher(client: weakref.ref[aioredis.Redis]) -> Callable[[list[HoldRequest]],
                                                                     Awaitable[Sequence[HoldReply]]]:
    # A weak reference, for the reason bot/context.py gives.
    async def fetch(batch: list[HoldRequest]) -> list[HoldReply]:
        redis = client()
        if redis is None:
            raise RuntimeError("the Redis client of these holds is gone")
        script_keys: list[str] = []
        args: list[str | int] = [JOB_PREFIX, HOLD_TTL_S * 1000]
        for request in batch:
            script_keys += [keys.user_jobs_key(request.user_id), keys.user_holds_key(request.user_id)]
            args += [milli(request.limit), "1" if request.hold else "0", len(request.jobs)]
            for job_id, cost in request.jobs:
                args += [job_id, milli(cost)]
        flat = await redis.register_script(_ADMIT)(keys=script_keys, args=args)
        return [HoldReply(UserLoad(running=int(flat[at]), queued=int(flat[at + 1]), units=int(flat[at + 2]) / 1000),
                          fits=bool(int(flat[at + 3])))
                for at in range(0, len(flat), 4)]

    return fetch


_batchers: weakref.WeakKeyDictionary[aioredis.Redis, Coalescer[HoldRequest, HoldReply]] = weakref.WeakKeyDictionary()


async def hold(redis: aioredis.Redis, request: HoldRequest) -> HoldReply:
    """Check and (on a pass) hold, atomically; requests that arrive together share one script call."""
    batcher = _batchers.get(redis)
    if batcher is None:
        batcher = _batchers[redis] = Coalescer(_hold_fetcher(weakref.ref(redis)))
    return await batcher.call(request)


async def release(redis: aioredis.Redis, user_id: str, job_ids: Sequence[str]) -> None:
    """The request is over: its jobs not submitted (a failed post) no longer count. A submitted job's
    hold is already gone (its submit removed it). Redis unreachable, the holds lapse on their own: the
    request's own outcome (often that very outage, already told to the user) must not be masked."""
    if not job_ids:
        return
    try:
        await redis.hdel(keys.user_holds_key(user_id), *job_ids)
    except RedisError:
        log.warning("could not release the holds of %d jobs of user %s; they lapse within %d s",
                    len(job_ids), user_id, HOLD_TTL_S, exc_info=True)
