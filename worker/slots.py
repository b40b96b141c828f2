"""Per-user running slots: at most N of one user's jobs run at once; the rest wait, others' jobs pass.

Midjourney runs at most 3 of a user's jobs at a time and queues the rest ("will start as soon as
another one finishes"). RQ workers pop the head of a queue, so a user with many queued jobs could
fill every worker. Instead a worker takes the first job *whose user has a free slot*: one Lua
script scans the queue from the head, skips jobs of users at the cap (they keep their place, so
fairness and submission order hold) and, in the same atomic step, removes the chosen job and
reserves its user's slot. Two workers can therefore never both start a user's last free slot.

A user's slots are the set keys.user_running_key(user): job ids taken and not finished. JobStore.finish
frees a slot; the script also drops members whose record is finished or gone (a crashed worker's
job keeps its slot while RQ retries it: a job already holding a slot may always be taken again).
The script reads job records by key names it builds itself, which a single Redis allows (Redis
Cluster would need a hash tag per user; see DESIGN "Scale and failure").
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis
from rq import Queue
from rq.exceptions import DequeueTimeout

from midway import keys

# The head of a queue this far is scanned for a job whose user has a free slot; deeper jobs wait.
SCAN_LIMIT = 500
# While only capped jobs wait, look again this often (a finishing job frees a slot).
BLOCKED_POLL_S = 0.1

# ARGV: cap, job key prefix, slots key prefix, scan limit, slots ttl (then the popped id, see below).
# take(id): may this job run now? Reserves its user's slot when it may.
_TAKE = """
local cap, full = tonumber(ARGV[1]), {}
local function status_of(id)
  local raw = redis.call('GET', ARGV[2] .. id)
  if not raw then return nil, nil end
  local ok, job = pcall(cjson.decode, raw)
  if not ok or type(job.requester) ~= 'table' then return nil, nil end
  return job.status, job.requester.user_id
end
local function take(id)
  local status, user = status_of(id)
  -- No readable record, or already finished: run_job skips it, using no slot.
  if user == nil or status ~= 'queued' and status ~= 'running' then return true end
  local slots = ARGV[3] .. user
  if redis.call('SISMEMBER', slots, id) == 1 then return true end
  if full[user] then return false end
  local live = 0
  for _, other in ipairs(redis.call('SMEMBERS', slots)) do
    local other_status = status_of(other)
    if other_status == 'queued' or other_status == 'running' then
      live = live + 1
    else
      redis.call('SREM', slots, other)
    end
  end
  if live >= cap then
    full[user] = true
    return false
  end
  redis.call('SADD', slots, id)
  redis.call('EXPIRE', slots, tonumber(ARGV[5]))
  return true
end
"""

# KEYS[1] a queue. The first job from the head that may run is removed and its id returned;
# otherwise the number of jobs skipped because their users are at the cap (0: the queue is empty).
CLAIM_NEXT = _TAKE + """
local skipped = 0
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1)) do
  if take(id) then
    redis.call('LREM', KEYS[1], 1, id)
    return id
  end
  skipped = skipped + 1
end
return skipped
"""

# KEYS[1] the queue ARGV[6] was just popped from (BLPOP, when every queue was empty): 1 if it may
# run; else it goes back to the head, where it was, and 0.
CLAIM_POPPED = _TAKE + """
if take(ARGV[6]) then return 1 end
redis.call('LPUSH', KEYS[1], ARGV[6])
return 0
"""


class Slots:
    """The claim scripts bound to one Redis and one cap."""

    def __init__(self, client: redis.Redis, cap: int, ttl_s: int) -> None:
        self.cap = cap
        self.ttl_s = ttl_s
        self._next = client.register_script(CLAIM_NEXT)
        self._popped = client.register_script(CLAIM_POPPED)

    def _args(self, *extra: str) -> list:
        return [self.cap, keys.job_key(""), keys.user_running_key(""), SCAN_LIMIT, self.ttl_s, *extra]

    def claim_next(self, queue_key: str) -> str | int:
        """The id of the job taken from `queue_key` (its user's slot reserved), else how many jobs
        were skipped because their users are at the cap (0: the queue is empty)."""
        result = self._next(keys=[queue_key], args=self._args())
        return result.decode() if isinstance(result, bytes) else result

    def claim_popped(self, queue_key: str, job_id: str) -> bool:
        return bool(self._popped(keys=[queue_key], args=self._args(job_id)))


def capped_queue_class(slots: Slots) -> type[Queue]:
    """An RQ Queue class whose dequeue honours `slots` (RQ workers dequeue through their queue_class)."""

    class CappedQueue(Queue):
        @classmethod
        def dequeue_any(cls, queues: Iterable[Queue], timeout: int | None, connection: redis.Redis,
                        job_class=None, serializer=None, death_penalty_class=None):
            """RQ's dequeue_any, but each queue yields its first job whose user has a free slot.

            Queues are tried in order, so lanes stay ahead of one another. With nothing to take:
            None when not blocking (burst mode); else wait up to `timeout` for a push (BLPOP) or,
            while only capped jobs wait, for a slot to free up (a short poll).
            """
            queue_keys = [queue.key for queue in queues]
            deadline = time.monotonic() + (timeout or 0)

            def fetch(queue_key: str, job_id: str):
                return cls._fetch_dequeued_job(connection, queue_key, job_id, job_class=job_class,
                                               serializer=serializer, death_penalty_class=death_penalty_class)

            while True:
                skipped, vanished = 0, False
                for queue_key in queue_keys:
                    taken = slots.claim_next(queue_key)
                    if isinstance(taken, int):
                        skipped += taken
                    elif (found := fetch(queue_key, taken)) is not None:
                        return found
                    else:
                        vanished = True  # its RQ hash expired; look again at once
                left = deadline - time.monotonic()
                if vanished:
                    continue
                # Burst mode stops when nothing can start now, even if capped jobs still wait.
                if timeout is None:
                    return None
                if left <= 0:
                    raise DequeueTimeout(timeout, queue_keys)
                if skipped:
                    time.sleep(min(left, BLOCKED_POLL_S))
                    continue
                popped = connection.blpop(queue_keys, max(0.01, left))
                if popped is None:
                    raise DequeueTimeout(timeout, queue_keys)
                queue_key, job_id = (value.decode() if isinstance(value, bytes) else value for value in popped)
                if slots.claim_popped(queue_key, job_id) and (found := fetch(queue_key, job_id)) is not None:
                    return found

    return CappedQueue
